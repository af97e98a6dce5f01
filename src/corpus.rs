//! Articles → paragraphs: the first stage of the data flow.
//!
//! Takes an article's text as scraped (one paragraph per line, give or take) and hands on
//! [`Block`]s: paragraphs, headings and bylines, each with its position in the article and a
//! stable [`ParagraphId`] derived from the article id and the normalised text. Only
//! paragraphs are ever labelled; headings and bylines keep their kind so that the store can
//! show them and leave them out of the label set.
//!
//! This module does no I/O and knows nothing about labels or the store: [`split_article`] is
//! a pure function of its input.
//!
//! Normalisation: lines are split on `\n` or `\r\n`, trimmed, and runs of whitespace inside a
//! line become one space; every other character (curly quotes, dashes, accents) is kept as is.
//! Paragraphs glued together by scraping (`trade.On Oct. 7`) are split again where a lowercase
//! letter and a sentence end are immediately followed by a capitalised word.

use std::fmt;

use sha2::{Digest, Sha256};

/// Headings are short: at most this many words.
const HEADING_MAX_WORDS: usize = 12;

/// Bylines are short: at most this many words, the prefix included.
const BYLINE_MAX_WORDS: usize = 10;

/// Characters that end a sentence or a quoted sentence; a line ending in one is not a heading.
const FINAL_PUNCTUATION: &[char] = &[
    '.', '!', '?', '…', ':', ';', ',', '"', '\'', '”', '’', '»', ')', ']',
];

/// Closing quotes and brackets that may sit between a sentence end and a glued paragraph.
const CLOSERS: &[char] = &['"', '\'', '”', '’', '»', ')', ']'];

/// Bad identifiers: the only errors this module can produce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorpusError {
    #[error(
        "invalid article id `{id}`: {reason} (use letters, digits, `_`, `.`, `-`, or pass --article-id)"
    )]
    BadArticleId { id: String, reason: &'static str },
    #[error("invalid paragraph id `{id}`: expected {len} lowercase hex digits", len = ParagraphId::LEN)]
    BadParagraphId { id: String },
}

/// The name of an article: non-empty, `[A-Za-z0-9_.-]`, not starting with `.`.
///
/// It names the article's copy in the store (`articles/<id>.txt`), so it must be a safe file
/// name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArticleId(String);

impl ArticleId {
    /// Longest accepted id, in bytes.
    pub const MAX_LEN: usize = 128;

