//! Articles from JSON Lines: a corpus of one JSON object a line (gzip-compressed or not),
//! the article's text in one field and its id in another, for `stance ingest`.
//!
//! Takes a path, the field names and a [`Query`], and hands on the [`Article`]s that hold
//! candidate paragraphs, in file order, each split as an article file is
//! ([`crate::corpus::split_article`]: every non-blank line of the text is a block, paragraphs
//! glued by scraping are split again, headings and bylines are kept apart) and cut down to
//! its candidates, positions and ids unchanged. Each keeps its record's other fields (source,
//! date, title …). Only the selected articles are held in memory, so a corpus larger than
//! memory can be searched.
//!
//! Every record is checked, selected or not: a line that is not a JSON object, a text or id
//! field missing or of the wrong type, an id that cannot name an article, an id given twice;
//! each error names the file, the line and the field. A record whose text is blank holds no
//! paragraph: it is counted, not an error.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{InputError, MAX_LINE, open_decompressed};
use crate::candidates::Query;
use crate::corpus::{Article, ArticleId};

/// Which fields of a record hold what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleFields {
    /// The article's text (a string).
    pub text: String,
    /// The article's id (a string or a whole number).
    pub id: String,
    /// The article's title (a string), which `--match` patterns may hit for every paragraph.
    pub title: Option<String>,
}

/// What searching one file found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Articles holding candidates, in file order, cut down to them.
    pub articles: Vec<Article>,
    /// Records read.
    pub records: u64,
    /// Records whose text is blank.
    pub blank: u64,
}

impl Scan {
    /// Paragraphs to label in the articles kept (not their headings and bylines).
    pub fn paragraphs(&self) -> usize {
        self.articles
            .iter()
            .flat_map(Article::blocks)
            .filter(|block| block.kind().is_labelable())
            .count()
    }
}

/// Reads every record of `path` and keeps the articles with paragraphs `query` hits (all
/// their paragraphs for an empty query, headings and bylines included).
pub fn scan_articles(
    path: &Path,
    fields: &ArticleFields,
    query: &Query,
) -> Result<Scan, InputError> {
    let io_error = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut source = open_decompressed(path).map_err(io_error)?;
    let mut scan = Scan::default();
    let mut first_seen: BTreeMap<ArticleId, u64> = BTreeMap::new();
    let mut buffer = Vec::new();
    let mut line = 0u64;
    loop {
        buffer.clear();
        let read = (&mut source)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(io_error)?;
        if read == 0 {
            break;
        }
        line += 1;
        if buffer.len() > MAX_LINE {
            return Err(InputError::LineTooLong {
                path: path.to_path_buf(),
                line,
                limit: MAX_LINE,
            });
        }
        if buffer.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = Place { path, line };
        let record = at.record(&buffer, fields)?;
        scan.records += 1;
        if let Some(first) = first_seen.insert(record.id.clone(), line) {
            return Err(InputError::RepeatedArticle {
                path: path.to_path_buf(),
                line,
                id: record.id.to_string(),
                first,
            });
        }
        if !query.may_hold(&record.text, record.title.as_deref()) {
            continue;
        }
        let title = record.title;
        let Ok(article) = Article::new(record.id, record.text) else {
            scan.blank += 1;
            continue;
        };
        if let Some(article) = query.select(article.with_fields(record.fields), title.as_deref()) {
            scan.articles.push(article);
        }
    }
    Ok(scan)
}

/// A record's parts.
struct Record {
    id: ArticleId,
    text: String,
    title: Option<String>,
    /// Every field but the text.
    fields: Map<String, Value>,
}

/// A line of a file, for errors.
struct Place<'a> {
    path: &'a Path,
    line: u64,
}

