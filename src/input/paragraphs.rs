//! Paragraphs to classify from any number of inputs: files or standard input (`-`), each
//! plain text (a paragraph per line; blank lines skipped, line numbers kept), JSON Lines
//! (the paragraph in a named field) or a whole article (split into paragraphs as
//! `stance ingest` splits it, headings and bylines left out); any of them gzip-compressed.
//!
//! Takes the inputs in order and hands on [`Paragraphs`], a batch of about a given size of
//! text with an id per paragraph: `FILE:LINE`, with articles the paragraph's id, or from JSON
//! Lines the value of an id field; JSON Lines may also keep other fields' values beside each
//! paragraph. An input that gives no paragraph is noted in [`ParagraphInputs::warnings`], not
//! printed.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::pipeline::BatchSource;
use super::{Batch, Decoding, DocumentReader, InputError, InputFormat};
use crate::corpus::{ArticleId, BlockKind, split_article};

/// How each input holds paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParagraphMode {
    /// A paragraph per line; blank lines are skipped.
    Lines,
    /// JSON Lines, the paragraph in `field`; its id from `id_field` (a string, or a number
    /// as written) instead of `FILE:LINE`; the values of the fields in `keep` kept beside it.
    JsonLines {
        field: String,
        id_field: Option<String>,
        keep: Vec<String>,
    },
    /// Each input is an article, named by `id` or else by its file name without extension.
    Articles { id: Option<ArticleId> },
}

impl ParagraphMode {
    /// JSON Lines with the paragraph in `field`, ids `FILE:LINE` and no field kept.
    pub fn json_lines(field: impl Into<String>) -> ParagraphMode {
        ParagraphMode::JsonLines {
            field: field.into(),
            id_field: None,
            keep: Vec::new(),
        }
    }

    /// The names of the fields kept beside each paragraph.
    pub fn kept(&self) -> &[String] {
        match self {
            ParagraphMode::JsonLines { keep, .. } => keep,
            _ => &[],
        }
    }
}

/// Paragraphs back to back in one buffer, with their ids; reused from batch to batch.
#[derive(Debug, Default)]
pub struct Paragraphs {
    text: String,
    ends: Vec<usize>,
    ids: Vec<String>,
    /// The kept fields' values, `per_paragraph` for each paragraph.
    kept: Vec<serde_json::Value>,
    per_paragraph: usize,
}

impl Paragraphs {
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.ids.clear();
        self.kept.clear();
    }

    fn push(&mut self, id: String, text: &str) {
        self.text.push_str(text);
        self.ends.push(self.text.len());
        self.ids.push(id);
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of paragraph text.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Each paragraph's id, in order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The values of the fields kept beside paragraph `i` (`ParagraphMode::kept`, in that
    /// order; null where its record lacks one).
    pub fn kept(&self, i: usize) -> &[serde_json::Value] {
        &self.kept[i * self.per_paragraph..(i + 1) * self.per_paragraph]
    }

    /// Each paragraph's text, in order.
    pub fn texts(&self) -> Vec<&str> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let text = &self.text[start..end];
                start = end;
                text
            })
            .collect()
    }
}