    pub fn new(id: &str) -> Result<ArticleId, CorpusError> {
        let bad = |reason| CorpusError::BadArticleId {
            id: id.to_owned(),
            reason,
        };
        if id.is_empty() {
            return Err(bad("it is empty"));
        }
        if id.len() > Self::MAX_LEN {
            return Err(bad("it is longer than 128 characters"));
        }
        if id.starts_with('.') {
            return Err(bad("it starts with `.`"));
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(bad(
                "it has characters other than letters, digits, `_`, `.`, `-`",
            ));
        }
        Ok(ArticleId(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The article id of an imported group (a SemEval target, a source, a file stem): `name`
    /// itself when it is a valid id, else `name` with each run of other characters (spaces,
    /// accents, slashes) made one `_`, a leading `.` made `_`, and, past 128 bytes, its first
    /// 115 bytes, `-` and 12 hex digits of its SHA-256. Deterministic; different names may
    /// give the same id (`a b` and `a/b`), which the caller must refuse.
    pub fn for_group(name: &str) -> ArticleId {
        let mut id = String::with_capacity(name.len());
        let mut replacing = false;
        for c in name.chars() {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                id.push(c);
                replacing = false;
            } else if !replacing {
                id.push('_');
                replacing = true;
            }
        }
        if id.starts_with('.') {
            id.replace_range(..1, "_");
        }
        if id.is_empty() {
            id.push('_');
        }
        if id.len() > Self::MAX_LEN {
            let digest = Sha256::digest(name.as_bytes());
            id.truncate(Self::MAX_LEN - 1 - ParagraphId::LEN);
            id.push('-');
            push_hex(&digest[..ParagraphId::LEN / 2], &mut id);
        }
        ArticleId(id)
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A paragraph's stable id: the first 12 lowercase hex digits of
/// SHA-256(`article_id` + `"\n"` + normalised text).
///
/// The same text in the same article always gets the same id, so re-splitting an article
/// keeps its labels; an edited paragraph gets a new id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParagraphId(String);

impl ParagraphId {
    /// Number of hex digits in an id.
    pub const LEN: usize = 12;

    /// The id of `text` (already normalised) in `article`.
    pub fn of(article: &ArticleId, text: &str) -> ParagraphId {
        let mut hasher = Sha256::new();
        hasher.update(article.as_str().as_bytes());
        hasher.update(b"\n");
        hasher.update(text.as_bytes());
        ParagraphId::from_digest(&hasher.finalize())
    }

    /// The id of an imported record that the file names `key` (its id column): the first 12
    /// hex digits of SHA-256(`article_id` + `"\x1f"` + `key` + `"\n"` + `text`). Records
    /// with the same text in one group stay apart, and the separator, which no article id
    /// holds, keeps these ids apart from those of [`ParagraphId::of`].
    pub fn of_keyed(article: &ArticleId, key: &str, text: &str) -> ParagraphId {
        let mut hasher = Sha256::new();
        hasher.update(article.as_str().as_bytes());
        hasher.update(b"\x1f");
        hasher.update(key.as_bytes());
        hasher.update(b"\n");
        hasher.update(text.as_bytes());
        ParagraphId::from_digest(&hasher.finalize())
    }

    fn from_digest(digest: &[u8]) -> ParagraphId {
        let mut hex = String::with_capacity(Self::LEN);
        push_hex(&digest[..Self::LEN / 2], &mut hex);
        ParagraphId(hex)
    }

    /// Parses an id written elsewhere (the store, an import file).
    pub fn parse(id: &str) -> Result<ParagraphId, CorpusError> {
        let well_formed = id.len() == Self::LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(ParagraphId(id.to_owned()))
        } else {
            Err(CorpusError::BadParagraphId { id: id.to_owned() })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParagraphId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

fn push_hex(bytes: &[u8], out: &mut String) {
    for byte in bytes {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0xf));
    }
}

/// What a line of an article is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockKind {
    /// Body text: the only kind that is labelled.
    Paragraph,
    /// A section heading: a short line without final punctuation.
    Heading,
    /// An author line (`Author: …`, `By …`).
    Byline,
}

impl BlockKind {
    pub const ALL: [BlockKind; 3] = [BlockKind::Paragraph, BlockKind::Heading, BlockKind::Byline];

    /// Whether blocks of this kind go into the label set.
    pub fn is_labelable(self) -> bool {
        self == BlockKind::Paragraph
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Paragraph => "paragraph",
            BlockKind::Heading => "heading",
            BlockKind::Byline => "byline",
        }
    }

    /// The inverse of [`BlockKind::as_str`].
    pub fn from_name(name: &str) -> Option<BlockKind> {
        BlockKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for BlockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unit of an article: its kind, its place, its normalised text and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    kind: BlockKind,
    position: usize,
    text: String,
    id: ParagraphId,
}

impl Block {
    /// A block of `article`; the id is computed from the text, so it cannot disagree with it.
    pub fn new(article: &ArticleId, kind: BlockKind, position: usize, text: String) -> Block {
        let id = ParagraphId::of(article, &text);
        Block {
            kind,
            position,
            text,
            id,
        }
    }

    /// An imported record of `article` that its file names `key`: a paragraph, its id
    /// computed by [`ParagraphId::of_keyed`] (or [`ParagraphId::of`] without a key). The text
    /// is kept as it is.
    pub fn imported(
        article: &ArticleId,
        key: Option<&str>,
        position: usize,
        text: String,
    ) -> Block {
        let id = match key {
            Some(key) => ParagraphId::of_keyed(article, key, &text),
            None => ParagraphId::of(article, &text),
        };
        Block {
            kind: BlockKind::Paragraph,
            position,
            text,
            id,
        }
    }

    pub fn kind(&self) -> BlockKind {
        self.kind
    }

    /// Zero-based index of the block among the article's blocks.
    pub fn position(&self) -> usize {
        self.position
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn id(&self) -> &ParagraphId {
        &self.id
    }
}

/// Splits an article into blocks, in reading order, positions counted from 0.
///
/// Blank lines are dropped; a leading byte-order mark is ignored. Two lines with the same
/// normalised text get the same id; callers that key by id must decide what to do with the
/// repeat (the store keeps the first).
pub fn split_article(article: &ArticleId, text: &str) -> Vec<Block> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut blocks = Vec::new();
    let mut line_buf = String::new();
    for line in text.lines() {
        normalise_into(line, &mut line_buf);
        for piece in unglue(&line_buf) {
            let kind = classify(piece);
            blocks.push(Block::new(article, kind, blocks.len(), piece.to_owned()));
        }
    }
    blocks
}

/// Trims `line` and collapses its inner whitespace runs into one space, into `out`.
fn normalise_into(line: &str, out: &mut String) {
    out.clear();
    for word in line.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// Splits a normalised line where scraping glued two paragraphs together: a lowercase
/// letter, `.`/`!`/`?`, optional closing quotes or brackets, then at once an uppercase letter
/// followed by a lowercase one (`trade.On`, `decades.Despite`, `said.”The`). Abbreviations
/// and numbers (`U.S.-China`, `Oct. 8`, `3.5`, `e.g.`, `Ph.D.`) never match.
fn unglue(line: &str) -> impl Iterator<Item = &str> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut cuts = Vec::new();
    let mut i = 0;
    while i + 1 < chars.len() {
        let (_, letter) = chars[i];
        let (_, end) = chars[i + 1];
        if letter.is_lowercase() && matches!(end, '.' | '!' | '?') {
            let mut j = i + 2;
            while j < chars.len() && CLOSERS.contains(&chars[j].1) {
                j += 1;
            }
            let capitalised_word =
                j + 1 < chars.len() && chars[j].1.is_uppercase() && chars[j + 1].1.is_lowercase();
            if capitalised_word {
                cuts.push(chars[j].0);
                i = j;
                continue;
            }
        }
        i += 1;
    }
    let mut start = 0;
    cuts.push(line.len());
    cuts.into_iter()
        .map(move |cut| {
            let piece = &line[start..cut];
            start = cut;
            piece
        })
        .filter(|piece| !piece.is_empty())
}

fn classify(text: &str) -> BlockKind {
    if is_byline(text) {
        BlockKind::Byline
    } else if is_heading(text) {
        BlockKind::Heading
    } else {
        BlockKind::Paragraph
    }
}

/// A short line with no final punctuation.
fn is_heading(text: &str) -> bool {
    let short = text.split_whitespace().count() <= HEADING_MAX_WORDS;
    let unpunctuated = text
        .chars()
        .next_back()
        .is_some_and(|last| !FINAL_PUNCTUATION.contains(&last));
    short && unpunctuated
}

/// A short `Author: …` line, or `By` followed by a name (every word capitalised, bar
/// connectors such as `and`): `By building closer ties, …` is body text.
fn is_byline(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() > BYLINE_MAX_WORDS {
        return false;
    }
    let lower = text.to_lowercase();
    let labelled = ["author:", "authors:", "by:", "written by ", "reporting by "]
        .iter()
        .any(|prefix| lower.starts_with(prefix));
    if labelled {
        return words.len() >= 2;
    }
    match words.split_first() {
        Some((&"By", names)) => {
            !names.is_empty()
                && names.iter().all(|word| {
                    let connector = matches!(*word, "and" | "&" | "de" | "van" | "von" | "der");
                    connector || word.chars().next().is_some_and(char::is_uppercase)
                })
                && !text.ends_with([':', '!', '?'])
        }
        _ => false,
    }
}

/// An article after splitting: its id, its raw text, its blocks, and what its source said
/// about it beside the text (a JSON Lines record's other fields: source, date, title …).
///
/// Built by [`Article::new`], which refuses empty articles; the store ingests these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    id: ArticleId,
    text: String,
    blocks: Vec<Block>,
    fields: serde_json::Map<String, serde_json::Value>,
}

/// Why an article cannot be ingested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArticleError {
    #[error("article `{id}` is empty")]
    Empty { id: ArticleId },
}

impl Article {
    /// Splits `text`; an article with no non-blank line is an error.
    pub fn new(id: ArticleId, text: String) -> Result<Article, ArticleError> {
        let blocks = split_article(&id, &text);
        if blocks.is_empty() {
            return Err(ArticleError::Empty { id });
        }
        Ok(Article {
            id,
            text,
            blocks,
            fields: serde_json::Map::new(),
        })
    }