impl Place<'_> {
    fn path(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    fn record(&self, bytes: &[u8], names: &ArticleFields) -> Result<Record, InputError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|source| InputError::Json {
            path: self.path(),
            line: self.line,
            source,
        })?;
        let Value::Object(mut fields) = value else {
            return Err(InputError::NotAnObject {
                path: self.path(),
                line: self.line,
                found: kind_of(&value),
            });
        };
        let text = match fields.remove(&names.text) {
            Some(Value::String(text)) => text,
            other => return Err(self.wrong_field(&names.text, other.as_ref(), "text")),
        };
        let id = match fields.get(&names.id) {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            other => return Err(self.wrong_field(&names.id, other, "text or a whole number")),
        };
        let id = ArticleId::new(&id).map_err(|source| InputError::BadArticleId {
            path: self.path(),
            line: self.line,
            field: names.id.clone(),
            source,
        })?;
        let title = match &names.title {
            None => None,
            Some(name) => match fields.get(name) {
                Some(Value::String(title)) => Some(title.clone()),
                other => return Err(self.wrong_field(name, other, "text")),
            },
        };
        Ok(Record {
            id,
            text,
            title,
            fields,
        })
    }

    /// The error for a field that is missing or not what it must be (`expected`).
    fn wrong_field(&self, field: &str, value: Option<&Value>, expected: &str) -> InputError {
        match value {
            None => InputError::MissingField {
                path: self.path(),
                line: self.line,
                field: field.to_owned(),
            },
            Some(value) => InputError::WrongField {
                path: self.path(),
                line: self.line,
                field: field.to_owned(),
                found: kind_of(value),
                expected: expected.to_owned(),
            },
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn fields(title: Option<&str>) -> ArticleFields {
        ArticleFields {
            text: "text".into(),
            id: "ID".into(),
            title: title.map(str::to_owned),
        }
    }

    fn scan(contents: &[u8], title: Option<&str>, patterns: &[&str]) -> Result<Scan, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corpus.jsonl");
        std::fs::write(&path, contents).unwrap();
        let query = Query::new(patterns).unwrap();
        scan_articles(&path, &fields(title), &query).map_err(|err| {
            let text = err.to_string();
            text.replace(&path.display().to_string(), "corpus.jsonl")
        })
    }

    /// The error `contents` gives, with the file's path shown as `corpus.jsonl`.
    fn check_error(contents: &str, expected: &str) {
        match scan(contents.as_bytes(), Some("title"), &[]) {
            Ok(_) => panic!("{contents:?} was accepted"),
            Err(message) => assert_eq!(message, expected, "{contents:?}"),
        }
    }

    const CORPUS: &str = concat!(
        r#"{"ID": "a1", "source": "Wire", "date": "2018-06-12", "title": "Summit", "text": "Kim met Xi in Beijing.\n\nThe weather was fine.\n\nKim thanked Xi."}"#,
        "\n\n",
        r#"{"ID": 7, "source": "Daily", "date": "2019-01-01", "title": "Other", "text": "Nothing here.\n\nOr here."}"#,
        "\n",
        r#"{"ID": "b2", "source": "Daily", "title": "Xi visits", "text": "  \n\n"}"#,
        "\n",
        r#"{"ID": "c3", "source": "Daily", "title": "Xi visits", "text": "Kim waved.\n\nRain."}"#,
    );

    fn texts(article: &Article) -> Vec<(usize, &str)> {
        article
            .blocks()
            .iter()
            .map(|b| (b.position(), b.text()))
            .collect()
    }

    #[test]
    fn articles_keep_their_ids_positions_and_other_fields() {
        let scan = scan(CORPUS.as_bytes(), Some("title"), &["Kim", "Xi"]).unwrap();
        assert_eq!((scan.records, scan.blank), (4, 0));
        let ids: Vec<&str> = scan.articles.iter().map(|a| a.id().as_str()).collect();
        assert_eq!(ids, ["a1", "c3"]);
        assert_eq!(
            texts(&scan.articles[0]),
            [(0, "Kim met Xi in Beijing."), (2, "Kim thanked Xi.")]
        );
        // `Xi` is in c3's title, so it counts for each of its paragraphs.
        assert_eq!(texts(&scan.articles[1]), [(0, "Kim waved.")]);
        let fields = scan.articles[0].fields();
        assert_eq!(fields["source"], "Wire");
        assert_eq!(fields["date"], "2018-06-12");
        assert_eq!(fields["ID"], "a1");
        assert!(!fields.contains_key("text"));
        // The same ids as the article ingested whole.
        let whole = Article::new(
            ArticleId::new("a1").unwrap(),
            "Kim met Xi in Beijing.\n\nThe weather was fine.\n\nKim thanked Xi.".into(),
        )
        .unwrap();
        assert_eq!(scan.articles[0].blocks()[1], whole.blocks()[2]);
    }

    #[test]
    fn without_a_query_every_article_is_kept_whole_and_blank_ones_counted() {
        let scan = scan(CORPUS.as_bytes(), None, &[]).unwrap();
        assert_eq!((scan.records, scan.blank), (4, 1));
        let ids: Vec<&str> = scan.articles.iter().map(|a| a.id().as_str()).collect();
        assert_eq!(ids, ["a1", "7", "c3"]);
        assert_eq!(scan.paragraphs(), 3 + 2 + 2);
    }

    #[test]
    fn gzip_is_read_by_its_magic_bytes() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(CORPUS.as_bytes()).unwrap();
        let gzipped = encoder.finish().unwrap();
        let plain = scan(CORPUS.as_bytes(), Some("title"), &["Kim"]).unwrap();
        let unzipped = scan(&gzipped, Some("title"), &["Kim"]).unwrap();
        assert_eq!(plain.articles, unzipped.articles);
    }

    #[test]
    fn bad_records_are_named_by_line_and_field() {
        check_error(
            "{\"ID\": \"a\", \"title\": \"t\", \"text\": \"x\"}\n[1]",
            "corpus.jsonl:2: the line is an array, not a JSON object",
        );
        check_error(
            "{\"ID\": \"a\", \"title\": \"t\"}",
            "corpus.jsonl:1: no field `text`",
        );
        check_error(
            "{\"ID\": \"a\", \"title\": \"t\", \"text\": 3}",
            "corpus.jsonl:1: field `text` is a number, not text",
        );
        check_error(
            "{\"ID\": 1.5, \"title\": \"t\", \"text\": \"x\"}",
            "corpus.jsonl:1: field `ID` is a number, not text or a whole number",
        );
        check_error(
            "{\"ID\": \"a b\", \"title\": \"t\", \"text\": \"x\"}",
            "corpus.jsonl:1: field `ID` cannot name an article",
        );
        check_error(
            "{\"ID\": \"a\", \"text\": \"x\"}",
            "corpus.jsonl:1: no field `title`",
        );
        check_error(
            "{\"ID\": \"a\", \"title\": \"t\", \"text\": \"x\"}\n\n{\"ID\": \"a\", \"title\": \"u\", \"text\": \"y\"}",
            "corpus.jsonl:3: article `a` was already read at line 1",
        );
        check_error(
            "{\"ID\": \"a\", \"title\": \"t\", \"text\": \"x\"",
            "corpus.jsonl:1: invalid JSON record",
        );
    }
}
