//! Predicting, streamed: paragraphs in (batch by batch), one line per paragraph out, in input
//! order. While one batch is featurized, scored and formatted on every core, the next is
//! read; each batch's lines are written before the next batch's.
//!
//! Two output formats, each line holding the paragraph's id, the predicted class and one
//! probability per class, and with `explain` the explanation (see `model::predict`):
//!
//! - TSV, with a header: `id KEPT… predicted p:CLASS… [explained versus logit intercept rest
//!   terms]`, the terms as `term ±contribution` joined by `, `. Tabs and line breaks in a field
//!   become spaces. Numbers are written as JSON writes them (the shortest form that reads
//!   back); a kept field's string as it is, any other value as JSON, null as nothing.
//! - JSON Lines: `{"id", KEPT…, "predicted", "probabilities": {CLASS: p…}, "explanation":
//!   {"class", "versus", "logit", "intercept", "terms": [{"term", "value", "weight",
//!   "contribution"}…], "rest", "note"?}}`.
//!
//! KEPT are the fields of JSON Lines input passed through (`ParagraphMode::kept`). With
//! `digits`, probabilities are rounded to that many decimals first.
//!
//! A paragraph with no known term is predicted from the intercept alone, and says so.

use std::fmt::Write as _;
use std::io::Write;

use rayon::prelude::*;
use serde::Serialize;
use serde::ser::SerializeMap;

use super::ApplyError;
use crate::input::{ParagraphInputs, ParagraphMode, Paragraphs, pipelined};
use crate::model::{Explanation, Scored};
use crate::trained::TrainedModel;

/// Predictions formatted per parallel task.
const ROWS_PER_TASK: usize = 256;

const NO_TERMS: &str = "no known terms: predicted from the intercept alone";

/// How predictions are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Tab-separated, with a header line.
    Tsv,
    /// One JSON object per paragraph.
    Jsonl,
}

/// What to write per paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictOptions {
    pub format: OutputFormat,
    /// Explain each prediction with this many columns toward each side.
    pub explain: Option<usize>,
    /// Round probabilities to this many decimals.
    pub digits: Option<u32>,
}

/// What was predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredictSummary {
    pub paragraphs: usize,
    /// Bytes of paragraph text.
    pub text_bytes: usize,
    /// Paragraphs more than [`FAR_LONGER`] times as long as the longest the model was
    /// trained on (none counted when the model file does not say how long that was).
    pub far_longer: usize,
}

/// A paragraph this many times as long as the longest training paragraph is far from what
/// the model has seen (whole articles given to a model of paragraphs, say).
pub const FAR_LONGER: usize = 2;

/// Predict every paragraph of `inputs` with `model`, writing a line per paragraph to `out` in
/// input order. No paragraph at all is an error. On an error, the batches before the one
/// that failed have been written, and nothing of it.
pub fn predict(
    model: &TrainedModel,
    inputs: &mut ParagraphInputs,
    options: &PredictOptions,
    out: &mut dyn Write,
) -> Result<PredictSummary, ApplyError> {
    let mut summary = PredictSummary {
        paragraphs: 0,
        text_bytes: 0,
        far_longer: 0,
    };
    let kept = inputs.mode().kept().to_vec();
    let longest = model
        .provenance()
        .longest_paragraph
        .map(|chars| chars * FAR_LONGER);
    pipelined(
        inputs,
        |paragraphs: &Paragraphs| format_batch(model, paragraphs, &kept, options),
        |paragraphs, lines| {
            // The header comes with the first lines: no paragraphs, no output.
            if summary.paragraphs == 0 && options.format == OutputFormat::Tsv {
                let header = tsv_header(model.classes(), &kept, options.explain.is_some());
                out.write_all(header.as_bytes())
                    .map_err(ApplyError::Output)?;
            }
            for chunk in lines {
                out.write_all(&chunk).map_err(ApplyError::Output)?;
            }
            summary.paragraphs += paragraphs.len();
            summary.text_bytes += paragraphs.text_len();
            if let Some(limit) = longest {
                // Bytes bound characters from above: count characters only where needed.
                summary.far_longer += paragraphs
                    .texts()
                    .iter()
                    .filter(|text| text.len() > limit && text.chars().count() > limit)
                    .count();
            }
            Ok(())
        },
    )?;
    out.flush().map_err(ApplyError::Output)?;
    if summary.paragraphs == 0 {
        return Err(ApplyError::NoParagraphs {
            inputs: inputs.names().join(", "),
            blank_lines_skipped: *inputs.mode() == ParagraphMode::Lines,
        });
    }
    Ok(summary)
}

