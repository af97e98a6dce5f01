//! Streams of documents from a file: one document per line, or JSON Lines with the text in a
//! named field; either may be gzip-compressed (detected by its magic bytes, not its name).
//!
//! Takes a path and hands on [`Batch`]es of documents in file order, a bounded number of bytes
//! at a time, so that a corpus larger than memory can be featurized or classified. Every error
//! carries the file and the line. Invalid UTF-8 is an error unless decoding is lossy (then each
//! bad sequence becomes U+FFFD). This module knows nothing of features or of the terminal.
//!
//! An uncompressed plain-text file is memory-mapped, a window per batch, rather than copied
//! into a buffer (as ripgrep does; a batch's window is unmapped when the batch is reused, so
//! memory stays bounded). Like ripgrep, this assumes the file does not change while it is
//! being read.
//!
//! Lines end at `\n` (the last one may lack it); a trailing `\r` is dropped (CRLF files). In
//! plain-text input every line is a document, empty ones included (they become empty rows).
//! In JSON Lines, lines holding only whitespace are skipped: they are not records.
//!
//! Beside the reader: [`ParagraphInputs`] reads paragraphs to classify from several inputs
//! (files or standard input; lines, JSON Lines or whole articles split as `stance ingest`
//! splits them), and [`pipelined`] overlaps reading the next batch with work on the current
//! one, for featurizing and predicting alike; [`scan_articles`] reads a corpus of articles in
//! JSON Lines and keeps those with candidate paragraphs, for `stance ingest`.

mod articles;
mod paragraphs;
mod pipeline;

pub use articles::{ArticleFields, Scan, scan_articles};
pub use paragraphs::{ParagraphInputs, ParagraphMode, Paragraphs};
pub use pipeline::{BatchSource, Batches, pipelined};

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use memmap2::{Mmap, MmapOptions};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// How each line holds a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// The whole line is the document.
    Lines,
    /// Each line is a JSON object; the document is the string in `field`. The values of the
    /// fields in `also` (null when absent) are kept beside it ([`Batch::also`]).
    JsonLines { field: String, also: Vec<String> },
}

impl InputFormat {
    /// JSON Lines with the document in `field`, and no other field kept.
    pub fn json_lines(field: impl Into<String>) -> InputFormat {
        InputFormat::JsonLines {
            field: field.into(),
            also: Vec::new(),
        }
    }
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
    #[error("cannot read {path}")]
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
    #[error("{path}:{line}: invalid JSON record")]
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
    /// The id field (`--id-field`) holds no string or number: `found` is what it holds.
    #[error("{path}:{line}: the id field `{field}` holds {found}, not a string or a number")]
    NotAnId {
        path: PathBuf,
        line: u64,
        field: String,
        found: &'static str,
    },
    /// Read as one document per line, the input looks like JSON Lines: its documents would
    /// be whole records, keys and all.
    #[error(
        "{path} looks like JSON Lines ({reason}): pass --field NAME to read each document from a field"
    )]
    LooksLikeJsonLines { path: PathBuf, reason: String },
    #[error(
        "{path}:{line}: the line is longer than {}, the most one document may hold (is this a \
         file of text?)",
        crate::persist::Bytes(*limit as u64)
    )]
    LineTooLong {
        path: PathBuf,
        line: u64,
        limit: usize,
    },
    #[error("{path}:{line}: the line is {found}, not a JSON object")]
    NotAnObject {
        path: PathBuf,
        line: u64,
        found: &'static str,
    },
    #[error("{path}:{line}: field `{field}` is {found}, not {expected}")]
    WrongField {
        path: PathBuf,
        line: u64,
        field: String,
        found: &'static str,
        expected: String,
    },
    #[error("{path}:{line}: field `{field}` cannot name an article")]
    BadArticleId {
        path: PathBuf,
        line: u64,
        field: String,
        #[source]
        source: crate::corpus::CorpusError,
    },
    #[error("{path}:{line}: article `{id}` was already read at line {first}")]
    RepeatedArticle {
        path: PathBuf,
        line: u64,
        id: String,
        first: u64,
    },
    #[error("standard input (`-`) can be read only once")]
    StdinTwice,
    #[error("{path}: its file name cannot be an article id")]
    ArticleName {
        path: PathBuf,
        #[source]
        source: crate::corpus::CorpusError,
    },
}