    /// The same article with the fields its record had beside the text (kept by the store
    /// as `articles/<id>.json`).
    pub fn with_fields(mut self, fields: serde_json::Map<String, serde_json::Value>) -> Article {
        self.fields = fields;
        self
    }

    /// Only the blocks `keep` accepts, each with its position and id unchanged; `None` when
    /// none is left.
    pub fn retain_blocks(mut self, keep: impl FnMut(&Block) -> bool) -> Option<Article> {
        self.blocks.retain(keep);
        (!self.blocks.is_empty()).then_some(self)
    }

    /// The fields of its record other than the text (empty for an article file).
    pub fn fields(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.fields
    }

    pub fn id(&self) -> &ArticleId {
        &self.id
    }

    /// The text as given, before normalisation.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use BlockKind::{Byline as B, Heading as H, Paragraph as P};

    fn check(input: &str, expected: &[(BlockKind, &str)]) {
        let article = ArticleId::new("test").unwrap();
        let blocks = split_article(&article, input);
        let got: Vec<(BlockKind, &str)> = blocks.iter().map(|b| (b.kind(), b.text())).collect();
        assert_eq!(got, expected, "input: {input:?}");
    }

    #[test]
    fn splits_lines_and_normalises_whitespace() {
        check(
            "  First  paragraph\there.  \r\n\r\nSecond one.\n\n   \n",
            &[(P, "First paragraph here."), (P, "Second one.")],
        );
    }