/// The inputs, read in order into batches of paragraphs.
pub struct ParagraphInputs {
    pending: VecDeque<PathBuf>,
    /// Every input's name, for messages.
    names: Vec<String>,
    mode: ParagraphMode,
    decoding: Decoding,
    batch_bytes: usize,
    /// The input being read, its name, and how many paragraphs it has given so far.
    current: Option<(DocumentReader, String, usize)>,
    raw: Batch,
    warnings: Vec<String>,
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn name_of(path: &Path) -> String {
    if is_stdin(path) {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

impl ParagraphInputs {
    /// Read `inputs` (`-` is standard input; none at all means standard input) in batches of
    /// about `batch_bytes` of text. Every file must exist: a missing one is reported before
    /// anything is read, not after the inputs before it.
    pub fn new(
        mut inputs: Vec<PathBuf>,
        mode: ParagraphMode,
        decoding: Decoding,
        batch_bytes: usize,
    ) -> Result<ParagraphInputs, InputError> {
        if inputs.is_empty() {
            inputs.push(PathBuf::from("-"));
        }
        if inputs.iter().filter(|path| is_stdin(path)).count() > 1 {
            return Err(InputError::StdinTwice);
        }
        for path in inputs.iter().filter(|path| !is_stdin(path)) {
            std::fs::metadata(path).map_err(|source| InputError::Io {
                path: path.clone(),
                source,
            })?;
            // A name that says JSON Lines is refused now; a first line that does, on opening.
            if !matches!(mode, ParagraphMode::JsonLines { .. })
                && let Some(reason) = super::looks_like_json_lines(path, b"")
            {
                return Err(InputError::LooksLikeJsonLines {
                    path: path.clone(),
                    reason,
                });
            }
        }
        Ok(ParagraphInputs {
            names: inputs.iter().map(|path| name_of(path)).collect(),
            pending: inputs.into(),
            mode,
            decoding,
            batch_bytes: batch_bytes.max(1),
            current: None,
            raw: Batch::new(),
            warnings: Vec::new(),
        })
    }

    /// Every input's name (`stdin` for standard input), in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn mode(&self) -> &ParagraphMode {
        &self.mode
    }

    /// What the user should know: inputs that gave no paragraph.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn open(&self, path: &Path) -> Result<DocumentReader, InputError> {
        let format = match &self.mode {
            ParagraphMode::JsonLines {
                field,
                id_field,
                keep,
            } => InputFormat::JsonLines {
                field: field.clone(),
                // The id first, then the kept fields.
                also: id_field.iter().chain(keep).cloned().collect(),
            },
            ParagraphMode::Lines | ParagraphMode::Articles { .. } => InputFormat::Lines,
        };
        if is_stdin(path) {
            DocumentReader::stdin(format, self.decoding)
        } else {
            DocumentReader::open(path, format, self.decoding)
        }
    }

    /// Replace `out` with the next paragraphs (about `batch_bytes` of text, possibly from
    /// several inputs); `false` when the inputs are exhausted.
    fn fill(&mut self, out: &mut Paragraphs) -> Result<bool, InputError> {
        out.clear();
        out.per_paragraph = self.mode.kept().len();
        let id_field = match &self.mode {
            ParagraphMode::JsonLines { id_field, .. } => id_field.clone(),
            _ => None,
        };
        while out.text.len() < self.batch_bytes {
            let Some((reader, name, given)) = &mut self.current else {
                let Some(path) = self.pending.pop_front() else {
                    break;
                };
                let reader = self.open(&path)?;
                if let ParagraphMode::Articles { id } = &self.mode {
                    // Articles are small: each is read whole and split as `stance ingest` does.
                    let id = match id {
                        Some(id) => id.clone(),
                        None => article_id(&path)?,
                    };
                    let before = out.len();
                    let text = reader.read_all()?.join("\n");
                    for block in split_article(&id, &text) {
                        if block.kind() == BlockKind::Paragraph {
                            out.push(block.id().as_str().to_owned(), block.text());
                        }
                    }
                    if out.len() == before {
                        self.warnings
                            .push(format!("{}: no paragraphs", name_of(&path)));
                    }
                } else {
                    self.current = Some((reader, name_of(&path), 0));
                }
                continue;
            };
            let budget = self.batch_bytes - out.text.len();
            let more = reader.next_batch(&mut self.raw, budget)?;
            let skip_blank = self.mode == ParagraphMode::Lines;
            let before = out.len();
            for i in 0..self.raw.len() {
                let text = self.raw.get(i);
                if skip_blank && text.trim().is_empty() {
                    continue;
                }
                let also = self.raw.also(i);
                let (id, kept) = match &id_field {
                    Some(field) => (
                        id_of(&also[0]).map_err(|found| {
                            let (path, line, field) = (
                                PathBuf::from(name.as_str()),
                                self.raw.line(i),
                                field.clone(),
                            );
                            match found {
                                None => InputError::MissingField { path, line, field },
                                Some(found) => InputError::NotAnId {
                                    path,
                                    line,
                                    field,
                                    found,
                                },
                            }
                        })?,
                        &also[1..],
                    ),
                    None => (format!("{name}:{}", self.raw.line(i)), also),
                };
                out.push(id, text);
                out.kept.extend_from_slice(kept);
            }
            *given += out.len() - before;
            if !more {
                if *given == 0 {
                    self.warnings.push(format!("{name}: no paragraphs"));
                }
                self.current = None;
            }
        }
        Ok(!out.is_empty())
    }
}

impl BatchSource for ParagraphInputs {
    type Batch = Paragraphs;
    type Error = InputError;

