//! Labelled records from a file: a CSV, TSV or JSON Lines file (optionally gzipped) in,
//! [`ImportedRow`]s (text, label, and the optional id, group and split) out, in file order.
//!
//! - CSV is RFC 4180 (the `csv` crate): quoted fields may hold commas, doubled quotes and
//!   newlines; a record's line is the line it starts on.
//! - TSV is split on tabs only, as SemEval-2016 ships it: quotes are ordinary characters and
//!   a record is one line (`\n` or `\r\n`).
//! - JSON Lines: one object per line, the fields are keys; strings and numbers are accepted.
//!
//! The first two bytes tell whether the file is gzipped, whatever its name. Text is UTF-8
//! (a leading byte-order mark is dropped) unless an [`Encoding`] says windows-1252 or
//! latin-1; each field is decoded on its own, which is exact for these single-byte encodings.
//! Columns are found by their header name (CSV and TSV) or key (JSON Lines). Every error
//! names the file, the line and the column or key. Blank lines of TSV and JSON Lines are
//! skipped; an empty text or label is an error.
//!
//! This module reads the one file it is given and hands on rows: it knows nothing of the
//! label store, its ids or its schema.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

/// How the file holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    JsonLines,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::JsonLines => "jsonl",
        }
    }

    /// `csv`, `tsv` or `jsonl` (also `ndjson`).
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "tsv" => Some(Format::Tsv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }

    /// The format a file name says, a `.gz` ending aside: `.csv`, `.tsv` / `.tab`, `.jsonl`
    /// / `.ndjson`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let extension = name.rsplit_once('.')?.1;
        match extension {
            "tab" => Some(Format::Tsv),
            other => Format::parse(other),
        }
    }

    /// What a field is called in messages.
    fn field_noun(self) -> &'static str {
        match self {
            Format::Csv | Format::Tsv => "column",
            Format::JsonLines => "key",
        }
    }
}

/// The character encoding of the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    #[default]
    Utf8,
    /// Windows code page 1252 (as WHATWG defines it; also what browsers call latin-1).
    Windows1252,
    /// ISO 8859-1: each byte is the code point of the same number.
    Latin1,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
            Encoding::Latin1 => "latin-1",
        }
    }

    /// `utf-8`, `windows-1252` (`cp1252`) or `latin-1` (`latin1`, `iso-8859-1`), any case.
    pub fn parse(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "windows-1252" | "cp1252" => Some(Encoding::Windows1252),
            "latin-1" | "latin1" | "iso-8859-1" => Some(Encoding::Latin1),
            _ => None,
        }
    }

    /// The field's text, or the offset of the first byte that is not UTF-8.
    fn decode(self, bytes: &[u8]) -> Result<String, usize> {
        match self {
            Encoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => Ok(text.to_owned()),
                Err(err) => Err(err.valid_up_to()),
            },
            Encoding::Windows1252 => Ok(encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned()),
            Encoding::Latin1 => Ok(encoding_rs::mem::decode_latin1(bytes).into_owned()),
        }
    }
}

/// Which columns (or keys) hold what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub text: String,
    pub label: String,
    pub id: Option<String>,
    pub group: Option<String>,
    pub split: Option<String>,
}

/// How to read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSpec {
    pub format: Format,
    pub encoding: Encoding,
    pub columns: Columns,
}

/// One record of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRow {
    /// The line the record starts on (1-based).
    pub line: u64,
    pub text: String,
    pub label: String,
    pub id: Option<String>,
    pub group: Option<String>,
    pub split: Option<String>,
}