    #[test]
    fn keeps_typography_exactly() {
        check(
            "“Their long-term alliance framework cannot change. These three parties—North Korea, China, and Russia—will not break up.”",
            &[(
                P,
                "“Their long-term alliance framework cannot change. These three parties—North Korea, China, and Russia—will not break up.”",
            )],
        );
        check(
            "Author: Alexander Görlach",
            &[(B, "Author: Alexander Görlach")],
        );
    }

    #[test]
    fn repairs_glued_paragraphs_from_the_seeds() {
        check(
            "more than 90 percent of North Korea’s trade.On Oct. 7, Kim sent a birthday message.",
            &[
                (P, "more than 90 percent of North Korea’s trade."),
                (P, "On Oct. 7, Kim sent a birthday message."),
            ],
        );
        check(
            "laid the foundation for their relationship over the decades.Despite China’s decades of trade and aid, it is fraught.",
            &[
                (
                    P,
                    "laid the foundation for their relationship over the decades.",
                ),
                (
                    P,
                    "Despite China’s decades of trade and aid, it is fraught.",
                ),
            ],
        );
    }

    #[test]
    fn repairs_glue_after_closing_quotes_and_other_sentence_ends() {
        check(
            "He called it “tactical.”The talks failed.",
            &[(P, "He called it “tactical.”"), (P, "The talks failed.")],
        );
        check(
            "Will it hold?Nobody knows.",
            &[(P, "Will it hold?"), (P, "Nobody knows.")],
        );
    }