    fn next_batch(&mut self, batch: &mut Paragraphs) -> Result<bool, InputError> {
        self.fill(batch)
    }
}

/// A paragraph's id from its id field: a string as it is, a number as written. Otherwise
/// what the field holds (`None`: nothing, the field is missing or null).
fn id_of(value: &serde_json::Value) -> Result<String, Option<&'static str>> {
    use serde_json::Value;
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Null => Err(None),
        Value::Bool(_) => Err(Some("a boolean")),
        Value::Array(_) => Err(Some("a list")),
        Value::Object(_) => Err(Some("an object")),
    }
}

/// The article id of a file: its name without extension (`stdin` for standard input).
fn article_id(path: &Path) -> Result<ArticleId, InputError> {
    let stem = if is_stdin(path) {
        "stdin".to_owned()
    } else {
        path.file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    ArticleId::new(&stem).map_err(|source| InputError::ArticleName {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// Every batch's `(id, text)` pairs, and the warnings, reading `files` (written to a
    /// temporary directory, in order) in batches of `batch_bytes`.
    fn read(
        files: &[(&str, &str)],
        mode: ParagraphMode,
        batch_bytes: usize,
    ) -> (Vec<Vec<(String, String)>>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = files
            .iter()
            .map(|(name, text)| {
                let path = dir.path().join(name);
                fs::write(&path, text).unwrap();
                path
            })
            .collect();
        let mut inputs = ParagraphInputs::new(paths, mode, Decoding::Strict, batch_bytes).unwrap();
        let mut batches = Vec::new();
        let mut batch = Paragraphs::default();
        while inputs.next_batch(&mut batch).unwrap() {
            let ids = batch.ids().iter().map(|id| {
                // Ids name the file by its full path: keep the file name.
                let name = id.rsplit('/').next().unwrap_or(id);
                name.to_owned()
            });
            batches.push(
                ids.zip(batch.texts().iter().map(|t| t.to_string()))
                    .collect(),
            );
        }
        (batches, inputs.warnings().to_vec())
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn lines_skip_blanks_keep_line_numbers_and_cross_inputs() {
        let (batches, warnings) = read(
            &[
                ("a.txt", "one\n\n  \ntwo\n"),
                ("b.txt", ""),
                ("c.txt", "three"),
            ],
            ParagraphMode::Lines,
            1 << 20,
        );
        assert_eq!(
            batches,
            [pairs(&[
                ("a.txt:1", "one"),
                ("a.txt:4", "two"),
                ("c.txt:1", "three")
            ])]
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].ends_with("b.txt: no paragraphs"),
            "{warnings:?}"
        );

        // Small batches: the same paragraphs, in the same order, a few at a time.
        let (small, _) = read(
            &[
                ("a.txt", "one\n\n  \ntwo\n"),
                ("b.txt", ""),
                ("c.txt", "three"),
            ],
            ParagraphMode::Lines,
            3,
        );
        assert!(small.len() > 1);
        assert_eq!(small.concat(), batches.concat());
    }

    #[test]
    fn json_lines_take_the_field() {
        let (batches, _) = read(
            &[(
                "x.jsonl",
                "{\"text\": \"hello\"}\n\n{\"text\": \"world\", \"n\": 1}\n",
            )],
            ParagraphMode::json_lines("text"),
            1 << 20,
        );
        assert_eq!(
            batches,
            [pairs(&[("x.jsonl:1", "hello"), ("x.jsonl:3", "world")])]
        );
    }

    #[test]
    fn articles_are_split_into_their_paragraphs_with_their_ids() {
        let text = "A Heading\nFirst paragraph, with a full stop.\nSecond one here.\n";
        let (batches, _) = read(
            &[("art.txt", text)],
            ParagraphMode::Articles { id: None },
            1 << 20,
        );
        let id = ArticleId::new("art").unwrap();
        let expected: Vec<(String, String)> = split_article(&id, text)
            .iter()
            .filter(|block| block.kind() == BlockKind::Paragraph)
            .map(|block| (block.id().as_str().to_owned(), block.text().to_owned()))
            .collect();
        assert_eq!(expected.len(), 2);
        assert_eq!(batches, [expected]);
    }

    #[test]
    fn bad_inputs_are_refused_before_reading() {
        let err = ParagraphInputs::new(
            vec!["-".into(), "-".into()],
            ParagraphMode::Lines,
            Decoding::Strict,
            1,
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "standard input (`-`) can be read only once"
        );
        let err = ParagraphInputs::new(
            vec!["/no/such/file.txt".into()],
            ParagraphMode::Lines,
            Decoding::Strict,
            1,
        )
        .err()
        .unwrap();
        assert_eq!(err.to_string(), "cannot read /no/such/file.txt");
    }
}