/// Featurize, score and format one batch; the chunks of lines come back in input order.
fn format_batch(
    model: &TrainedModel,
    paragraphs: &Paragraphs,
    kept: &[String],
    options: &PredictOptions,
) -> Result<Vec<Vec<u8>>, ApplyError> {
    let texts = paragraphs.texts();
    let matrix = model.transform(&texts);
    let mut scored = model.score(&matrix, options.explain)?;
    for (scored, id) in scored.iter().zip(paragraphs.ids()) {
        if let Some(&probability) = scored.probabilities.iter().find(|p| !p.is_finite()) {
            return Err(ApplyError::NotFinite {
                id: id.to_string(),
                probability,
            });
        }
    }
    if let Some(digits) = options.digits {
        let scale = 10f64.powi(digits as i32);
        for row in &mut scored {
            for p in &mut row.probabilities {
                *p = (*p * scale).round() / scale;
            }
        }
    }
    let starts: Vec<usize> = (0..scored.len()).step_by(ROWS_PER_TASK).collect();
    starts
        .par_iter()
        .map(|&start| {
            let end = (start + ROWS_PER_TASK).min(scored.len());
            let mut buffer = Vec::with_capacity((end - start) * 64);
            for i in start..end {
                let row = Row {
                    id: &paragraphs.ids()[i],
                    kept: Kept {
                        names: kept,
                        values: paragraphs.kept(i),
                    },
                    scored: &scored[i],
                };
                write_row(&mut buffer, model, options.format, texts[i], &row)?;
            }
            Ok(buffer)
        })
        .collect()
}

/// What one line says: the paragraph's id, the fields kept beside it, its prediction.
struct Row<'a> {
    id: &'a str,
    kept: Kept<'a>,
    scored: &'a Scored,
}

/// Kept fields' names and one paragraph's values of them.
#[derive(Clone, Copy)]
struct Kept<'a> {
    names: &'a [String],
    values: &'a [serde_json::Value],
}

/// The line of one paragraph (`text`) in `format`.
fn write_row(
    buffer: &mut Vec<u8>,
    model: &TrainedModel,
    format: OutputFormat,
    text: &str,
    row: &Row,
) -> Result<(), ApplyError> {
    let names = match &row.scored.explanation {
        Some(explanation) => model.term_names(text, explanation),
        None => Vec::new(),
    };
    match format {
        OutputFormat::Tsv => {
            tsv_row(buffer, model.classes(), row, &names);
            Ok(())
        }
        OutputFormat::Jsonl => jsonl_row(buffer, model.classes(), row, &names),
    }
}

fn tsv_header(classes: &[String], kept: &[String], explain: bool) -> String {
    let mut header = String::from("id");
    for name in kept {
        let _ = write!(header, "\t{}", tsv_field(name));
    }
    header.push_str("\tpredicted");
    for class in classes {
        let _ = write!(header, "\tp:{}", tsv_field(class));
    }
    if explain {
        header.push_str("\texplained\tversus\tlogit\tintercept\trest\tterms");
    }
    header.push('\n');
    header
}

/// Tabs and line breaks would break the table; a term or file name may hold them.
fn tsv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\t', '\n', '\r']) {
        text.replace(['\t', '\n', '\r'], " ").into()
    } else {
        text.into()
    }
}

/// A number as JSON writes it: the shortest form that reads back the same, `1e-20` style.
fn push_number(buffer: &mut Vec<u8>, value: f64) {
    if serde_json::to_writer(&mut *buffer, &value).is_err() {
        buffer.extend_from_slice(value.to_string().as_bytes());
    }
}

/// The TSV line of one paragraph; `names` are those of its explanation's terms.
fn tsv_row(buffer: &mut Vec<u8>, classes: &[String], row: &Row, names: &[String]) {
    let scored = row.scored;
    buffer.extend_from_slice(tsv_field(row.id).as_bytes());
    for value in row.kept.values {
        buffer.push(b'\t');
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) => buffer.extend_from_slice(tsv_field(text).as_bytes()),
            other => buffer.extend_from_slice(tsv_field(&other.to_string()).as_bytes()),
        }
    }
    buffer.push(b'\t');
    buffer.extend_from_slice(tsv_field(&classes[scored.predicted]).as_bytes());
    for &p in &scored.probabilities {
        buffer.push(b'\t');
        push_number(buffer, p);
    }
    if let Some(explanation) = &scored.explanation {
        for field in [&classes[explanation.class], &classes[explanation.versus]] {
            buffer.push(b'\t');
            buffer.extend_from_slice(tsv_field(field).as_bytes());
        }
        for value in [explanation.logit, explanation.intercept, explanation.rest] {
            buffer.push(b'\t');
            push_number(buffer, value);
        }
        buffer.push(b'\t');
        if explanation.known_terms == 0 {
            let _ = write!(buffer, "({NO_TERMS})");
        }
        for (i, (term, name)) in explanation.terms.iter().zip(names).enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            let _ = write!(
                buffer,
                "{separator}{} {:+.4}",
                tsv_field(name),
                term.contribution
            );
        }
    }
    buffer.push(b'\n');
}

