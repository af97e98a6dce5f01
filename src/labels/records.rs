//! What a line of `paragraphs.jsonl` or `annotations.jsonl` looks like.
//!
//! Plain serialisable records, converted explicitly from and to the store's internal types
//! (which do not derive `Serialize`). Parsing checks every field; the caller adds file and
//! line to the error.
//!
//! ```text
//! {"id":"3f9a0c1d2e4b","article":"000_f5ae0c5afab919db","position":0,"kind":"paragraph","text":"…"}
//! {"id":"9b1e…","article":"Hillary_Clinton","position":4,"kind":"paragraph","text":"…","key":"1203","group":"Hillary Clinton","split":"train"}
//! {"paragraph":"3f9a0c1d2e4b","label":"stable","annotator":"annotator-1","confidence":"low","time":"2024-11-23T12:00:00.000Z","note":"…"}
//! {"retract":"3f9a0c1d2e4b","annotator":"annotator-1","time":"2024-11-23T12:00:05.000Z"}
//! ```

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::EntryError;
use super::annotations::{Annotation, Annotator, Confidence, Decision, Retraction};
use super::paragraph::{Origin, Paragraph};
use super::schema::Schema;
use crate::corpus::{ArticleId, Block, BlockKind, ParagraphId};
use crate::persist;

/// A line of `paragraphs.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParagraphRecord {
    id: String,
    article: String,
    position: usize,
    kind: String,
    text: String,
    /// Imported records only (`stance import`): the record's id in its file, hashed into
    /// `id`; the group's name when it is not `article`; the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    split: Option<String>,
}

/// A decision as written to `annotations.jsonl`.
#[derive(Debug, Serialize)]
struct DecisionRecord<'a> {
    paragraph: &'a str,
    label: &'a str,
    annotator: &'a str,
    confidence: &'static str,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// A retraction as written to `annotations.jsonl`.
#[derive(Debug, Serialize)]
struct RetractionRecord<'a> {
    retract: &'a str,
    annotator: &'a str,
    time: String,
}

/// Any line of `annotations.jsonl`, as read: a decision or a retraction.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnotationRecord {
    paragraph: Option<String>,
    label: Option<String>,
    annotator: String,
    confidence: Option<String>,
    time: String,
    note: Option<String>,
    retract: Option<String>,
}

/// The JSON line (with its newline) for a paragraph.
pub(super) fn paragraph_line(paragraph: &Paragraph) -> Result<String, EntryError> {
    let record = ParagraphRecord {
        id: paragraph.id().as_str().to_owned(),
        article: paragraph.article().as_str().to_owned(),
        position: paragraph.position(),
        kind: paragraph.kind().as_str().to_owned(),
        text: paragraph.text().to_owned(),
        key: paragraph.origin().key.clone(),
        group: paragraph.origin().group.clone(),
        split: paragraph.origin().split.clone(),
    };
    to_line(&record)
}

/// Parses a line of `paragraphs.jsonl`; the id must be the hash of the article and text (and
/// key, for an imported record that has one).
pub(super) fn parse_paragraph(line: &str) -> Result<Paragraph, EntryError> {
    let record: ParagraphRecord = persist::parse_line(line).map_err(EntryError::Json)?;
    let article = ArticleId::new(&record.article)?;
    let id = ParagraphId::parse(&record.id)?;
    let kind = BlockKind::from_name(&record.kind).ok_or_else(|| {
        EntryError::Malformed(format!(
            "unknown kind `{}` (expected paragraph, heading or byline)",
            record.kind
        ))
    })?;
    let origin = Origin {
        key: record.key,
        group: record.group,
        split: record.split,
    };
    let paragraph = if origin == Origin::default() {
        Paragraph::new(
            article.clone(),
            Block::new(&article, kind, record.position, record.text),
        )
    } else if kind == BlockKind::Paragraph {
        Paragraph::imported(article, origin, record.position, record.text)
    } else {
        return Err(EntryError::Malformed(format!(
            "an imported record is a paragraph, not a {kind}"
        )));
    };
    if paragraph.id() != &id {
        return Err(EntryError::IdMismatch { id: record.id });
    }
    Ok(paragraph)
}

