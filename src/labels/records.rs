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
//!
//! A decision made by `stance label` also says how its paragraph was offered (`order`) and,
//! when a model chose it, what the model said then (`shown`); lines without them (older ones,
//! TSV imports) read as before:
//!
//! ```text
//! {"paragraph":"…","label":"stable",…,"order":"uncertainty","shown":{"experiment":"baseline","trained_on":40,"probabilities":{"fracturing":0.48,"stable":0.52}}}
//! ```
//!
//! The labelling queue (`stance label --queue N`) prints one line per paragraph to label, and
//! `stance label --import` takes them back with a `label` added:
//!
//! ```text
//! {"id":"3f9a0c1d2e4b","article":"…","text":"…","order":"uncertainty","shown":{…}}
//! {"id":"3f9a0c1d2e4b","article":"…","text":"…","order":"uncertainty","shown":{…},"label":"stable","confidence":"low","note":"…"}
//! ```

use std::fmt;

use jiff::Timestamp;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::EntryError;
use super::annotations::{
    Annotation, Annotator, Confidence, Decision, Offered, Order, Retraction, Shown,
};
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
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shown: Option<ShownRecord>,
}

/// `shown` of a decision or a queue line: the model's view when the paragraph was offered.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShownRecord {
    experiment: String,
    trained_on: usize,
    probabilities: ClassProbabilities,
}

/// Probabilities by class name, as a JSON object whose keys keep the experiment's class order.
#[derive(Debug)]
struct ClassProbabilities(Vec<(String, f64)>);

impl Serialize for ClassProbabilities {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (class, probability) in &self.0 {
            map.serialize_entry(class, probability)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ClassProbabilities {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;

        impl<'de> Visitor<'de> for InOrder {
            type Value = ClassProbabilities;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of class names and probabilities")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, f64)> = Vec::new();
                while let Some((class, probability)) = map.next_entry::<String, f64>()? {
                    if entries.iter().any(|(seen, _)| *seen == class) {
                        return Err(serde::de::Error::custom(format_args!(
                            "class `{class}` appears twice"
                        )));
                    }
                    entries.push((class, probability));
                }
                Ok(ClassProbabilities(entries))
            }
        }

        deserializer.deserialize_map(InOrder)
    }
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
    order: Option<String>,
    shown: Option<ShownRecord>,
}

/// A line of the labelling queue, as printed.
#[derive(Debug, Serialize)]
struct QueueRecord<'a> {
    id: &'a str,
    article: &'a str,
    text: &'a str,
    order: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shown: Option<ShownRecord>,
}

/// A line of the labelling queue with its answer, as imported.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnsweredRecord {
    id: String,
    #[serde(default)]
    article: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    shown: Option<ShownRecord>,
    label: String,
    #[serde(default)]
    confidence: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// A labelled queue line, checked against the schema (not yet against the store).
#[derive(Debug)]
pub(super) struct Answer {
    pub id: ParagraphId,
    pub article: Option<String>,
    pub text: Option<String>,
    pub class: super::schema::ClassIdx,
    pub confidence: Confidence,
    pub note: Option<String>,
    pub offered: Option<Offered>,
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
            order: decision.offered().map(|offered| offered.order().as_str()),
            shown: decision
                .offered()
                .and_then(Offered::shown)
                .map(shown_record),
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
            order: None,
            shown: None,
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
            order,
            shown,
            ..
        } => {
            let paragraph = ParagraphId::parse(&paragraph)?;
            let class = resolve_label(schema, &label)?;
            let confidence = parse_confidence(&confidence)?;
            let offered = parse_offered(order, shown, schema)?;
            let decision = Decision::new(paragraph, class, annotator, confidence, time);
            Ok(Annotation::Decision(
                decision.with_note(note).with_offered(offered),
            ))
        }
        _ => Err(EntryError::Malformed(
            "a record is either a decision (paragraph, label, confidence) or a retraction (retract), not a mix"
                .to_owned(),
        )),
    }
}

fn parse_confidence(confidence: &str) -> Result<Confidence, EntryError> {
    Confidence::from_name(confidence).ok_or_else(|| {
        EntryError::Malformed(format!(
            "confidence must be \"high\" or \"low\", not `{confidence}`"
        ))
    })
}

fn shown_record(shown: &Shown) -> ShownRecord {
    ShownRecord {
        experiment: shown.experiment().to_owned(),
        trained_on: shown.trained_on(),
        probabilities: ClassProbabilities(shown.probabilities().to_vec()),
    }
}