/// One JSON Lines record; the field order is the documented one.
#[derive(Serialize)]
struct JsonRow<'a> {
    id: &'a str,
    #[serde(flatten)]
    kept: Kept<'a>,
    predicted: &'a str,
    probabilities: ClassMap<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<JsonExplanation<'a>>,
}

impl Serialize for Kept<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.names.len()))?;
        for (name, value) in self.names.iter().zip(self.values) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Class name → probability, in class order.
struct ClassMap<'a> {
    classes: &'a [String],
    values: &'a [f64],
}

impl Serialize for ClassMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.classes.len()))?;
        for (class, value) in self.classes.iter().zip(self.values) {
            map.serialize_entry(class, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct JsonExplanation<'a> {
    class: &'a str,
    versus: &'a str,
    logit: f64,
    intercept: f64,
    terms: Vec<JsonTerm<'a>>,
    rest: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonTerm<'a> {
    term: &'a str,
    value: f64,
    weight: f64,
    contribution: f64,
}

fn json_explanation<'a>(
    classes: &'a [String],
    explanation: &'a Explanation,
    names: &'a [String],
) -> JsonExplanation<'a> {
    JsonExplanation {
        class: &classes[explanation.class],
        versus: &classes[explanation.versus],
        logit: explanation.logit,
        intercept: explanation.intercept,
        terms: explanation
            .terms
            .iter()
            .zip(names)
            .map(|(term, name)| JsonTerm {
                term: name,
                value: term.value,
                weight: term.weight,
                contribution: term.contribution,
            })
            .collect(),
        rest: explanation.rest,
        note: (explanation.known_terms == 0).then_some(NO_TERMS),
    }
}