/// The JSON line (with its newline) for an annotation; `time` has millisecond precision.
pub(super) fn annotation_line(
    annotation: &Annotation,
    schema: &Schema,
) -> Result<String, EntryError> {
    match annotation {
        Annotation::Decision(decision) => to_line(&DecisionRecord {
            paragraph: decision.paragraph().as_str(),
            label: schema.class(decision.class()).name(),
            annotator: decision.annotator().as_str(),
            confidence: decision.confidence().as_str(),
            time: format!("{:.3}", decision.time()),
            note: decision.note(),
        }),
        Annotation::Retraction(retraction) => to_line(&RetractionRecord {
            retract: retraction.paragraph().as_str(),
            annotator: retraction.annotator().as_str(),
            time: format!("{:.3}", retraction.time()),
        }),
    }
}

/// Parses a line of `annotations.jsonl` against the schema.
pub(super) fn parse_annotation(line: &str, schema: &Schema) -> Result<Annotation, EntryError> {
    let record: AnnotationRecord = persist::parse_line(line).map_err(EntryError::Json)?;
    let annotator = Annotator::new(&record.annotator)?;
    let time: Timestamp = record.time.parse().map_err(|source| EntryError::Time {
        time: record.time.clone(),
        source,
    })?;
    match record {
        AnnotationRecord {
            retract: Some(retract),
            paragraph: None,
            label: None,
            confidence: None,
            note: None,
            ..
        } => Ok(Annotation::Retraction(Retraction::new(
            ParagraphId::parse(&retract)?,
            annotator,
            time,
        ))),
        AnnotationRecord {
            retract: None,
            paragraph: Some(paragraph),
            label: Some(label),
            confidence: Some(confidence),
            note,
            ..
        } => {
            let paragraph = ParagraphId::parse(&paragraph)?;
            let class = resolve_label(schema, &label)?;
            let confidence = Confidence::from_name(&confidence).ok_or_else(|| {
                EntryError::Malformed(format!(
                    "confidence must be \"high\" or \"low\", not `{confidence}`"
                ))
            })?;
            let decision = Decision::new(paragraph, class, annotator, confidence, time);
            Ok(Annotation::Decision(decision.with_note(note)))
        }
        _ => Err(EntryError::Malformed(
            "a record is either a decision (paragraph, label, confidence) or a retraction (retract), not a mix"
                .to_owned(),
        )),
    }
}

/// The class index of `label`, or an error listing the schema's classes.
pub(super) fn resolve_label(
    schema: &Schema,
    label: &str,
) -> Result<super::schema::ClassIdx, EntryError> {
    schema
        .index_of(label)
        .ok_or_else(|| EntryError::UnknownLabel {
            label: label.to_owned(),
            known: schema.names().to_string(),
        })
}