    #[test]
    fn abbreviations_and_numbers_do_not_split() {
        for text in [
            "Strains in U.S.-China relations grew after the summit.",
            "On Oct. 8, Kim warned via the state news agency.",
            "During the Korean War (1950-53), China played a pivotal role.",
            "Growth was 3.5 percent, e.g. slower than expected.",
            "She holds a Ph.D. from Seoul National University.",
            "The U.S.A. and the U.K. were not consulted.",
            "It accounts for more than 90.5% of trade.",
        ] {
            check(text, &[(P, text)]);
        }
    }

    #[test]
    fn recognises_headings_as_short_unpunctuated_lines() {
        check(
            "Intro paragraph.\nChina is in a losing position\nBody.",
            &[
                (P, "Intro paragraph."),
                (H, "China is in a losing position"),
                (P, "Body."),
            ],
        );
        for heading in [
            "The goal is to change the balance of global power",
            "Strengthening Ties with Russia",
            "Historical Tensions with China",
        ] {
            check(heading, &[(H, heading)]);
        }
    }

    #[test]
    fn short_punctuated_lines_are_paragraphs() {
        for text in ["Su agrees.", "Why now?", "“No.”", "He said:", "Kim (left)"] {
            check(text, &[(P, text)]);
        }
    }

    #[test]
    fn long_unpunctuated_lines_are_paragraphs() {
        // The author note that closes seed 000: long, no final period, body text.
        let bio = "He is a senior fellow at the Carnegie Council on Ethics in International Affairs and a research fellow at the Internet Institute at Oxford University. He has lived in Taiwan and Hong Kong";
        check(bio, &[(P, bio)]);
    }

    #[test]
    fn recognises_bylines() {
        for byline in [
            "Author: Alexander Görlach",
            "By John Smith",
            "By Jane Doe and Kim Min-jun",
            "Written by Staff Reporter",
            "By Jan van der Berg",
        ] {
            check(byline, &[(B, byline)]);
        }
        for body in [
            "By building closer relations with Moscow, Pyongyang seeks autonomy.",
            "By contrast, Beijing stayed silent.",
        ] {
            check(body, &[(P, body)]);
        }
    }

    #[test]
    fn strips_a_byte_order_mark() {
        check("\u{feff}Text.", &[(P, "Text.")]);
    }

    #[test]
    fn positions_count_blocks_after_repair() {
        let article = ArticleId::new("a").unwrap();
        let blocks = split_article(&article, "Title line\n\nOne.Two words.\nThree.");
        let positions: Vec<usize> = blocks.iter().map(Block::position).collect();
        assert_eq!(positions, [0, 1, 2, 3]);
    }

    #[test]
    fn paragraph_id_is_a_prefix_of_sha256_over_article_and_text() {
        // `printf 'a\nHello.' | sha256sum` starts with these 12 digits.
        let id = ParagraphId::of(&ArticleId::new("a").unwrap(), "Hello.");
        assert_eq!(id.as_str(), expected_sha_prefix("a\nHello."));
        assert_eq!(id.as_str().len(), ParagraphId::LEN);
        assert_eq!(ParagraphId::parse(id.as_str()), Ok(id));
    }