/// Why a file could not be read, with the file, line and column or key.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}: cannot read the file", path.display())]
    IoAt {
        path: PathBuf,
        line: u64,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}: malformed CSV", path.display())]
    Csv {
        path: PathBuf,
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error("{}: the file is empty (no header line)", path.display())]
    NoHeader { path: PathBuf },
    #[error("{}:1: no column `{column}` in the header (it has {})", path.display(), found.join(", "))]
    MissingColumn {
        path: PathBuf,
        column: String,
        found: Vec<String>,
    },
    #[error("{}:1: column `{column}` appears twice in the header", path.display())]
    DuplicateColumn { path: PathBuf, column: String },
    #[error("{}:{line}: {found} fields, but the header has {expected}", path.display())]
    FieldCount {
        path: PathBuf,
        line: u64,
        found: usize,
        expected: usize,
    },
    #[error(
        "{}:{line}: {noun} `{field}`: not valid UTF-8 (byte {offset} of the field); if the file is in another encoding, pass --encoding windows-1252 or latin-1",
        path.display()
    )]
    NotUtf8 {
        path: PathBuf,
        line: u64,
        noun: &'static str,
        field: String,
        offset: usize,
    },
    #[error("{}:{line}: not a valid JSON object", path.display())]
    Json {
        path: PathBuf,
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}:{line}: no key `{key}`", path.display())]
    MissingKey {
        path: PathBuf,
        line: u64,
        key: String,
    },
    #[error("{}:{line}: key `{key}` is {found}, not a string or number", path.display())]
    NotText {
        path: PathBuf,
        line: u64,
        key: String,
        found: &'static str,
    },
    #[error("{}:{line}: {noun} `{field}` is empty", path.display())]
    Empty {
        path: PathBuf,
        line: u64,
        noun: &'static str,
        field: String,
    },
    #[error("{}: no records", path.display())]
    NoRows { path: PathBuf },
}

/// Reads every row of `path`.
pub fn read_rows(path: &Path, spec: &ReadSpec) -> Result<Vec<ImportedRow>, ReadError> {
    let io_error = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let reader = crate::input::open_decompressed(path).map_err(io_error)?;
    rows_from_reader(path, reader, spec)
}

/// Reads every row from `reader` (already decompressed); `path` only names it in errors.
pub fn rows_from_reader<R: BufRead>(
    path: &Path,
    reader: R,
    spec: &ReadSpec,
) -> Result<Vec<ImportedRow>, ReadError> {
    let rows = match spec.format {
        Format::Csv => csv_rows(path, reader, spec)?,
        Format::Tsv => tsv_rows(path, reader, spec)?,
        Format::JsonLines => json_rows(path, reader, spec)?,
    };
    if rows.is_empty() {
        return Err(ReadError::NoRows {
            path: path.to_owned(),
        });
    }
    Ok(rows)
}

/// Where each wanted column is in a header row.
struct Positions {
    text: usize,
    label: usize,
    id: Option<usize>,
    group: Option<usize>,
    split: Option<usize>,
    width: usize,
}

impl Positions {
    fn find(path: &Path, header: &[String], columns: &Columns) -> Result<Positions, ReadError> {
        let find = |column: &str| -> Result<usize, ReadError> {
            let mut at = header
                .iter()
                .enumerate()
                .filter(|(_, name)| *name == column);
            match (at.next(), at.next()) {
                (Some((index, _)), None) => Ok(index),
                (Some(_), Some(_)) => Err(ReadError::DuplicateColumn {
                    path: path.to_owned(),
                    column: column.to_owned(),
                }),
                (None, _) => Err(ReadError::MissingColumn {
                    path: path.to_owned(),
                    column: column.to_owned(),
                    found: header.iter().map(|name| format!("`{name}`")).collect(),
                }),
            }
        };
        let optional = |column: &Option<String>| column.as_deref().map(find).transpose();
        Ok(Positions {
            text: find(&columns.text)?,
            label: find(&columns.label)?,
            id: optional(&columns.id)?,
            group: optional(&columns.group)?,
            split: optional(&columns.split)?,
            width: header.len(),
        })
    }
}

/// Turns one record's raw fields into a row: decodes the wanted ones, checks text and label.
struct RowMaker<'a> {
    path: &'a Path,
    spec: &'a ReadSpec,
    positions: Positions,
}