fn to_line<T: Serialize>(record: &T) -> Result<String, EntryError> {
    persist::to_line(record).map_err(EntryError::Serialize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::default_schema()
    }

    fn check(line: &str, expected: Result<&str, &str>) {
        match (parse_annotation(line, &schema()), expected) {
            (Ok(annotation), Ok(round_trip)) => {
                assert_eq!(
                    annotation_line(&annotation, &schema()).unwrap().trim_end(),
                    round_trip
                );
            }
            (Err(err), Err(message)) => {
                let got = crate::labels::test_support::error_chain(&err);
                assert!(got.starts_with(message), "got {got:?}, want {message:?}");
            }
            (got, expected) => panic!("got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn annotation_records_round_trip() {
        let decision = r#"{"paragraph":"0123456789ab","label":"stable","annotator":"annotator-1","confidence":"low","time":"2024-11-23T12:00:00.000Z","note":"quote"}"#;
        check(decision, Ok(decision));
        let retraction =
            r#"{"retract":"0123456789ab","annotator":"a","time":"2024-11-23T12:00:00.500Z"}"#;
        check(retraction, Ok(retraction));
        // Key order and time precision are normalised on writing.
        check(
            r#"{"time":"2024-11-23T12:00:00Z","annotator":"a","confidence":"high","label":"neither","paragraph":"0123456789ab"}"#,
            Ok(
                r#"{"paragraph":"0123456789ab","label":"neither","annotator":"a","confidence":"high","time":"2024-11-23T12:00:00.000Z"}"#,
            ),
        );
    }

    #[test]
    fn bad_annotation_records() {
        check(
            "{not json",
            Err("not valid JSON: key must be a string at column 2"),
        );
        check(
            r#"{"paragraph":"0123456789ab","label":"maybe","annotator":"a","confidence":"high","time":"2024-11-23T12:00:00Z"}"#,
            Err("unknown label `maybe` (the schema has fracturing, stable, neither)"),
        );
        check(
            r#"{"paragraph":"0123456789ab","label":"stable","annotator":"a","confidence":"sure","time":"2024-11-23T12:00:00Z"}"#,
            Err("confidence must be \"high\" or \"low\", not `sure`"),
        );
        check(
            r#"{"paragraph":"xyz","label":"stable","annotator":"a","confidence":"high","time":"2024-11-23T12:00:00Z"}"#,
            Err("invalid paragraph id `xyz`"),
        );
        check(
            r#"{"paragraph":"0123456789ab","label":"stable","annotator":"a","confidence":"high","time":"yesterday"}"#,
            Err("invalid time `yesterday`"),
        );
        check(
            r#"{"retract":"0123456789ab","label":"stable","annotator":"a","time":"2024-11-23T12:00:00Z"}"#,
            Err("a record is either a decision"),
        );
        check(
            r#"{"paragraph":"0123456789ab","label":"stable","annotator":"a","confidence":"high","time":"2024-11-23T12:00:00Z","mood":"ok"}"#,
            Err("not valid JSON: unknown field `mood`"),
        );
        check(
            r#"{"paragraph":"0123456789ab","label":"stable""#,
            Err("not valid JSON: it ends early, at column 44"),
        );
    }

    #[test]
    fn paragraph_records_check_their_id() {
        let article = ArticleId::new("a").unwrap();
        let paragraph = Paragraph::new(
            article.clone(),
            Block::new(&article, BlockKind::Heading, 2, "Title".to_owned()),
        );
        let line = paragraph_line(&paragraph).unwrap();
        assert_eq!(parse_paragraph(line.trim_end()).unwrap(), paragraph);
        let edited = line.replace("Title", "Other title");
        assert!(matches!(
            parse_paragraph(edited.trim_end()),
            Err(EntryError::IdMismatch { .. })
        ));
    }

    #[test]
    fn imported_records_keep_key_group_and_split() {
        let article = ArticleId::for_group("Hillary Clinton");
        let origin = Origin {
            key: Some("1203".to_owned()),
            group: Some("Hillary Clinton".to_owned()),
            split: Some("train".to_owned()),
        };
        let paragraph = Paragraph::imported(article, origin, 4, "  Tweet  text #SemST".to_owned());
        let line = paragraph_line(&paragraph).unwrap();
        assert!(
            line.ends_with("\"key\":\"1203\",\"group\":\"Hillary Clinton\",\"split\":\"train\"}\n"),
            "{line}"
        );
        let read = parse_paragraph(line.trim_end()).unwrap();
        assert_eq!(read, paragraph);
        assert_eq!(
            (read.group_name(), read.split()),
            ("Hillary Clinton", Some("train"))
        );
        // The key is part of the id: another key is a mismatch.
        let rekeyed = line.replace("\"1203\"", "\"1204\"");
        assert!(matches!(
            parse_paragraph(rekeyed.trim_end()),
            Err(EntryError::IdMismatch { .. })
        ));
        // A split alone (no key) still hashes article and text only.
        let plain = Paragraph::imported(
            ArticleId::new("a").unwrap(),
            Origin {
                split: Some("test".to_owned()),
                ..Origin::default()
            },
            0,
            "x".to_owned(),
        );
        assert_eq!(
            plain.id(),
            &ParagraphId::of(&ArticleId::new("a").unwrap(), "x")
        );
        let line = paragraph_line(&plain).unwrap();
        assert_eq!(parse_paragraph(line.trim_end()).unwrap(), plain);
        assert_eq!(plain.group_name(), "a");
        let heading = line.replace("\"paragraph\"", "\"heading\"");
        let err = parse_paragraph(heading.trim_end()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an imported record is a paragraph, not a heading"
        );
    }
}
