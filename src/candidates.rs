//! Candidate paragraphs: which paragraphs of a large corpus are worth a labeller's time.
//!
//! Takes a [`Query`] (regular expressions, every one of which must hit) and split
//! [`Article`]s, and hands on each article cut down to its paragraphs that the query hits,
//! with their positions and ids unchanged, or nothing when none does. A pattern hits a
//! paragraph when it matches the paragraph's text or its article's title: a paragraph that
//! says "Beijing" in an article titled "North Korea fires a missile" hits both of
//! `North Korea|Pyongyang` and `China|Beijing`. Headings and bylines are never candidates.
//!
//! Matching is [`regex`]'s: case-sensitive unless a pattern says `(?i)`, Unicode-aware, in
//! time linear in the text. This module does no I/O.

use regex::Regex;

use crate::corpus::Article;

/// A pattern that is not a regular expression.
#[derive(Debug, thiserror::Error)]
#[error("--match `{pattern}` is not a valid regular expression")]
pub struct QueryError {
    pattern: String,
    #[source]
    source: regex::Error,
}

/// Regular expressions that must all hit a paragraph (or its article's title) for it to be a
/// candidate. An empty query keeps every paragraph.
#[derive(Debug, Clone, Default)]
pub struct Query {
    patterns: Vec<Regex>,
}

impl Query {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Query, QueryError> {
        let patterns = patterns
            .iter()
            .map(|pattern| {
                Regex::new(pattern.as_ref()).map_err(|source| QueryError {
                    pattern: pattern.as_ref().to_owned(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Query { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether an article with this raw `text` and `title` can hold a candidate at all: every
    /// pattern hits the text or the title. A cheap test before the article is split.
    pub fn may_hold(&self, text: &str, title: Option<&str>) -> bool {
        self.patterns
            .iter()
            .all(|pattern| pattern.is_match(text) || title.is_some_and(|t| pattern.is_match(t)))
    }

    /// `article` with only its candidate paragraphs, or `None` when it has none.
    pub fn select(&self, article: Article, title: Option<&str>) -> Option<Article> {
        if self.is_empty() {
            return Some(article);
        }
        let in_title: Vec<bool> = self
            .patterns
            .iter()
            .map(|pattern| title.is_some_and(|t| pattern.is_match(t)))
            .collect();
        article.retain_blocks(|block| {
            block.kind().is_labelable()
                && self
                    .patterns
                    .iter()
                    .zip(&in_title)
                    .all(|(pattern, &in_title)| in_title || pattern.is_match(block.text()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::ArticleId;

    const ARTICLE: &str = "North Korea and China\n\
        Pyongyang thanked Beijing for its support.\n\
        Moscow said nothing.\n\
        Kim Jong Un met Putin in Vladivostok.\n\
        By Jane Doe\n\
        The weather was fine.";

    /// The texts of the paragraphs `patterns` select from `ARTICLE` titled `title`, with
    /// their positions.
    fn check(patterns: &[&str], title: Option<&str>, expected: &[(usize, &str)]) {
        let article = Article::new(ArticleId::new("a").unwrap(), ARTICLE.to_owned()).unwrap();
        let query = Query::new(patterns).unwrap();
        let selected = query.select(article.clone(), title);
        let got: Vec<(usize, &str)> = selected
            .as_ref()
            .map(|a| {
                a.blocks()
                    .iter()
                    .map(|b| (b.position(), b.text()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(got, expected, "{patterns:?} with title {title:?}");
        // Selection keeps ids as the whole article has them.
        for block in selected.iter().flat_map(|a| a.blocks()) {
            assert!(article.blocks().contains(block));
        }
        if !expected.is_empty() {
            assert!(query.may_hold(ARTICLE, title));
        }
    }

    #[test]
    fn every_pattern_must_hit_the_paragraph() {
        check(
            &[
                "North Korea|Pyongyang|Kim Jong",
                "China|Beijing|Russia|Moscow|Putin",
            ],
            None,
            &[
                (1, "Pyongyang thanked Beijing for its support."),
                (3, "Kim Jong Un met Putin in Vladivostok."),
            ],
        );
        check(&["Moscow"], None, &[(2, "Moscow said nothing.")]);
        check(&["Moscow", "Beijing"], None, &[]);
    }

    #[test]
    fn a_pattern_in_the_title_counts_for_every_paragraph() {
        check(
            &["North Korea|Pyongyang", "Moscow|Putin"],
            Some("North Korea looks north"),
            &[
                (2, "Moscow said nothing."),
                (3, "Kim Jong Un met Putin in Vladivostok."),
            ],
        );
        // Every pattern in the title: every paragraph, headings and bylines still left out.
        check(
            &["North"],
            Some("North"),
            &[
                (1, "Pyongyang thanked Beijing for its support."),
                (2, "Moscow said nothing."),
                (3, "Kim Jong Un met Putin in Vladivostok."),
                (5, "The weather was fine."),
            ],
        );
    }

    #[test]
    fn headings_and_bylines_are_never_candidates_but_case_is_as_the_pattern_says() {
        // `North Korea and China` is a heading; `By Jane Doe` a byline.
        check(&["China"], None, &[]);
        check(&["Jane"], None, &[]);
        check(&["weather"], None, &[(5, "The weather was fine.")]);
        check(&["WEATHER"], None, &[]);
        check(&["(?i)WEATHER"], None, &[(5, "The weather was fine.")]);
    }

    #[test]
    fn an_empty_query_keeps_the_article_whole() {
        let article = Article::new(ArticleId::new("a").unwrap(), ARTICLE.to_owned()).unwrap();
        let query = Query::new::<&str>(&[]).unwrap();
        assert!(query.may_hold("", None));
        assert_eq!(query.select(article.clone(), None), Some(article));
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let err = Query::new(&["ok", "North (Korea"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--match `North (Korea` is not a valid regular expression"
        );
    }

    #[test]
    fn may_hold_needs_every_pattern_somewhere() {
        let query = Query::new(&["Korea", "China"]).unwrap();
        assert!(query.may_hold("Korea and China", None));
        assert!(query.may_hold("Korea", Some("China")));
        assert!(!query.may_hold("Korea", None));
        assert!(!query.may_hold("Korea", Some("Japan")));
    }
}
