//! A user's `token_pattern`: scikit-learn's `CountVectorizer(token_pattern=…)` through the
//! `regex` crate.
//!
//! Takes the pattern's text, checks it once ([`TokenPattern::new`]) and hands each token of a
//! (lowercased) document to a callback, borrowed from the document. The default pattern never
//! comes here: `(?u)\b\w\w+\b` is the hand-written scanner of `tokenize`, exact to Python's
//! `\w`. As in scikit-learn, a pattern with one capturing group yields the group's text, and
//! more than one group is refused. Unlike Python's `re`, `regex` takes `\w` and `\b` from
//! Unicode's word characters, which include combining marks (`cafe\u{301}` is one word, not
//! `cafe`) and leave out numeric signs such as `½` and `²`: on such text a user pattern that
//! uses them can differ from scikit-learn's tokens; classes written out (`[a-z0-9]`) do not.

use regex::{CaptureLocations, Regex};
use regex_syntax::hir::{Hir, HirKind};

/// scikit-learn's default `token_pattern`: the built-in scanner, not a regular expression.
pub const DEFAULT_TOKEN_PATTERN: &str = r"(?u)\b\w\w+\b";

/// A checked token pattern: valid, at most one capturing group, no empty token possible.
#[derive(Clone, Debug)]
pub struct TokenPattern {
    regex: Regex,
    /// Whether the token is capturing group 1 rather than the whole match.
    group: bool,
}

impl PartialEq for TokenPattern {
    fn eq(&self, other: &TokenPattern) -> bool {
        self.as_str() == other.as_str()
    }
}

impl TokenPattern {
    /// The pattern of `source`, or why it cannot be one (a message for the config error).
    pub fn new(source: &str) -> Result<TokenPattern, String> {
        let regex = Regex::new(source).map_err(|err| match err {
            regex::Error::Syntax(text) => format!(
                "not a valid regular expression ({}): {source:?}",
                // The last line of the parser's message says what is wrong; the lines
                // before it repeat the pattern with a caret under the place.
                text.lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ")
            ),
            other => format!("cannot be used as a regular expression ({other}): {source:?}"),
        })?;
        let groups = regex.captures_len() - 1;
        if groups > 1 {
            return Err(format!(
                "has {groups} capturing groups; as in scikit-learn, only one group may be \
                 captured (it is the token): make the others non-capturing, (?:…)"
            ));
        }
        // `Regex::new` accepted it, so the same syntax parses here.
        let hir = regex_syntax::parse(source)
            .map_err(|err| format!("not a valid regular expression ({err}): {source:?}"))?;
        let token_can_be_empty = if groups == 1 {
            hir.properties().static_explicit_captures_len() != Some(1)
                || first_group(&hir).is_none_or(|sub| sub.properties().minimum_len() == Some(0))
        } else {
            hir.properties().minimum_len() == Some(0)
        };
        if token_can_be_empty {
            return Err(format!(
                "can give an empty token ({}): every token must be at least one character, \
                 e.g. \\w+ rather than \\w*",
                if groups == 1 {
                    "its group can match nothing or take no part in a match"
                } else {
                    "it can match the empty string"
                }
            ));
        }
        Ok(TokenPattern {
            regex,
            group: groups == 1,
        })
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Room for the group's position, for [`TokenPattern::tokens`]; reused across documents.
    pub(crate) fn locations(&self) -> CaptureLocations {
        self.regex.capture_locations()
    }

    /// Call `emit` on each token of `text`, in order: the non-overlapping matches, leftmost
    /// first (Python's `re.findall`), or their group. No match is empty (checked in `new`),
    /// so each search starts where the last match ended, as `findall`'s does.
    pub(crate) fn tokens<'t>(
        &self,
        text: &'t str,
        locations: &mut CaptureLocations,
        mut emit: impl FnMut(&'t str),
    ) {
        if !self.group {
            for token in self.regex.find_iter(text) {
                emit(token.as_str());
            }
            return;
        }
        let mut at = 0;
        while at < text.len() {
            let Some(found) = self.regex.captures_read_at(locations, text, at) else {
                break;
            };
            if let Some((start, end)) = locations.get(1) {
                emit(&text[start..end]);
            }
            at = found.end();
        }
    }
}

/// The expression inside capturing group 1.
fn first_group(hir: &Hir) -> Option<&Hir> {
    match hir.kind() {
        HirKind::Capture(capture) if capture.index == 1 => Some(&capture.sub),
        HirKind::Capture(capture) => first_group(&capture.sub),
        HirKind::Repetition(repetition) => first_group(&repetition.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => parts.iter().find_map(first_group),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, text: &str, expected: &[&str]) {
        let pattern = TokenPattern::new(pattern).unwrap();
        let mut locations = pattern.locations();
        let mut got = Vec::new();
        pattern.tokens(text, &mut locations, |t| got.push(t));
        assert_eq!(got, expected, "{} on {text:?}", pattern.as_str());
    }

    fn check_refused(pattern: &str, fragment: &str) {
        match TokenPattern::new(pattern) {
            Ok(_) => panic!("{pattern:?} was accepted"),
            Err(message) => assert!(message.contains(fragment), "{pattern:?}: {message}"),
        }
    }

    #[test]
    fn tokens_are_the_matches_or_their_one_group() {
        // By hand, as Python's re.findall gives them.
        check(r"\b\w+\b", "a bb, c-d", &["a", "bb", "c", "d"]);
        check(r"[#@]?(\w\w+)", "#tag @who x yy", &["tag", "who", "yy"]);
        check(r"(?:ab)+", "ababa ab", &["abab", "ab"]);
        check(r"(\d+)%", "5% of 30%, 7", &["5", "30"]);
        check(r"[a-z]{3,}", "", &[]);
        // Named groups count as groups.
        check(r"(?P<word>[a-z]+)!", "hey! you!", &["hey", "you"]);
    }

    #[test]
    fn what_scikit_learn_refuses_or_would_count_empty_is_refused() {
        check_refused(r"(\w)(\w+)", "only one group");
        check_refused(r"(a", "unclosed group");
        check_refused(r"(?<=a)b", "look-around");
        check_refused(r"\w*", "empty string");
        check_refused(r"x(\w*)", "group can match nothing");
        check_refused(r"(a)|b", "take no part");
        assert!(TokenPattern::new(r"(a)|(?:b)").is_err());
        assert!(TokenPattern::new(r"(a+)|c(b+)").is_err());
    }
}