impl RowMaker<'_> {
    fn make(&self, line: u64, fields: &[&[u8]]) -> Result<ImportedRow, ReadError> {
        if fields.len() != self.positions.width {
            return Err(ReadError::FieldCount {
                path: self.path.to_owned(),
                line,
                found: fields.len(),
                expected: self.positions.width,
            });
        }
        let columns = &self.spec.columns;
        let decode = |index: usize, name: &str| -> Result<String, ReadError> {
            self.spec
                .encoding
                .decode(fields[index])
                .map_err(|offset| ReadError::NotUtf8 {
                    path: self.path.to_owned(),
                    line,
                    noun: "column",
                    field: name.to_owned(),
                    offset,
                })
        };
        let optional = |index: Option<usize>, name: &Option<String>| -> Result<_, ReadError> {
            match (index, name) {
                (Some(index), Some(name)) => decode(index, name).map(Some),
                _ => Ok(None),
            }
        };
        let row = ImportedRow {
            line,
            text: decode(self.positions.text, &columns.text)?,
            label: decode(self.positions.label, &columns.label)?,
            id: optional(self.positions.id, &columns.id)?,
            group: optional(self.positions.group, &columns.group)?,
            split: optional(self.positions.split, &columns.split)?,
        };
        check_row(self.path, self.spec.format, columns, row)
    }
}

/// Text and label must not be blank.
fn check_row(
    path: &Path,
    format: Format,
    columns: &Columns,
    row: ImportedRow,
) -> Result<ImportedRow, ReadError> {
    let empty = |field: &str| ReadError::Empty {
        path: path.to_owned(),
        line: row.line,
        noun: format.field_noun(),
        field: field.to_owned(),
    };
    if row.text.trim().is_empty() {
        return Err(empty(&columns.text));
    }
    if row.label.trim().is_empty() {
        return Err(empty(&columns.label));
    }
    Ok(row)
}

fn decode_header(
    path: &Path,
    encoding: Encoding,
    fields: &[&[u8]],
) -> Result<Vec<String>, ReadError> {
    fields
        .iter()
        .enumerate()
        .map(|(index, bytes)| {
            let bytes = if index == 0 {
                bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
            } else {
                bytes
            };
            encoding.decode(bytes).map_err(|offset| ReadError::NotUtf8 {
                path: path.to_owned(),
                line: 1,
                noun: "column",
                field: format!("#{}", index + 1),
                offset,
            })
        })
        .collect()
}

/// A reader that notes where its line ends are, so that a CSV record's line can be told from
/// its byte offset (the `csv` crate's own line count goes wrong after `\r\n` and blank lines).
struct LineEnds<R> {
    inner: R,
    offset: u64,
    /// Offsets of every `\n` and of every `\r`, ascending.
    newlines: Vec<u64>,
    returns: Vec<u64>,
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &byte) in buf[..n].iter().enumerate() {
            match byte {
                b'\n' => self.newlines.push(self.offset + i as u64),
                b'\r' => self.returns.push(self.offset + i as u64),
                _ => {}
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R> LineEnds<R> {
    /// The 1-based line of a record the `csv` crate says starts at `byte`: line ends
    /// before it are skipped first (the crate may point at the `\n` of a `\r\n`, or at a
    /// blank line, which is no record).
    fn line_of(&self, mut byte: u64) -> u64 {
        while self.newlines.binary_search(&byte).is_ok()
            || self.returns.binary_search(&byte).is_ok()
        {
            byte += 1;
        }
        1 + self.newlines.partition_point(|&at| at < byte) as u64
    }
}

fn csv_rows<R: Read>(
    path: &Path,
    reader: R,
    spec: &ReadSpec,
) -> Result<Vec<ImportedRow>, ReadError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineEnds {
            inner: reader,
            offset: 0,
            newlines: Vec::new(),
            returns: Vec::new(),
        });
    let mut record = csv::ByteRecord::new();
    let csv_error = |source: csv::Error, line: u64| {
        if !source.is_io_error() {
            return ReadError::Csv {
                path: path.to_owned(),
                line,
                source,
            };
        }
        let source = match source.into_kind() {
            csv::ErrorKind::Io(source) => source,
            other => io::Error::other(format!("{other:?}")),
        };
        ReadError::IoAt {
            path: path.to_owned(),
            line,
            source,
        }
    };
    let read_next = |csv: &mut csv::Reader<LineEnds<R>>, record: &mut csv::ByteRecord| {
        let start = csv.position().byte();
        csv.read_byte_record(record)
            .map_err(|err| csv_error(err, csv.get_ref().line_of(start)))
    };
    if !read_next(&mut csv, &mut record)? {
        return Err(ReadError::NoHeader {
            path: path.to_owned(),
        });
    }
    let header = decode_header(path, spec.encoding, &record.iter().collect::<Vec<_>>())?;
    let maker = RowMaker {
        path,
        spec,
        positions: Positions::find(path, &header, &spec.columns)?,
    };
    let mut rows = Vec::new();
    while read_next(&mut csv, &mut record)? {
        let start = record.position().map_or(0, csv::Position::byte);
        let line = csv.get_ref().line_of(start);
        let fields: Vec<&[u8]> = record.iter().collect();
        rows.push(maker.make(line, &fields)?);
    }
    Ok(rows)
}