/// Documents in one buffer, reused from batch to batch.
#[derive(Debug, Default)]
pub struct Batch {
    /// The text the documents are cut from (for plain lines, the file's bytes themselves).
    text: BatchText,
    /// Where each document is in `text`.
    spans: Vec<(usize, usize)>,
    /// Line of the input where each document starts.
    lines: Vec<u64>,
    /// JSON Lines: the values of the fields kept beside each document, `per_document` each.
    also: Vec<serde_json::Value>,
    per_document: usize,
    document_bytes: usize,
}

/// Where a batch's text is: a window of the file when it is mapped, else its own buffer.
#[derive(Debug, Default)]
struct BatchText {
    owned: String,
    /// The first `len` bytes of a window of the file, checked to be UTF-8.
    mapped: Option<(Mmap, usize)>,
}

impl BatchText {
    fn as_str(&self) -> &str {
        match &self.mapped {
            // SAFETY: `push_lines` checked that these bytes are UTF-8 before the map was kept,
            // which is read-only; the file does not change while it is read (module docs).
            Some((map, len)) => unsafe { std::str::from_utf8_unchecked(&map[..*len]) },
            None => &self.owned,
        }
    }

    /// The owned buffer (a mapped window is given up).
    fn owned(&mut self) -> &mut String {
        self.mapped = None;
        &mut self.owned
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Document `i` of the batch. Panics if `i >= len()`, as slice indexing.
    pub fn get(&self, i: usize) -> &str {
        let (start, end) = self.spans[i];
        &self.text.as_str()[start..end]
    }

    /// The input line document `i` came from (1-based).
    pub fn line(&self, i: usize) -> u64 {
        self.lines[i]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The values of the fields kept beside document `i` (`InputFormat::JsonLines`'s `also`,
    /// in that order; null where a record lacks one). Empty for other formats.
    pub fn also(&self, i: usize) -> &[serde_json::Value] {
        &self.also[i * self.per_document..(i + 1) * self.per_document]
    }

    /// The documents as a slice-friendly vector, for `FeatureConfig::fit` and friends.
    pub fn documents(&self) -> Vec<&str> {
        self.iter().collect()
    }

    /// Bytes of document text in the batch.
    pub fn text_len(&self) -> usize {
        self.document_bytes
    }

    fn clear(&mut self) {
        self.text.owned().clear();
        self.spans.clear();
        self.lines.clear();
        self.also.clear();
        self.per_document = 0;
        self.document_bytes = 0;
    }

    /// Add a document that is `text[start..end]`.
    fn push_span(&mut self, start: usize, end: usize, line: u64) {
        self.spans.push((start, end));
        self.lines.push(line);
        self.document_bytes += end - start;
    }

    /// Add a document by copying it to the end of `text`.
    fn push(&mut self, doc: &str, line: u64) {
        let text = self.text.owned();
        let start = text.len();
        text.push_str(doc);
        let end = text.len();
        self.push_span(start, end, line);
    }
}

/// The file at `path` as it reads, decompressed if it starts with the gzip magic bytes.
pub fn open_decompressed(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let mut raw = BufReader::with_capacity(MIN_READ, File::open(path)?);
    let gzipped = is_gzipped(&mut raw)?;
    Ok(decompressed(raw, gzipped))
}

/// Whether the input starts with the gzip magic bytes (looked at, not consumed): the one
/// place compression is detected, for files and standard input alike.
fn is_gzipped<R: Read>(raw: &mut BufReader<R>) -> io::Result<bool> {
    Ok(raw.fill_buf()?.starts_with(&GZIP_MAGIC))
}

/// Why an input named `name` whose (decompressed) text starts with `head` looks like JSON
/// Lines rather than one document per line, or `None`: the one place that decides it, for
/// every command that reads documents or articles. Its name says so (`.jsonl`, `.ndjson`,
/// gzipped or not), or its first line is a JSON object (or, longer than `head`, starts
/// like one: `{"`).
pub fn looks_like_json_lines(name: &Path, head: &[u8]) -> Option<String> {
    let file_name = name.file_name()?.to_string_lossy().to_lowercase();
    let stem = file_name.strip_suffix(".gz").unwrap_or(&file_name);
    for extension in [".jsonl", ".ndjson"] {
        if stem.ends_with(extension) {
            return Some(format!("its name ends in {extension}"));
        }
    }
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let first_line = head[start..].split(|&b| b == b'\n').next()?;
    if !first_line.starts_with(b"{") {
        return None;
    }
    let complete = head[start..].contains(&b'\n');
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(first_line) {
        Ok(record) => {
            const SHOWN: usize = 6;
            let mut keys: Vec<String> = record
                .keys()
                .take(SHOWN)
                .map(|k| format!("`{k}`"))
                .collect();
            if record.len() > SHOWN {
                keys.push(format!("… {} in all", record.len()));
            }
            Some(if keys.is_empty() {
                "its first line is a JSON object".to_owned()
            } else {
                format!(
                    "its first line is a JSON object with keys {}",
                    keys.join(", ")
                )
            })
        }
        Err(_) if !complete && first_line.trim_ascii_start().starts_with(b"{\"") => {
            Some("its first line starts like a JSON object".to_owned())
        }
        Err(_) => None,
    }
}

/// The whole file at `path`, decompressed if it starts with the gzip magic bytes: for inputs
/// read whole (an article to ingest).
pub fn read_decompressed(path: &Path) -> io::Result<Vec<u8>> {
    let mut raw = BufReader::with_capacity(MIN_READ, File::open(path)?);
    let gzipped = is_gzipped(&mut raw)?;
    let mut bytes = Vec::new();
    decompressed(raw, gzipped).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Refuse to read `path` line by line when it looks like JSON Lines (`head`: its first bytes).
fn refuse_json_lines(path: &Path, head: &[u8]) -> Result<(), InputError> {
    match looks_like_json_lines(path, head) {
        Some(reason) => Err(InputError::LooksLikeJsonLines {
            path: path.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The input as it reads, decompressed when `gzipped`.
fn decompressed<R: Read + Send + 'static>(
    raw: BufReader<R>,
    gzipped: bool,
) -> Box<dyn BufRead + Send> {
    if gzipped {
        Box::new(BufReader::with_capacity(
            READ_BUFFER,
            MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    }
}

/// The lines of `bytes` as `(start, end)` (without the `\n`, nor a `\r` before it); the
/// last line counts only if it is not empty.
fn line_spans(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    let mut start = 0;
    ends.filter_map(move |end| {
        let line = (start, end);
        start = end + 1;
        (line.0 < line.1 || end < bytes.len()).then_some(line)
    })
    .map(|(start, end)| match bytes[start..end] {
        [.., b'\r'] => (start, end - 1),
        _ => (start, end),
    })
}

/// Reads a file of documents batch by batch.
pub struct DocumentReader {
    path: PathBuf,
    source: Box<dyn BufRead + Send>,
    format: InputFormat,
    decoding: Decoding,
    line: u64,
    buffer: Vec<u8>,
    /// Plain lines: bytes read past the last line end of the previous batch.
    carry: Vec<u8>,
    at_end: bool,
    /// An uncompressed plain-text file, read by mapping it.
    mapped: Option<MappedFile>,
    /// The longest line accepted ([`MAX_LINE`]).
    max_line: usize,
}

/// A file read through one memory map per batch, from `position` to `len`.
struct MappedFile {
    file: File,
    len: usize,
    position: usize,
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
/// Plain lines are read at least this much at a time.
const MIN_READ: usize = 64 << 10;
/// The longest line (one document, or one JSON record) read: far beyond any text, it stops
/// an input that never ends a line (`/dev/zero`, a binary file) before memory runs out.
pub const MAX_LINE: usize = 64 << 20;

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
        // Plain lines are read in blocks larger than this buffer, which they bypass: it only
        // serves the magic-byte check, JSON Lines and the decompressor's input.
        let mut raw = BufReader::with_capacity(MIN_READ, file);
        let gzipped = is_gzipped(&mut raw).map_err(io_error)?;
        if format == InputFormat::Lines && !gzipped {
            refuse_json_lines(path, raw.fill_buf().map_err(io_error)?)?;
        }
        let mapped = if gzipped || format != InputFormat::Lines {
            None
        } else {
            let file = raw.get_ref();
            let metadata = file.metadata().map_err(io_error)?;
            let len = usize::try_from(metadata.len()).unwrap_or(usize::MAX);
            // Pipes and the like cannot be mapped; nor can an empty file.
            let clone = (metadata.is_file() && len > 0).then(|| file.try_clone());
            let file = clone.transpose().map_err(io_error)?;
            file.map(|file| MappedFile {
                file,
                len,
                position: 0,
            })
        };
        let mut source = decompressed(raw, gzipped);
        if format == InputFormat::Lines && gzipped {
            refuse_json_lines(path, source.fill_buf().map_err(io_error)?)?;
        }
        let mut reader = DocumentReader::from_reader(path, source, format, decoding);
        reader.mapped = mapped;
        Ok(reader)
    }

    /// Read standard input (named `stdin` in errors), decompressing it if it starts with the
    /// gzip magic bytes.
    pub fn stdin(format: InputFormat, decoding: Decoding) -> Result<DocumentReader, InputError> {
        let path = Path::new("stdin");
        let mut raw = BufReader::with_capacity(READ_BUFFER, io::stdin());
        let io_error = |source| InputError::Io {
            path: path.to_path_buf(),
            source,
        };
        let gzipped = is_gzipped(&mut raw).map_err(io_error)?;
        let mut source = decompressed(raw, gzipped);
        if format == InputFormat::Lines {
            refuse_json_lines(path, source.fill_buf().map_err(io_error)?)?;
        }
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
            carry: Vec::new(),
            at_end: false,
            mapped: None,
            max_line: MAX_LINE,
        }
    }

    /// The same reader with another limit on a line's length (for tests).
    #[cfg(test)]
    fn with_max_line(mut self, max_line: usize) -> DocumentReader {
        self.max_line = max_line;
        self
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
        match &self.format {
            InputFormat::Lines => self.next_lines(batch, target_bytes.max(1))?,
            InputFormat::JsonLines { field, also } => {
                let (field, also) = (field.clone(), also.clone());
                batch.per_document = also.len();
                self.next_records(batch, target_bytes.max(1), &field, &also)?
            }
        }
        Ok(!batch.is_empty())
    }

    /// Plain lines: read a block of about `target` bytes straight into the batch's buffer,
    /// up to a line end, and cut the documents out of it where they are. Checking
    /// UTF-8 once per block and finding line ends with `memchr` is much cheaper than line by
    /// line; only a block with invalid UTF-8 goes line by line, to name the line or to
    /// replace the bad bytes.
    fn next_lines(&mut self, batch: &mut Batch, target: usize) -> Result<(), InputError> {
        if self.mapped.is_some() {
            return self.next_mapped_lines(batch, target);
        }
        let mut bytes = std::mem::take(batch.text.owned()).into_bytes();
        bytes.clear();
        // Room for the block at once: growing by copying would touch fresh pages twice.
        bytes.reserve(target + MIN_READ);
        bytes.append(&mut self.carry);
        // Cut after the first line end at or past `target` bytes.
        let mut searched = target - 1;
        // The line that holds byte `target - 1` may be no longer than `max_line` from there.
        let too_long = |bytes: &[u8], line_end: usize| {
            let from = (target - 1).min(bytes.len());
            (line_end - from > self.max_line).then(|| InputError::LineTooLong {
                path: self.path.clone(),
                line: self.line + memchr::memchr_iter(b'\n', &bytes[..from]).count() as u64 + 1,
                limit: self.max_line,
            })
        };
        let cut = loop {
            if bytes.len() > searched {
                if let Some(i) = memchr::memchr(b'\n', &bytes[searched..]) {
                    if let Some(err) = too_long(&bytes, searched + i) {
                        return Err(err);
                    }
                    break searched + i + 1;
                }
                searched = bytes.len();
            }
            if let Some(err) = too_long(&bytes, bytes.len()) {
                return Err(err);
            }
            if self.at_end {
                break bytes.len();
            }
            let want = target.saturating_sub(bytes.len()).max(MIN_READ);
            let read = (&mut self.source)
                .take(want as u64)
                .read_to_end(&mut bytes)
                .map_err(|source| InputError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            self.at_end = read < want;
        };
        self.carry.extend_from_slice(&bytes[cut..]);
        bytes.truncate(cut);
        if self.push_lines(batch, &bytes)? {
            // SAFETY: `push_lines` found `bytes` to be valid UTF-8.
            batch.text.owned = unsafe { String::from_utf8_unchecked(bytes) };
        }
        Ok(())
    }

    /// The lines of `bytes` into `batch`. When `bytes` is valid UTF-8 (checked with simdutf8,
    /// several times faster than std on ASCII-heavy text), only their places are added and
    /// `true` says the caller must make `bytes` the batch's text; otherwise each line is
    /// decoded (an error or U+FFFD) and copied into the batch's own buffer.
    fn push_lines(&mut self, batch: &mut Batch, bytes: &[u8]) -> Result<bool, InputError> {
        let valid = simdutf8::basic::from_utf8(bytes).is_ok();
        for (start, end) in line_spans(bytes) {
            self.line += 1;
            if valid {
                batch.push_span(start, end, self.line);
            } else {
                let text = self.decode(&bytes[start..end])?;
                batch.push(&text, self.line);
            }
        }
        Ok(valid)
    }

    /// Plain lines of a mapped file: map a window of about `target` bytes, up to a line end,
    /// check it is UTF-8 and cut the documents out of it where they are. A window with
    /// invalid UTF-8 goes line by line into the batch's own buffer, as read blocks do.
    fn next_mapped_lines(&mut self, batch: &mut Batch, target: usize) -> Result<(), InputError> {
        let Some(mapped) = &mut self.mapped else {
            return Ok(());
        };
        let remaining = mapped.len - mapped.position;
        if remaining == 0 {
            return Ok(());
        }
        let io_error = |source| InputError::Io {
            path: self.path.clone(),
            source,
        };
        // Widen the window until it holds a line end at or past `target` bytes, or the end.
        let mut window = remaining.min(target.saturating_add(MIN_READ));
        let (map, cut) = loop {
            // SAFETY: a read-only map of a file that does not change while it is read
            // (module docs); its bytes are only ever read.
            let map = unsafe {
                MmapOptions::new()
                    .offset(mapped.position as u64)
                    .len(window)
                    .populate()
                    .map(&mapped.file)
            }
            .map_err(io_error)?;
            let from = (target - 1).min(window);
            let line_end = memchr::memchr(b'\n', &map[from..]);
            if line_end.unwrap_or(window - from) > self.max_line {
                return Err(InputError::LineTooLong {
                    path: self.path.clone(),
                    line: self.line + memchr::memchr_iter(b'\n', &map[..from]).count() as u64 + 1,
                    limit: self.max_line,
                });
            }
            if let Some(i) = line_end {
                break (map, from + i + 1);
            }
            if window == remaining {
                break (map, window);
            }
            window = remaining.min(window.saturating_mul(2));
        };
        mapped.position += cut;
        if self.push_lines(batch, &map[..cut])? {
            batch.text.mapped = Some((map, cut));
        }
        Ok(())
    }

    /// JSON Lines: one record per line, each document taken out of its record.
    fn next_records(
        &mut self,
        batch: &mut Batch,
        target: usize,
        field: &str,
        also: &[String],
    ) -> Result<(), InputError> {
        while batch.text_len() < target {
            self.buffer.clear();
            let read = (&mut self.source)
                .take(self.max_line as u64 + 1)
                .read_until(b'\n', &mut self.buffer)
                .map_err(|source| InputError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            self.line += 1;
            if read > self.max_line && !self.buffer.ends_with(b"\n") {
                return Err(InputError::LineTooLong {
                    path: self.path.clone(),
                    line: self.line,
                    limit: self.max_line,
                });
            }
            let mut line = self.buffer.as_slice();
            line = line.strip_suffix(b"\n").unwrap_or(line);
            line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = self.decode(line)?;
            if text.trim().is_empty() {
                continue;
            }
            let doc =
                extract_fields(text.as_bytes(), field, also, &mut batch.also).map_err(|err| {
                    match err {
                        FieldError::Missing => InputError::MissingField {
                            path: self.path.clone(),
                            line: self.line,
                            field: field.to_string(),
                        },
                        FieldError::Json(source) => InputError::Json {
                            path: self.path.clone(),
                            line: self.line,
                            source,
                        },
                    }
                })?;
            batch.push(&doc, self.line);
        }
        Ok(())
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

/// The string in `field` of the JSON object `line`, without building the other fields but
/// those in `also`, whose values (null when absent) are appended to `kept` in that order.
fn extract_fields<'a>(
    line: &'a [u8],
    field: &str,
    also: &[String],
    kept: &mut Vec<serde_json::Value>,
) -> Result<Cow<'a, str>, FieldError> {
    let mut deserializer = serde_json::Deserializer::from_slice(line);
    let mut values = vec![serde_json::Value::Null; also.len()];
    let found = FieldSeed {
        field,
        also,
        values: &mut values,
    }
    .deserialize(&mut deserializer)
    .and_then(|found| deserializer.end().map(|()| found))
    .map_err(FieldError::Json)?;
    let found = found.ok_or(FieldError::Missing)?;
    kept.extend(values);
    Ok(found)
}

struct FieldSeed<'f> {
    field: &'f str,
    also: &'f [String],
    values: &'f mut [serde_json::Value],
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
                let text = map.next_value::<TextValue<'de>>()?.0;
                if let Some(i) = self.also.iter().position(|name| name == self.field) {
                    self.values[i] = serde_json::Value::String(text.clone().into_owned());
                }
                found = Some(text);
            } else if let Some(i) = self.also.iter().position(|name| *name == key) {
                self.values[i] = map.next_value()?;
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

    /// `bytes` in a temporary file, opened as `stance` opens input (plain lines are mapped).
    fn file_of(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temporary file");
        io::Write::write_all(&mut file, bytes).expect("write");
        file
    }

    /// The documents of `bytes`, read from memory; reading them from a file gives the same.
    fn read(bytes: &[u8], format: InputFormat, decoding: Decoding) -> Result<Vec<String>, String> {
        let source = Box::new(io::Cursor::new(bytes.to_vec()));
        let from_memory =
            DocumentReader::from_reader(Path::new("in.txt"), source, format.clone(), decoding)
                .read_all()
                .map_err(|e| e.to_string());
        let file = file_of(bytes);
        let from_file = DocumentReader::open(file.path(), format, decoding)
            .and_then(DocumentReader::read_all)
            .map_err(|e| {
                e.to_string()
                    .replace(&file.path().display().to_string(), "in.txt")
            });
        assert_eq!(from_file, from_memory, "from a file and from memory");
        from_memory
    }

    #[test]
    fn a_line_that_never_ends_is_refused_naming_it() {
        let mut bytes = b"short\nalso short\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 1000));
        bytes.extend_from_slice(b"\nafter\n");
        let file = file_of(&bytes);
        let jsonl = {
            let mut text = b"{\"t\": \"a\"}\n{\"t\": \"b\"}\n{\"t\": \"".to_vec();
            text.extend(std::iter::repeat_n(b'y', 1000));
            text.extend_from_slice(b"\"}\n");
            text
        };
        let readers = [
            // A mapped file, a stream (as gzip or a pipe gives), JSON Lines.
            DocumentReader::open(file.path(), InputFormat::Lines, Decoding::Strict).unwrap(),
            DocumentReader::from_reader(
                Path::new("in.txt"),
                Box::new(io::Cursor::new(bytes.clone())),
                InputFormat::Lines,
                Decoding::Strict,
            ),
            DocumentReader::from_reader(
                Path::new("in.txt"),
                Box::new(io::Cursor::new(jsonl)),
                jsonl_field("t"),
                Decoding::Strict,
            ),
        ];
        for reader in readers {
            let mut reader = reader.with_max_line(100);
            let mut batch = Batch::new();
            let err = loop {
                match reader.next_batch(&mut batch, 8) {
                    Ok(true) => continue,
                    Ok(false) => panic!("read to the end"),
                    Err(err) => break err,
                }
            };
            let message = err
                .to_string()
                .replace(&file.path().display().to_string(), "in.txt");
            assert_eq!(
                message,
                "in.txt:3: the line is longer than 100 bytes, the most one document may hold (is \
                 this a file of text?)"
            );
        }
        // Lines up to the limit are read.
        let ok = b"abc\n".repeat(10);
        let reader = DocumentReader::from_reader(
            Path::new("in.txt"),
            Box::new(io::Cursor::new(ok)),
            InputFormat::Lines,
            Decoding::Strict,
        );
        assert_eq!(reader.with_max_line(4).read_all().unwrap().len(), 10);
    }

    fn jsonl_field(field: &str) -> InputFormat {
        InputFormat::json_lines(field)
    }

    fn check_lines(bytes: &[u8], expected: &[&str]) {
        assert_eq!(
            read(bytes, InputFormat::Lines, Decoding::Strict).unwrap(),
            expected,
            "{bytes:?}"
        );
    }

    fn jsonl(field: &str) -> InputFormat {
        InputFormat::json_lines(field)
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

    fn check_sniff(name: &str, head: &str, expected: Option<&str>) {
        assert_eq!(
            looks_like_json_lines(Path::new(name), head.as_bytes()).as_deref(),
            expected,
            "{name}: {head:?}"
        );
    }

    #[test]
    fn json_lines_are_told_by_name_or_first_line() {
        check_sniff("a.jsonl", "", Some("its name ends in .jsonl"));
        check_sniff("dir/A.JSONL.gz", "x", Some("its name ends in .jsonl"));
        check_sniff("a.ndjson", "x", Some("its name ends in .ndjson"));
        check_sniff(
            "corpus.txt.gz",
            "\n {\"id\": 1, \"text\": \"a\"}\n{\"id\": 2}\n",
            Some("its first line is a JSON object with keys `id`, `text`"),
        );
        check_sniff(
            "big",
            "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7}",
            Some(
                "its first line is a JSON object with keys `a`, `b`, `c`, `d`, `e`, `f`, … 7 in all",
            ),
        );
        check_sniff(
            "cut",
            "{\"text\": \"a line longer than what was read",
            Some("its first line starts like a JSON object"),
        );
        // Text that merely starts with a brace, and ordinary text, is text.
        check_sniff("notes.txt", "{braces} are fine\n", None);
        check_sniff("notes.txt", "{\"quoted\" but not json}\nmore\n", None);
        check_sniff("notes.txt", "Kim meets Putin\n{\"id\": 1}\n", None);
        check_sniff("empty.txt", "", None);
    }

    #[test]
    fn json_lines_read_as_lines_are_refused() {
        let file = file_of(b"{\"id\": 1, \"text\": \"hello\"}\n");
        let err = DocumentReader::open(file.path(), InputFormat::Lines, Decoding::Strict)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "looks like JSON Lines (its first line is a JSON object with keys `id`, \
                 `text`): pass --field NAME to read each document from a field"
            ),
            "{err}"
        );
        // With its field, it reads.
        let docs = DocumentReader::open(file.path(), jsonl("text"), Decoding::Strict)
            .and_then(DocumentReader::read_all)
            .unwrap();
        assert_eq!(docs, ["hello"]);
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

    /// Every document with its line number, read in batches of about `target` bytes, from
    /// memory and from a (mapped) file alike.
    fn read_batched(bytes: &[u8], target: usize) -> Vec<(String, u64)> {
        let from_memory = DocumentReader::from_reader(
            Path::new("in.txt"),
            Box::new(io::Cursor::new(bytes.to_vec())),
            InputFormat::Lines,
            Decoding::Strict,
        );
        let file = file_of(bytes);
        let from_file =
            DocumentReader::open(file.path(), InputFormat::Lines, Decoding::Strict).expect("open");
        let [seen, from_file] = [from_memory, from_file].map(|mut reader| {
            let mut batch = Batch::new();
            let mut seen = Vec::new();
            while reader.next_batch(&mut batch, target).unwrap() {
                let text: usize = batch.iter().map(str::len).sum();
                assert_eq!(batch.text_len(), text);
                seen.extend((0..batch.len()).map(|i| (batch.get(i).to_string(), batch.line(i))));
            }
            seen
        });
        assert_eq!(from_file, seen, "from a file and from memory");
        seen
    }

    /// Lines as `str::split` sees them: a final line end ends the last line, it does not
    /// start an empty one; a `\r` before a line end goes.
    fn split_lines(text: &str) -> Vec<(String, u64)> {
        let mut lines: Vec<&str> = text.split('\n').collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.strip_suffix('\r').unwrap_or(l).to_string(), i as u64 + 1))
            .collect()
    }

    proptest::proptest! {
        /// Wherever the batch boundaries fall, the documents are the lines.
        #[test]
        fn batches_cut_lines_wherever_they_fall(
            lines in proptest::collection::vec("[ab\r é]{0,6}", 0..30),
            final_newline: bool,
            target in 1usize..40,
        ) {
            let mut text = lines.join("\n");
            if final_newline {
                text.push('\n');
            }
            proptest::prop_assert_eq!(read_batched(text.as_bytes(), target), split_lines(&text));
        }
    }

    #[test]
    fn batches_larger_than_one_read_keep_every_line() {
        let text: String = (0..3000)
            .map(|i| format!("line {i} {}\n", "x".repeat(i % 170)))
            .collect();
        for target in [1, 70_000, 1 << 20] {
            assert_eq!(read_batched(text.as_bytes(), target), split_lines(&text));
        }
        // A line longer than a batch's first window (mapped: the window widens).
        let long = format!(
            "short\n{}\nshort again\n{}",
            "y".repeat(300_000),
            "z".repeat(70_000)
        );
        for target in [1, 10, 100_000] {
            assert_eq!(read_batched(long.as_bytes(), target), split_lines(&long));
        }
    }

    #[test]
    fn invalid_utf8_deep_in_a_block_names_its_line() {
        let mut bytes = b"fine\n".repeat(20_000);
        bytes.extend_from_slice(b"ok \xc3 not\r\nlast");
        let err = read(&bytes, InputFormat::Lines, Decoding::Strict).unwrap_err();
        assert_eq!(
            err,
            "in.txt:20001: invalid UTF-8 at byte 4 of the line (--lossy replaces it)"
        );
        let docs = read(&bytes, InputFormat::Lines, Decoding::Lossy).unwrap();
        assert_eq!(docs.len(), 20_002);
        assert_eq!(docs[20_000], "ok \u{FFFD} not");
        assert_eq!(docs[20_001], "last");
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