/// `order` and `shown` as read: `shown` needs an `order`, names the schema's classes, each
/// once, with probabilities that sum to 1.
fn parse_offered(
    order: Option<String>,
    shown: Option<ShownRecord>,
    schema: &Schema,
) -> Result<Option<Offered>, EntryError> {
    let Some(order) = order else {
        return match shown {
            Some(_) => Err(EntryError::Malformed(
                "`shown` needs the `order` the paragraph was offered in".to_owned(),
            )),
            None => Ok(None),
        };
    };
    let order = Order::from_name(&order).ok_or_else(|| {
        EntryError::Malformed(format!(
            "order must be \"article\", \"random\" or \"uncertainty\", not `{order}`"
        ))
    })?;
    let shown = match shown {
        None => None,
        Some(ShownRecord {
            experiment,
            trained_on,
            probabilities: ClassProbabilities(probabilities),
        }) => {
            for (class, probability) in &probabilities {
                resolve_label(schema, class)?;
                if !(0.0..=1.0).contains(probability) {
                    return Err(EntryError::Malformed(format!(
                        "shown probability of `{class}` is {probability}, not in [0, 1]"
                    )));
                }
            }
            let total: f64 = probabilities.iter().map(|(_, p)| p).sum();
            if probabilities.len() < 2 || (total - 1.0).abs() > 1e-6 {
                return Err(EntryError::Malformed(format!(
                    "shown probabilities must be of two classes or more and sum to 1, not {total}"
                )));
            }
            Some(Shown::new(experiment, trained_on, probabilities))
        }
    };
    Ok(Some(Offered::new(order, shown)))
}

/// The JSON line (with its newline) offering a paragraph of the labelling queue.
pub(super) fn queue_line(paragraph: &Paragraph, offered: &Offered) -> Result<String, EntryError> {
    to_line(&QueueRecord {
        id: paragraph.id().as_str(),
        article: paragraph.article().as_str(),
        text: paragraph.text(),
        order: offered.order().as_str(),
        shown: offered.shown().map(shown_record),
    })
}

/// Parses a queue line with its answer (`label`, optional `confidence` and `note`).
pub(super) fn parse_answer(line: &str, schema: &Schema) -> Result<Answer, EntryError> {
    let record: AnsweredRecord = persist::parse_line(line).map_err(EntryError::Json)?;
    let confidence = match record.confidence.as_deref() {
        None => Confidence::High,
        Some(confidence) => parse_confidence(confidence)?,
    };
    Ok(Answer {
        id: ParagraphId::parse(&record.id)?,
        article: record.article,
        text: record.text,
        class: resolve_label(schema, &record.label)?,
        confidence,
        note: record.note,
        offered: parse_offered(record.order, record.shown, schema)?,
    })
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
    fn how_a_paragraph_was_offered_round_trips_and_is_checked() {
        let shown = r#"{"paragraph":"0123456789ab","label":"stable","annotator":"a","confidence":"high","time":"2024-11-23T12:00:00.000Z","order":"uncertainty","shown":{"experiment":"baseline","trained_on":40,"probabilities":{"stable":0.25,"fracturing":0.75}}}"#;
        // Probabilities keep their class order.
        check(shown, Ok(shown));
        let random = r#"{"paragraph":"0123456789ab","label":"stable","annotator":"a","confidence":"high","time":"2024-11-23T12:00:00.000Z","order":"random"}"#;
        check(random, Ok(random));
        let with = |order: &str, shown: &str| {
            format!(
                r#"{{"paragraph":"0123456789ab","label":"stable","annotator":"a","confidence":"high","time":"2024-11-23T12:00:00Z"{order}{shown}}}"#
            )
        };
        let probabilities = |p: &str| {
            format!(r#","shown":{{"experiment":"x","trained_on":4,"probabilities":{p}}}"#)
        };
        check(
            &with(r#","order":"sideways""#, ""),
            Err("order must be \"article\", \"random\" or \"uncertainty\", not `sideways`"),
        );
        check(
            &with("", &probabilities(r#"{"stable":0.5,"fracturing":0.5}"#)),
            Err("`shown` needs the `order`"),
        );
        let uncertainty = r#","order":"uncertainty""#;
        check(
            &with(uncertainty, &probabilities(r#"{"stable":0.5,"maybe":0.5}"#)),
            Err("unknown label `maybe`"),
        );
        check(
            &with(
                uncertainty,
                &probabilities(r#"{"stable":0.5,"fracturing":0.6}"#),
            ),
            Err("shown probabilities must be of two classes or more and sum to 1, not 1.1"),
        );
        check(
            &with(
                uncertainty,
                &probabilities(r#"{"stable":1.5,"fracturing":-0.5}"#),
            ),
            Err("shown probability of `stable` is 1.5, not in [0, 1]"),
        );
        check(
            &with(
                uncertainty,
                &probabilities(r#"{"stable":0.5,"stable":0.5}"#),
            ),
            Err("not valid JSON: class `stable` appears twice"),
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