/// Lines of `reader` with their 1-based numbers, without `\n` or `\r\n`.
struct Lines<R> {
    reader: R,
    buffer: Vec<u8>,
    line: u64,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            buffer: Vec::new(),
            line: 0,
        }
    }

    fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        self.buffer.clear();
        if self.reader.read_until(b'\n', &mut self.buffer)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        let mut line = self.buffer.as_slice();
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.line == 1 {
            line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        }
        Ok(Some((self.line, line)))
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn tsv_rows<R: BufRead>(
    path: &Path,
    reader: R,
    spec: &ReadSpec,
) -> Result<Vec<ImportedRow>, ReadError> {
    let mut lines = Lines::new(reader);
    let io_error = |line: u64, source| ReadError::IoAt {
        path: path.to_owned(),
        line,
        source,
    };
    let header = match lines.next_line().map_err(|e| io_error(1, e))? {
        Some((_, line)) if !is_blank(line) => {
            let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
            decode_header(path, spec.encoding, &fields)?
        }
        _ => {
            return Err(ReadError::NoHeader {
                path: path.to_owned(),
            });
        }
    };
    let maker = RowMaker {
        path,
        spec,
        positions: Positions::find(path, &header, &spec.columns)?,
    };
    let mut rows = Vec::new();
    loop {
        let upcoming = lines.line + 1;
        let next = lines.next_line().map_err(|e| io_error(upcoming, e))?;
        let Some((number, line)) = next else { break };
        if is_blank(line) {
            continue;
        }
        let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        rows.push(maker.make(number, &fields)?);
    }
    Ok(rows)
}