/// The JSON line of one paragraph; `names` are those of its explanation's terms.
fn jsonl_row(
    buffer: &mut Vec<u8>,
    classes: &[String],
    row: &Row,
    names: &[String],
) -> Result<(), ApplyError> {
    let scored = row.scored;
    let row = JsonRow {
        id: row.id,
        kept: row.kept,
        predicted: &classes[scored.predicted],
        probabilities: ClassMap {
            classes,
            values: &scored.probabilities,
        },
        explanation: scored
            .explanation
            .as_ref()
            .map(|explanation| json_explanation(classes, explanation, names)),
    };
    serde_json::to_writer(&mut *buffer, &row).map_err(ApplyError::Json)?;
    buffer.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Contribution;

    fn classes() -> Vec<String> {
        vec!["fracturing".to_owned(), "stable".to_owned()]
    }

    /// `stable` at 0.75, explained against `fracturing`: logit ln 3 = 0.5 (intercept) + 1
    /// (`aa`, 2 × 0.5) − 0.25 (a term with a tab in its name) + rest.
    fn explained() -> (Scored, Vec<String>) {
        let logit = 3f64.ln();
        let scored = Scored {
            predicted: 1,
            probabilities: vec![0.25, 0.75],
            explanation: Some(Explanation {
                class: 1,
                versus: 0,
                logit,
                intercept: 0.5,
                terms: vec![
                    Contribution {
                        column: 0,
                        value: 2.0,
                        weight: 0.5,
                        contribution: 1.0,
                    },
                    Contribution {
                        column: 3,
                        value: 1.0,
                        weight: -0.25,
                        contribution: -0.25,
                    },
                ],
                rest: logit - 1.25,
                known_terms: 3,
            }),
        };
        (scored, vec!["aa".to_owned(), "b\tb".to_owned()])
    }

    /// A paragraph without a known term: 0.4 / 0.6 from the intercept.
    fn unknown() -> Scored {
        Scored {
            predicted: 1,
            probabilities: vec![0.4, 0.6],
            explanation: Some(Explanation {
                class: 1,
                versus: 0,
                logit: 0.4054651081081644,
                intercept: 0.4054651081081644,
                terms: Vec::new(),
                rest: 0.0,
                known_terms: 0,
            }),
        }
    }

    const NOTHING_KEPT: Kept = Kept {
        names: &[],
        values: &[],
    };

    fn row<'a>(id: &'a str, kept: Kept<'a>, scored: &'a Scored) -> Row<'a> {
        Row { id, kept, scored }
    }

    fn tsv(id: &str, scored: &Scored, names: &[String]) -> String {
        tsv_kept(id, NOTHING_KEPT, scored, names)
    }

    fn tsv_kept(id: &str, kept: Kept, scored: &Scored, names: &[String]) -> String {
        let mut buffer = Vec::new();
        tsv_row(&mut buffer, &classes(), &row(id, kept, scored), names);
        String::from_utf8(buffer).unwrap()
    }

    fn jsonl(id: &str, scored: &Scored, names: &[String]) -> String {
        jsonl_kept(id, NOTHING_KEPT, scored, names)
    }

    fn jsonl_kept(id: &str, kept: Kept, scored: &Scored, names: &[String]) -> String {
        let mut buffer = Vec::new();
        jsonl_row(&mut buffer, &classes(), &row(id, kept, scored), names).unwrap();
        String::from_utf8(buffer).unwrap()
    }

    #[test]
    fn kept_fields_follow_the_id() {
        let (mut scored, _) = explained();
        scored.explanation = None;
        let names = ["url".to_owned(), "n".to_owned(), "gone".to_owned()];
        let values = [
            serde_json::json!("http://x/a\tb"),
            serde_json::json!(7),
            serde_json::Value::Null,
        ];
        let kept = Kept {
            names: &names,
            values: &values,
        };
        assert_eq!(
            tsv_header(&classes(), &names, false),
            "id\turl\tn\tgone\tpredicted\tp:fracturing\tp:stable\n"
        );
        assert_eq!(
            tsv_kept("a1", kept, &scored, &[]),
            "a1\thttp://x/a b\t7\t\tstable\t0.25\t0.75\n"
        );
        assert_eq!(
            jsonl_kept("a1", kept, &scored, &[]),
            concat!(
                r#"{"id":"a1","url":"http://x/a\tb","n":7,"gone":null,"predicted":"stable","#,
                r#""probabilities":{"fracturing":0.25,"stable":0.75}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn tsv_has_a_header_and_a_line_per_paragraph() {
        assert_eq!(
            tsv_header(&classes(), &[], false),
            "id\tpredicted\tp:fracturing\tp:stable\n"
        );
        assert_eq!(
            tsv_header(&classes(), &[], true),
            "id\tpredicted\tp:fracturing\tp:stable\texplained\tversus\tlogit\tintercept\trest\tterms\n"
        );
        let (mut scored, names) = explained();
        let rest = 3f64.ln() - 1.25;
        assert_eq!(
            tsv("a.txt:1", &scored, &names),
            format!(
                "a.txt:1\tstable\t0.25\t0.75\tstable\tfracturing\t{}\t0.5\t{rest}\taa +1.0000, b b -0.2500\n",
                3f64.ln()
            )
        );
        scored.explanation = None;
        assert_eq!(tsv("x\ty", &scored, &[]), "x y\tstable\t0.25\t0.75\n");
        assert_eq!(
            tsv("p", &unknown(), &[]),
            "p\tstable\t0.4\t0.6\tstable\tfracturing\t0.4054651081081644\t0.4054651081081644\t0.0\t(no known terms: predicted from the intercept alone)\n"
        );
    }

    #[test]
    fn json_lines_hold_the_documented_fields_in_order() {
        let (mut scored, names) = explained();
        let rest = 3f64.ln() - 1.25;
        assert_eq!(
            jsonl("a.txt:1", &scored, &names),
            format!(
                concat!(
                    r#"{{"id":"a.txt:1","predicted":"stable","probabilities":{{"fracturing":0.25,"stable":0.75}},"#,
                    r#""explanation":{{"class":"stable","versus":"fracturing","logit":{},"intercept":0.5,"#,
                    r#""terms":[{{"term":"aa","value":2.0,"weight":0.5,"contribution":1.0}},"#,
                    r#"{{"term":"b\tb","value":1.0,"weight":-0.25,"contribution":-0.25}}],"rest":{}}}}}"#,
                    "\n"
                ),
                3f64.ln(),
                rest
            )
        );
        scored.explanation = None;
        assert_eq!(
            jsonl("p", &scored, &[]),
            "{\"id\":\"p\",\"predicted\":\"stable\",\"probabilities\":{\"fracturing\":0.25,\"stable\":0.75}}\n"
        );
        assert_eq!(
            jsonl("p", &unknown(), &[]),
            concat!(
                r#"{"id":"p","predicted":"stable","probabilities":{"fracturing":0.4,"stable":0.6},"#,
                r#""explanation":{"class":"stable","versus":"fracturing","logit":0.4054651081081644,"#,
                r#""intercept":0.4054651081081644,"terms":[],"rest":0.0,"#,
                r#""note":"no known terms: predicted from the intercept alone"}}"#,
                "\n"
            )
        );
    }
}
