//! Streams of documents from a file: one document per line, or JSON Lines with the text in a
//! named field; either may be gzip-compressed (detected by its magic bytes, not its name).
//!
//! Takes a path and hands on [`Batch`]es of documents in file order, a bounded number of bytes
//! at a time, so that a corpus larger than memory can be featurized or classified. Every error
//! carries the file and the line. Invalid UTF-8 is an error unless decoding is lossy (then each
//! bad sequence becomes U+FFFD). This module knows nothing of features or of the terminal.
//!
//! Lines end at `\n` (the last one may lack it); a trailing `\r` is dropped (CRLF files). In
//! plain-text input every line is a document, empty ones included (they become empty rows).
//! In JSON Lines, lines holding only whitespace are skipped: they are not records.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// How each line holds a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// The whole line is the document.
    Lines,
    /// Each line is a JSON object; the document is the string in this field.
    JsonLines { field: String },
}

/// What to do with bytes that are not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoding {
    Strict,
    /// Replace each invalid sequence with U+FFFD, as Python's `errors="replace"`.
    Lossy,
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}:{line}: invalid UTF-8 at byte {byte} of the line (--lossy replaces it)")]
    InvalidUtf8 {
        path: PathBuf,
        line: u64,
        byte: usize,
    },
    #[error("{path}:{line}: invalid JSON record: {source}")]
    Json {
        path: PathBuf,
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}:{line}: no field `{field}`")]
    MissingField {
        path: PathBuf,
        line: u64,
        field: String,
    },
}

/// Documents stored back to back in one buffer, reused from batch to batch.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    text: String,
    ends: Vec<usize>,
    /// Line of the input where each document starts.
    lines: Vec<u64>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Document `i` of the batch. Panics if `i >= len()`, as slice indexing.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The input line document `i` came from (1-based).
    pub fn line(&self, i: usize) -> u64 {
        self.lines[i]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The documents as a slice-friendly vector, for `FeatureSet::fit` and friends.
    pub fn documents(&self) -> Vec<&str> {
        self.iter().collect()
    }

    /// Bytes of document text in the batch.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.lines.clear();
    }

    fn push(&mut self, doc: &str, line: u64) {
        self.text.push_str(doc);
        self.ends.push(self.text.len());
        self.lines.push(line);
    }
}

/// Reads a file of documents batch by batch.
pub struct DocumentReader {
    path: PathBuf,
    source: Box<dyn BufRead + Send>,
    format: InputFormat,
    decoding: Decoding,
    line: u64,
    buffer: Vec<u8>,
}

impl fmt::Debug for DocumentReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const READ_BUFFER: usize = 1 << 20;

impl DocumentReader {
    /// Open `path`, decompressing it if it starts with the gzip magic bytes.
    pub fn open(
        path: &Path,
        format: InputFormat,
        decoding: Decoding,
    ) -> Result<DocumentReader, InputError> {
        let io_error = |source| InputError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let mut raw = BufReader::with_capacity(READ_BUFFER, file);
        let gzipped = raw.fill_buf().map_err(io_error)?.starts_with(&GZIP_MAGIC);
        let source: Box<dyn BufRead + Send> = if gzipped {
            Box::new(BufReader::with_capacity(
                READ_BUFFER,
                MultiGzDecoder::new(raw),
            ))
        } else {
            Box::new(raw)
        };
        Ok(DocumentReader::from_reader(path, source, format, decoding))
    }

    /// Read documents from `source`; `path` names it in errors.
    pub fn from_reader(
        path: &Path,
        source: Box<dyn BufRead + Send>,
        format: InputFormat,
        decoding: Decoding,
    ) -> DocumentReader {
        DocumentReader {
            path: path.to_path_buf(),
            source,
            format,
            decoding,
            line: 0,
            buffer: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every remaining document, in order (for inputs known to be small).
    pub fn read_all(mut self) -> Result<Vec<String>, InputError> {
        let mut batch = Batch::new();
        let mut docs = Vec::new();
        while self.next_batch(&mut batch, READ_BUFFER)? {
            docs.extend(batch.iter().map(String::from));
        }
        Ok(docs)
    }

    /// Replace `batch` with the next documents, stopping after about `target_bytes` of text.
    /// Returns `false` (and an empty batch) at the end of the input.
    pub fn next_batch(
        &mut self,
        batch: &mut Batch,
        target_bytes: usize,
    ) -> Result<bool, InputError> {
        batch.clear();
        while batch.text_len() < target_bytes.max(1) {
            self.buffer.clear();
            let read = self
                .source
                .read_until(b'\n', &mut self.buffer)
                .map_err(|source| InputError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            self.line += 1;
            let mut line = self.buffer.as_slice();
            line = line.strip_suffix(b"\n").unwrap_or(line);
            line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = self.decode(line)?;
            match &self.format {
                InputFormat::Lines => batch.push(&text, self.line),
                InputFormat::JsonLines { field } => {
                    if text.trim().is_empty() {
                        continue;
                    }
                    let doc = extract_field(text.as_bytes(), field).map_err(|err| match err {
                        FieldError::Missing => InputError::MissingField {
                            path: self.path.clone(),
                            line: self.line,
                            field: field.clone(),
                        },
                        FieldError::Json(source) => InputError::Json {
                            path: self.path.clone(),
                            line: self.line,
                            source,
                        },
                    })?;
                    batch.push(&doc, self.line);
                }
            }
        }
        Ok(!batch.is_empty())
    }

    fn decode<'a>(&self, line: &'a [u8]) -> Result<Cow<'a, str>, InputError> {
        match std::str::from_utf8(line) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            Err(err) => match self.decoding {
                Decoding::Lossy => Ok(String::from_utf8_lossy(line)),
                Decoding::Strict => Err(InputError::InvalidUtf8 {
                    path: self.path.clone(),
                    line: self.line,
                    byte: err.valid_up_to() + 1,
                }),
            },
        }
    }
}