fn json_rows<R: BufRead>(
    path: &Path,
    reader: R,
    spec: &ReadSpec,
) -> Result<Vec<ImportedRow>, ReadError> {
    let mut lines = Lines::new(reader);
    let columns = &spec.columns;
    let mut rows = Vec::new();
    loop {
        let upcoming = lines.line + 1;
        let next = lines.next_line().map_err(|source| ReadError::IoAt {
            path: path.to_owned(),
            line: upcoming,
            source,
        })?;
        let Some((number, line)) = next else { break };
        if is_blank(line) {
            continue;
        }
        let text = spec
            .encoding
            .decode(line)
            .map_err(|offset| ReadError::NotUtf8 {
                path: path.to_owned(),
                line: number,
                noun: "line",
                field: "whole".to_owned(),
                offset,
            })?;
        let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
            .map_err(|source| ReadError::Json {
                path: path.to_owned(),
                line: number,
                source,
            })?;
        let as_text = |key: &str, value: &serde_json::Value| match value {
            serde_json::Value::String(text) => Ok(text.clone()),
            serde_json::Value::Number(number) => Ok(number.to_string()),
            other => Err(ReadError::NotText {
                path: path.to_owned(),
                line: number,
                key: key.to_owned(),
                found: json_kind(other),
            }),
        };
        let missing = |key: &str| ReadError::MissingKey {
            path: path.to_owned(),
            line: number,
            key: key.to_owned(),
        };
        // Keys may serve twice (`--id ID --group ID`): read them in place, and move only the
        // text (the one large value) out, last.
        let get = |key: &str| -> Result<String, ReadError> {
            object
                .get(key)
                .ok_or_else(|| missing(key))
                .and_then(|value| as_text(key, value))
        };
        let optional = |key: &Option<String>| -> Result<Option<String>, ReadError> {
            key.as_deref().map(get).transpose()
        };
        let label = get(&columns.label)?;
        let (id, group, split) = (
            optional(&columns.id)?,
            optional(&columns.group)?,
            optional(&columns.split)?,
        );
        let text = match object.remove(&columns.text) {
            Some(serde_json::Value::String(text)) => text,
            Some(other) => as_text(&columns.text, &other)?,
            None => return Err(missing(&columns.text)),
        };
        let row = ImportedRow {
            line: number,
            text,
            label,
            id,
            group,
            split,
        };
        rows.push(check_row(path, Format::JsonLines, columns, row)?);
    }
    Ok(rows)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(format: Format, encoding: Encoding, id: Option<&str>, group: Option<&str>) -> ReadSpec {
        ReadSpec {
            format,
            encoding,
            columns: Columns {
                text: "text".to_owned(),
                label: "label".to_owned(),
                id: id.map(str::to_owned),
                group: group.map(str::to_owned),
                split: None,
            },
        }
    }

    fn utf8(format: Format) -> ReadSpec {
        spec(format, Encoding::Utf8, None, None)
    }

    /// (line, text, label) of each row, or the error's message.
    fn read(input: &[u8], spec: &ReadSpec) -> Result<Vec<(u64, String, String)>, String> {
        rows_from_reader(Path::new("in.file"), input, spec)
            .map(|rows| {
                rows.into_iter()
                    .map(|row| (row.line, row.text, row.label))
                    .collect()
            })
            .map_err(|err| err.to_string())
    }

    fn check(input: &[u8], spec: &ReadSpec, expected: &[(u64, &str, &str)]) {
        let expected: Vec<(u64, String, String)> = expected
            .iter()
            .map(|&(line, text, label)| (line, text.to_owned(), label.to_owned()))
            .collect();
        assert_eq!(
            read(input, spec),
            Ok(expected),
            "{}",
            String::from_utf8_lossy(input)
        );
    }

    fn check_error(input: &[u8], spec: &ReadSpec, expected: &str) {
        assert_eq!(read(input, spec), Err(expected.to_owned()));
    }

    #[test]
    fn csv_follows_rfc_4180() {
        let csv = utf8(Format::Csv);
        check(
            b"label,text\nfavor,\"one, two\"\nagainst,\"she said \"\"no\"\"\"\n",
            &csv,
            &[(2, "one, two", "favor"), (3, "she said \"no\"", "against")],
        );
        // A quoted field across lines: the next record's line is counted right.
        check(
            b"text,label\r\n\"first line\r\nsecond line\",a\r\nnext,b\r\n",
            &csv,
            &[(2, "first line\r\nsecond line", "a"), (4, "next", "b")],
        );
        // A byte-order mark, extra columns, no final newline.
        check(
            b"\xef\xbb\xbfid,text,extra,label\n7,hello,x,a",
            &csv,
            &[(2, "hello", "a")],
        );
        // Blank lines and CRLF do not throw the line count.
        check(
            b"text,label\r\n\r\nx,a\r\n\r\n\r\n\"y\r\n\",b\r\nz,c",
            &csv,
            &[(3, "x", "a"), (6, "y\r\n", "b"), (8, "z", "c")],
        );
        check_error(
            b"text,label\n\"unterminated,a\nb,c",
            &csv,
            "in.file:2: 1 fields, but the header has 2",
        );
    }

    proptest::proptest! {
        /// Whatever a field holds (commas, quotes, line ends), what the csv crate writes reads
        /// back the same, each record on the line it starts on.
        #[test]
        fn csv_round_trips(records in proptest::collection::vec(
            ("[a-z ,\"\r\n]{0,12}[a-z]", "[a-z\"]{1,4}"), 1..12)) {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(["label", "text"]).unwrap();
            let mut expected_lines = Vec::new();
            for (text, label) in &records {
                writer.flush().unwrap();
                let so_far = writer.get_ref().iter().filter(|&&b| b == b'\n').count();
                expected_lines.push(so_far as u64 + 1);
                writer.write_record([label, text]).unwrap();
            }
            let bytes = writer.into_inner().unwrap();
            let expected: Vec<(u64, String, String)> = records
                .iter()
                .zip(expected_lines)
                .map(|((text, label), line)| (line, text.clone(), label.clone()))
                .collect();
            proptest::prop_assert_eq!(read(&bytes, &utf8(Format::Csv)), Ok(expected));
        }
    }

    #[test]
    fn tsv_splits_on_tabs_only_and_keeps_quotes() {
        let tsv = utf8(Format::Tsv);
        check(
            b"ID\ttext\tlabel\n1\t\"quoted\" and, \"half\ta\n\n2\tit's \"\"x\tb\r\n",
            &tsv,
            &[(2, "\"quoted\" and, \"half", "a"), (4, "it's \"\"x", "b")],
        );
        check_error(
            b"text\tlabel\none\ta\ttoo many\n",
            &tsv,
            "in.file:2: 3 fields, but the header has 2",
        );
    }

    #[test]
    fn json_lines_take_strings_and_numbers() {
        let jsonl = spec(Format::JsonLines, Encoding::Utf8, Some("ID"), Some("ID"));
        let input = b"{\"ID\": 17, \"text\": \"a\\nb\", \"label\": \"left\"}\n\n  \n{\"label\": 2, \"text\": \"c\", \"ID\": \"x\"}\n";
        let rows = rows_from_reader(Path::new("in.jsonl"), &input[..], &jsonl).unwrap();
        let row = |line, text: &str, label: &str, id: &str| ImportedRow {
            line,
            text: text.to_owned(),
            label: label.to_owned(),
            id: Some(id.to_owned()),
            group: Some(id.to_owned()),
            split: None,
        };
        assert_eq!(rows, [row(1, "a\nb", "left", "17"), row(4, "c", "2", "x")]);
        check_error(
            b"{\"text\": \"a\", \"label\": \"b\"}\n{\"text\": \"a\"}\n",
            &utf8(Format::JsonLines),
            "in.file:2: no key `label`",
        );
        check_error(
            b"{\"text\": \"a\", \"label\": null}\n",
            &utf8(Format::JsonLines),
            "in.file:1: key `label` is null, not a string or number",
        );
        check_error(
            b"{\"text\": [\"a\"], \"label\": \"b\"}\n",
            &utf8(Format::JsonLines),
            "in.file:1: key `text` is an array, not a string or number",
        );
        check_error(
            b"{\"text\": \"a\", \"label\": \"b\"}\n{\"text\": \"a\",\n",
            &utf8(Format::JsonLines),
            "in.file:2: not a valid JSON object",
        );
        check_error(
            b"{\"text\": \"a\", \"label\": \"b\", \"ID\": true}\n",
            &jsonl,
            "in.file:1: key `ID` is a boolean, not a string or number",
        );
    }

    #[test]
    fn encodings_decode_each_field() {
        // 0x92 is a right single quote in windows-1252, a C1 control in latin-1, and not
        // UTF-8 at all.
        let input = b"text\tlabel\nit\x92s\tFAVOR\n";
        check(
            input,
            &spec(Format::Tsv, Encoding::Windows1252, None, None),
            &[(2, "it\u{2019}s", "FAVOR")],
        );
        check(
            input,
            &spec(Format::Tsv, Encoding::Latin1, None, None),
            &[(2, "it\u{92}s", "FAVOR")],
        );
        check_error(
            input,
            &utf8(Format::Tsv),
            "in.file:2: column `text`: not valid UTF-8 (byte 2 of the field); if the file is in another encoding, pass --encoding windows-1252 or latin-1",
        );
        check(
            b"{\"text\": \"caf\xe9\", \"label\": \"a\"}\n",
            &spec(Format::JsonLines, Encoding::Latin1, None, None),
            &[(1, "caf\u{e9}", "a")],
        );
        assert_eq!(Encoding::parse("CP1252"), Some(Encoding::Windows1252));
        assert_eq!(Encoding::parse("ISO-8859-1"), Some(Encoding::Latin1));
        assert_eq!(Encoding::parse("utf_8"), Some(Encoding::Utf8));
        assert_eq!(Encoding::parse("utf-16"), None);
    }

    #[test]
    fn headers_and_values_are_checked() {
        let csv = utf8(Format::Csv);
        check_error(
            b"Tweet,Stance\nx,y\n",
            &csv,
            "in.file:1: no column `text` in the header (it has `Tweet`, `Stance`)",
        );
        check_error(
            b"text,label,text\nx,y,z\n",
            &csv,
            "in.file:1: column `text` appears twice in the header",
        );
        check_error(b"", &csv, "in.file: the file is empty (no header line)");
        check_error(
            b"\n",
            &utf8(Format::Tsv),
            "in.file: the file is empty (no header line)",
        );
        check_error(b"text,label\n", &csv, "in.file: no records");
        check_error(b"\n\n", &utf8(Format::JsonLines), "in.file: no records");
        check_error(
            b"text,label\n  ,a\n",
            &csv,
            "in.file:2: column `text` is empty",
        );
        check_error(
            b"{\"text\": \"x\", \"label\": \"\"}\n",
            &utf8(Format::JsonLines),
            "in.file:1: key `label` is empty",
        );
        check_error(
            b"text,label\nx,a\n",
            &spec(Format::Csv, Encoding::Utf8, Some("ID"), None),
            "in.file:1: no column `ID` in the header (it has `text`, `label`)",
        );
    }

    #[test]
    fn gzip_is_told_by_its_bytes() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let plain = b"text,label\nhello,a\n";
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(plain).unwrap();
        // Named .csv, gzipped inside: read as gzip all the same.
        let path = dir.path().join("corpus.csv");
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
        let rows = read_rows(&path, &utf8(Format::Csv)).unwrap();
        assert_eq!(
            (rows[0].text.as_str(), rows[0].label.as_str()),
            ("hello", "a")
        );
        let err = read_rows(&dir.path().join("missing.csv"), &utf8(Format::Csv)).unwrap_err();
        assert!(err.to_string().starts_with("cannot read "), "{err}");
    }

    #[test]
    fn formats_are_told_by_the_extension() {
        let check = |name: &str, expected: Option<Format>| {
            assert_eq!(Format::from_path(Path::new(name)), expected, "{name}");
        };
        check("a.csv", Some(Format::Csv));
        check("dir/A.CSV.gz", Some(Format::Csv));
        check("a.tsv", Some(Format::Tsv));
        check("a.tab", Some(Format::Tsv));
        check("news.jsonl.gz", Some(Format::JsonLines));
        check("a.ndjson", Some(Format::JsonLines));
        check("semeval.txt", None);
        check("noextension", None);
        check("a.gz", None);
    }
}