    /// Independent computation with the `sha256sum` definition: reuse sha2 directly, not
    /// `ParagraphId::of`, formatted through `{:02x}`.
    fn expected_sha_prefix(input: &str) -> String {
        let digest = Sha256::digest(input.as_bytes());
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn keyed_ids_hash_the_key_too() {
        let a = ArticleId::new("a").unwrap();
        let id = ParagraphId::of_keyed(&a, "101", "Hello.");
        assert_eq!(id.as_str(), expected_sha_prefix("a\x1f101\nHello."));
        assert_ne!(id, ParagraphId::of_keyed(&a, "102", "Hello."));
        assert_ne!(id, ParagraphId::of(&a, "Hello."));
        let block = Block::imported(&a, Some("101"), 3, "Hello.".to_owned());
        assert_eq!(
            (block.id(), block.kind(), block.position()),
            (&id, BlockKind::Paragraph, 3)
        );
        let plain = Block::imported(&a, None, 0, "Hello.".to_owned());
        assert_eq!(plain.id(), &ParagraphId::of(&a, "Hello."));
    }

    #[test]
    fn groups_become_valid_article_ids() {
        let check = |name: &str, expected: &str| {
            let id = ArticleId::for_group(name);
            assert_eq!(id.as_str(), expected, "{name}");
            assert_eq!(ArticleId::new(id.as_str()), Ok(id.clone()), "{name}");
        };
        check("Atheism", "Atheism");
        check(
            "Climate Change is a Real Concern",
            "Climate_Change_is_a_Real_Concern",
        );
        check("004Gt3gcsotuiYmz", "004Gt3gcsotuiYmz");
        check("New York Times - News", "New_York_Times_-_News");
        check("a / b", "a_b");
        check(".hidden", "_hidden");
        check("Ñandú", "_and_");
        check("", "_");
        check("日本", "_");
        let long = "x".repeat(200);
        let id = ArticleId::for_group(&long);
        assert_eq!(id.as_str().len(), ArticleId::MAX_LEN);
        assert!(ArticleId::new(id.as_str()).is_ok());
        assert_ne!(id, ArticleId::for_group(&"x".repeat(201)));
        assert!(id.as_str().ends_with(&expected_sha_prefix(&long)));
    }

    #[test]
    fn ids_differ_by_article_and_by_text() {
        let a = ArticleId::new("a").unwrap();
        let b = ArticleId::new("b").unwrap();
        assert_ne!(ParagraphId::of(&a, "x"), ParagraphId::of(&b, "x"));
        assert_ne!(ParagraphId::of(&a, "x"), ParagraphId::of(&a, "y"));
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "",
            ".hidden",
            "has space",
            "slash/y",
            "ünï",
            &"x".repeat(129),
        ] {
            assert!(ArticleId::new(bad).is_err(), "{bad:?}");
        }
        for good in ["000_f5ae0c5afab919db", "a.b-c_D"] {
            assert!(ArticleId::new(good).is_ok(), "{good:?}");
        }
        for bad in ["", "abc", "ABCDEF012345", "0123456789abc", "0123456789ag"] {
            assert!(ParagraphId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn empty_article_is_refused() {
        let id = ArticleId::new("a").unwrap();
        assert!(Article::new(id.clone(), " \n\r\n\t".to_owned()).is_err());
        assert!(Article::new(id, "x".to_owned()).is_ok());
    }

    proptest! {
        /// Splitting loses no visible character and adds none; blocks are normalised.
        #[test]
        fn splitting_preserves_non_whitespace(text in "[a-zA-Z .!?”’\u{2014}\n\r\t0-9-]{0,200}") {
            let article = ArticleId::new("p").unwrap();
            let blocks = split_article(&article, &text);
            let visible = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            let joined: String = blocks.iter().map(|b| visible(b.text())).collect();
            prop_assert_eq!(joined, visible(&text));
            for (i, block) in blocks.iter().enumerate() {
                prop_assert!(!block.text().is_empty());
                prop_assert_eq!(block.text(), block.text().trim());
                prop_assert!(!block.text().contains("  "));
                prop_assert!(!block.text().contains(['\n', '\r', '\t']));
                prop_assert_eq!(block.position(), i);
                prop_assert_eq!(block.id(), &ParagraphId::of(&article, block.text()));
            }
        }
    }
}