enum FieldError {
    Missing,
    Json(serde_json::Error),
}

/// The string in `field` of the JSON object `line`, without building the other fields.
fn extract_field<'a>(line: &'a [u8], field: &str) -> Result<Cow<'a, str>, FieldError> {
    let mut deserializer = serde_json::Deserializer::from_slice(line);
    let found = FieldSeed { field }
        .deserialize(&mut deserializer)
        .and_then(|found| deserializer.end().map(|()| found))
        .map_err(FieldError::Json)?;
    found.ok_or(FieldError::Missing)
}

struct FieldSeed<'f> {
    field: &'f str,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == self.field {
                if found.is_some() {
                    return Err(de::Error::custom(format_args!(
                        "duplicate field `{}`",
                        self.field
                    )));
                }
                found = Some(map.next_value::<TextValue<'de>>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A JSON string, borrowed from the line when it has no escapes.
struct TextValue<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for TextValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = TextValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TextValue(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TextValue(Cow::Owned(v.to_string())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(TextValue(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], format: InputFormat, decoding: Decoding) -> Result<Vec<String>, String> {
        let source = Box::new(io::Cursor::new(bytes.to_vec()));
        DocumentReader::from_reader(Path::new("in.txt"), source, format, decoding)
            .read_all()
            .map_err(|e| e.to_string())
    }

    fn check_lines(bytes: &[u8], expected: &[&str]) {
        assert_eq!(
            read(bytes, InputFormat::Lines, Decoding::Strict).unwrap(),
            expected,
            "{bytes:?}"
        );
    }

    fn jsonl(field: &str) -> InputFormat {
        InputFormat::JsonLines {
            field: field.to_string(),
        }
    }

    #[test]
    fn lines_keep_empty_documents_but_not_the_final_newline() {
        check_lines(b"", &[]);
        check_lines(b"\n", &[""]);
        check_lines(b"a\nb", &["a", "b"]);
        check_lines(b"a\nb\n", &["a", "b"]);
        check_lines(b"a\n\nb\n", &["a", "", "b"]);
        check_lines(b"a\r\nb\r\n\r\n", &["a", "b", ""]);
        check_lines(b"a\n\n", &["a", ""]);
    }

    #[test]
    fn invalid_utf8_names_the_line_unless_lossy() {
        let bytes = b"ok\nbad \xff here\n";
        assert_eq!(
            read(bytes, InputFormat::Lines, Decoding::Strict).unwrap_err(),
            "in.txt:2: invalid UTF-8 at byte 5 of the line (--lossy replaces it)"
        );
        assert_eq!(
            read(bytes, InputFormat::Lines, Decoding::Lossy).unwrap(),
            ["ok", "bad \u{FFFD} here"]
        );
    }

    #[test]
    fn json_lines_take_the_named_field() {
        let bytes = b"{\"id\": 1, \"text\": \"caf\\u00e9 \\\"x\\\"\", \"n\": [1, {\"a\": null}]}\n\n  \n{\"text\": \"plain\"}\n";
        assert_eq!(
            read(bytes, jsonl("text"), Decoding::Strict).unwrap(),
            ["café \"x\"", "plain"]
        );
        assert_eq!(
            read(
                b"{\"text\": \"a\"}\n{\"body\": \"b\"}\n",
                jsonl("text"),
                Decoding::Strict
            )
            .unwrap_err(),
            "in.txt:2: no field `text`"
        );
        for bad in [
            &b"[1, 2]\n"[..],
            b"{\"text\": 3}\n",
            b"{\"text\": \"a\"} x\n",
            b"{\"text\": \"a\", \"text\": \"b\"}\n",
        ] {
            let err = read(bad, jsonl("text"), Decoding::Strict).unwrap_err();
            assert!(err.starts_with("in.txt:1: invalid JSON record"), "{err}");
        }
    }

    #[test]
    fn batches_are_bounded_and_keep_line_numbers() {
        let mut reader = DocumentReader::from_reader(
            Path::new("in.txt"),
            Box::new(&b"aaaa\nbbbb\n\ncccc\n"[..]),
            InputFormat::Lines,
            Decoding::Strict,
        );
        let mut batch = Batch::new();
        let mut seen = Vec::new();
        while reader.next_batch(&mut batch, 5).unwrap() {
            assert!(batch.len() <= 2);
            seen.extend((0..batch.len()).map(|i| (batch.get(i).to_string(), batch.line(i))));
        }
        let expected = [("aaaa", 1), ("bbbb", 2), ("", 3), ("cccc", 4)];
        assert_eq!(seen, expected.map(|(d, l)| (d.to_string(), l)));
    }
}
