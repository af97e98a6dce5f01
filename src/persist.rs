//! How anything `stance` writes reaches the disk, and comes back: one reader and one writer of
//! JSON, atomic replacement, one content hash and one stamp of the build.
//!
//! Takes plain serde types (each file's layout is defined by its owner: `record`, `model_file`,
//! `labels::records`) and hands back bytes on disk, or the parsed value with the place of any
//! fault. It never decides what a file holds.
//!
//! - Versioned documents (records, model files) are pretty JSON objects with a `format` field;
//!   reading probes that field first ([`parse_document`]), so a file of another layout says so
//!   instead of failing on a field it lacks. Faults name the file, line and column, and a file
//!   that ends early is called truncated.
//! - Lines (of `paragraphs.jsonl`, `annotations.jsonl`) are compact JSON; their faults name the
//!   column ([`parse_line`]) and the caller adds file and line.
//! - Files are replaced atomically ([`write_atomic`]): the new content goes to a temporary
//!   file beside the target (a random name, created exclusively: `.NAME.XXXXXX.tmp`), is
//!   synced, renamed over the target, and the directory is synced so that the rename itself
//!   survives a crash. A reader sees the old version or the new one, never half of either; on
//!   an error the temporary file is removed. Append-only files (annotations) are the label
//!   store's business.
//! - Serialising never panics and never writes an empty file in place of a value: a failure
//!   is an error like any other.

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Replace `path` with `bytes`, atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// Replace `path` with what `write` writes (buffered), atomically; for files too large to
/// build in memory. The directory is created if needed.
/// Replaces several files as [`write_atomic`] does, but syncs once for all of them: each is
/// written to a temporary file beside its target (and closed: thousands may be written), one
/// sync of the file system (Linux's `syncfs`; elsewhere each file's own fsync) makes them
/// all durable, then they are renamed into place in the order given, and each directory
/// involved is synced once for the renames. On an error before the renames, no target has
/// changed (the temporary files are removed).
pub fn write_all_atomic(files: &[(PathBuf, &[u8])]) -> io::Result<()> {
    let mut written = Vec::with_capacity(files.len());
    let mut dirs: Vec<&Path> = Vec::new();
    for (path, bytes) in files {
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !dirs.contains(&dir) {
            fs::create_dir_all(dir)?;
            dirs.push(dir);
        }
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::other(format!("{} is not a file path", path.display())))?;
        let prefix = format!(".{}.", name.to_string_lossy());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut temporary = builder.tempfile_in(dir)?;
        temporary.write_all(bytes)?;
        #[cfg(not(target_os = "linux"))]
        temporary.as_file().sync_all()?;
        written.push(temporary.into_temp_path());
    }
    if let Some(dir) = dirs.first() {
        sync_file_system(dir)?;
    }
    for (temporary, (path, _)) in written.into_iter().zip(files) {
        temporary.persist(path).map_err(|err| err.error)?;
    }
    for dir in dirs {
        if let Ok(handle) = File::open(dir) {
            let _ = handle.sync_all();
        }
    }
    Ok(())
}

/// Makes every file written on the file system that holds `dir` durable: one `syncfs` on
/// Linux; elsewhere each file was synced as it was written.
fn sync_file_system(dir: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let handle = File::open(dir)?;
        // SAFETY: `handle` is an open file for the whole call; syncfs only reads its
        // descriptor.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } == 0 {
            return Ok(());
        }
        Err(io::Error::last_os_error())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        Ok(())
    }
}

pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} is not a file path", path.display())))?;
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // As `File::create` would: readable by others unless the umask says otherwise (the
    // temporary file's default is private to its owner).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    // Dropped on any error below: the temporary file is removed.
    let temporary = builder.tempfile_in(dir)?;
    let mut out = BufWriter::with_capacity(1 << 20, temporary);
    write(&mut out)?;
    let temporary = out.into_inner().map_err(|err| err.into_error())?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|err| err.error)?;
    // Not every platform can open a directory to sync it; the rename is done either way.
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}

/// SHA-256 of `bytes` in lower-case hex: the hash of configurations and of label selections.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The build of `stance` that wrote a file: crate version and, when known, the commit and
/// whether tracked code differed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    #[serde(rename = "crate")]
    pub crate_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
}

impl Version {
    /// This build (stamped by `build.rs`).
    pub fn of_this_build() -> Version {
        let commit = env!("STANCE_GIT_COMMIT");
        let dirty = env!("STANCE_GIT_DIRTY");
        Version {
            crate_version: env!("CARGO_PKG_VERSION").to_owned(),
            git_commit: (!commit.is_empty()).then(|| commit.to_owned()),
            git_dirty: dirty.parse().ok(),
        }
    }
}

/// A kind of versioned JSON document: how messages name it and which layout this build reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentKind {
    /// How messages name a file of this kind: `record`, `model`.
    pub noun: &'static str,
    /// What the file is, for "expected …" messages: `a stance record`.
    pub description: &'static str,
    /// The value of its `format` field that this build reads and writes.
    pub format: &'static str,
    /// What to do with a file of another format.
    pub remedy: &'static str,
}

/// A versioned document that cannot be read, checked or written. Every message names the
/// file, and where in it the fault is.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot read {noun} {}", path.display())]
    Read {
        noun: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "{noun} {} is truncated: its JSON ends early, at line {line}, column {column}",
        path.display()
    )]
    Truncated {
        noun: &'static str,
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("{noun} {} is corrupt at line {line}, column {column}: {message}", path.display())]
    Corrupt {
        noun: &'static str,
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{noun} {} has format `{found}`, this stance reads `{expected}`: {remedy}",
        path.display()
    )]
    Format {
        noun: &'static str,
        path: PathBuf,
        found: String,
        expected: &'static str,
        remedy: &'static str,
    },
    /// Well-formed JSON whose content does not hold together (checked by the file's owner).
    #[error("{noun} {}: `{key}`: {message}", path.display())]
    Invalid {
        noun: &'static str,
        path: PathBuf,
        key: &'static str,
        message: String,
    },
    #[error("cannot write {noun} {}", path.display())]
    Write {
        noun: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot write {noun} {}: it does not serialise", path.display())]
    Serialize {
        noun: &'static str,
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl DocumentKind {
    /// The document's bytes: pretty JSON with a final newline.
    pub fn to_json<T: Serialize>(&self, value: &T) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        Ok(text)
    }

    /// Write `value` to `path` atomically.
    pub fn write<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), DocumentError> {
        let text = self
            .to_json(value)
            .map_err(|source| DocumentError::Serialize {
                noun: self.noun,
                path: path.to_owned(),
                source,
            })?;
        write_atomic(path, text.as_bytes()).map_err(|source| DocumentError::Write {
            noun: self.noun,
            path: path.to_owned(),
            source,
        })
    }

    /// Read and parse the document at `path`.
    pub fn read<T: DeserializeOwned>(&self, path: &Path) -> Result<T, DocumentError> {
        let text = fs::read_to_string(path).map_err(|source| DocumentError::Read {
            noun: self.noun,
            path: path.to_owned(),
            source,
        })?;
        self.parse(path, &text)
    }

    /// Parse `text` as the document at `path` (which only names it in errors): its `format`
    /// first, then the whole.
    pub fn parse<T: DeserializeOwned>(&self, path: &Path, text: &str) -> Result<T, DocumentError> {
        let json_error = |err: serde_json::Error| {
            let JsonError {
                line,
                column,
                message,
                truncated,
            } = JsonError::from(err);
            let (noun, path) = (self.noun, path.to_owned());
            if truncated {
                DocumentError::Truncated {
                    noun,
                    path,
                    line,
                    column,
                }
            } else {
                DocumentError::Corrupt {
                    noun,
                    path,
                    line,
                    column,
                    message,
                }
            }
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let format = FormatProbe(self.description)
            .deserialize(&mut deserializer)
            .and_then(|format| deserializer.end().map(|()| format))
            .map_err(json_error)?;
        if format.as_deref() != Some(self.format) {
            return Err(self.invalid_format(path, format));
        }
        serde_json::from_str(text).map_err(json_error)
    }

    fn invalid_format(&self, path: &Path, found: Option<String>) -> DocumentError {
        DocumentError::Format {
            noun: self.noun,
            path: path.to_owned(),
            found: found.unwrap_or_else(|| "(none)".to_owned()),
            expected: self.format,
            remedy: self.remedy,
        }
    }

    /// A fault in the content of the well-formed document at `path`, at `key`.
    pub fn invalid(&self, path: &Path, key: &'static str, message: String) -> DocumentError {
        DocumentError::Invalid {
            noun: self.noun,
            path: path.to_owned(),
            key,
            message,
        }
    }
}

/// Just the `format` field of a document, read before anything else. Only a JSON object is a
/// document (serde would take an array for a struct too). Holds what the document is, for
/// the message when it is not an object.
struct FormatProbe(&'static str);

impl<'de> DeserializeSeed<'de> for FormatProbe {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FormatProbe {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (a JSON object)", self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let mut format = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "format" {
                format = Some(map.next_value::<String>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(format)
    }
}

/// The JSON line (with its newline) of `value`: compact, as in `annotations.jsonl`.
pub fn to_line<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut line = serde_json::to_string(value)?;
    line.push('\n');
    Ok(line)
}

/// Parse one line of JSON Lines; the caller names the file and line.
pub fn parse_line<T: DeserializeOwned>(line: &str) -> Result<T, JsonError> {
    serde_json::from_str(line).map_err(JsonError::from)
}

/// Where and why JSON text could not be read: line, column (as serde_json counts them: 1-based
/// lines, the column of the last character read), the reason without its location, and
/// whether the text merely ended early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe_in_line())]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub truncated: bool,
}

impl JsonError {
    /// As a fault of one line: the column only.
    fn describe_in_line(&self) -> String {
        if self.truncated {
            format!("it ends early, at column {}", self.column)
        } else {
            format!("{} at column {}", self.message, self.column)
        }
    }
}

impl From<serde_json::Error> for JsonError {
    fn from(err: serde_json::Error) -> JsonError {
        let (line, column) = (err.line(), err.column());
        let message = err.to_string();
        // serde_json ends its message with the location, which the caller says its own way.
        let suffix = format!(" at line {line} column {column}");
        JsonError {
            line,
            column,
            message: message.strip_suffix(&suffix).unwrap_or(&message).to_owned(),
            truncated: err.is_eof(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_files_are_replaced_together_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("sub/b.txt"));
        fs::write(&a, "old").unwrap();
        write_all_atomic(&[(a.clone(), b"new a".as_slice()), (b.clone(), b"new b")]).unwrap();
        assert_eq!(fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(fs::read_to_string(&b).unwrap(), "new b");
        let names = |d: &Path| -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(dir.path()), ["a.txt", "sub"]);
        assert_eq!(names(&dir.path().join("sub")), ["b.txt"]);
        // A target that cannot be written (its directory is a file): nothing changes.
        let blocked = dir.path().join("a.txt/c.txt");
        assert!(write_all_atomic(&[(a.clone(), b"newer".as_slice()), (blocked, b"c")]).is_err());
        assert_eq!(fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(names(dir.path()), ["a.txt", "sub"]);
    }

    const KIND: DocumentKind = DocumentKind {
        noun: "thing",
        description: "a stance thing",
        format: "stance-thing/1",
        remedy: "make it again",
    };

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Thing {
        format: String,
        size: u32,
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/out.json");
        write_atomic(&path, b"first version, longer").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(path.parent().unwrap()), ["out.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"kept").unwrap();
        let mut temporary = None;
        let err = write_atomic_with(&path, |out| {
            out.write_all(b"half")?;
            out.flush()?;
            // The temporary file exists while it is written: a fresh name of the documented
            // shape, beside the target.
            temporary = names(dir.path()).into_iter().find(|name| name != "out.txt");
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        let temporary = temporary.expect("a temporary file while writing");
        assert!(
            temporary.starts_with(".out.txt.") && temporary.ends_with(".tmp"),
            "{temporary}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"kept");
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_is_created_as_file_create_would() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (atomic, plain) = (dir.path().join("a"), dir.path().join("b"));
        write_atomic(&atomic, b"x").unwrap();
        fs::write(&plain, b"x").unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
    }

    #[test]
    fn sha256_is_the_standard_digest() {
        // `printf abc | sha256sum`
        assert_eq!(
            hex_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// The message of parsing `text` as a thing at `dir/x.json`.
    fn check(text: &str, expected: &str) {
        let err = KIND
            .parse::<Thing>(Path::new("dir/x.json"), text)
            .unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn documents_say_where_they_are_broken_once() {
        check(
            "{ not json",
            "thing dir/x.json is corrupt at line 1, column 3: key must be a string",
        );
        check(
            "{\"format\": \"stance-thing/1\",\n\"size\": 5",
            "thing dir/x.json is truncated: its JSON ends early, at line 2, column 9",
        );
        check(
            "",
            "thing dir/x.json is truncated: its JSON ends early, at line 1, column 0",
        );
        check(
            "{\"format\": \"stance-thing/1\",\n\"size\": \"big\"}",
            "thing dir/x.json is corrupt at line 2, column 13: invalid type: string \"big\", expected u32",
        );
        check(
            "{\"format\": \"stance-thing/1\", \"size\": 1, \"colour\": 2}",
            "thing dir/x.json is corrupt at line 1, column 48: unknown field `colour`, expected `format` or `size`",
        );
        check(
            "{\"format\": \"stance-thing/1\", \"size\": 1} trailing",
            "thing dir/x.json is corrupt at line 1, column 41: trailing characters",
        );
        check(
            "[1, 2]",
            "thing dir/x.json is corrupt at line 1, column 0: invalid type: sequence, expected a stance thing (a JSON object)",
        );
    }

    #[test]
    fn another_format_is_named_before_any_field_it_lacks() {
        check(
            "{\"format\": \"stance-thing/0\", \"colour\": 2}",
            "thing dir/x.json has format `stance-thing/0`, this stance reads `stance-thing/1`: make it again",
        );
        check(
            "{\"size\": 1}",
            "thing dir/x.json has format `(none)`, this stance reads `stance-thing/1`: make it again",
        );
    }

    #[test]
    fn documents_and_lines_read_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        let thing = Thing {
            format: KIND.format.to_owned(),
            size: 3,
        };
        KIND.write(&path, &thing).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\n  \"format\": \"stance-thing/1\",\n  \"size\": 3\n}\n"
        );
        assert_eq!(KIND.read::<Thing>(&path).unwrap(), thing);
        let line = to_line(&thing).unwrap();
        assert_eq!(line, "{\"format\":\"stance-thing/1\",\"size\":3}\n");
        assert_eq!(parse_line::<Thing>(line.trim_end()).unwrap(), thing);

        let missing = dir.path().join("nope.json");
        let err = KIND.read::<Thing>(&missing).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot read thing {}", missing.display())
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn a_value_that_does_not_serialise_is_an_error_not_an_empty_file() {
        // JSON object keys must be strings.
        let map: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        assert!(to_line(&map).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        let err = KIND.write(&path, &map).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write thing {}: it does not serialise",
                path.display()
            )
        );
        assert!(!path.exists());
    }

    #[test]
    fn line_faults_name_the_column_only() {
        let err = parse_line::<Thing>("{\"format\": }").unwrap_err();
        assert_eq!(err.to_string(), "expected value at column 12");
        let err = parse_line::<Thing>("{\"format\": \"x\"").unwrap_err();
        assert_eq!(err.to_string(), "it ends early, at column 14");
        assert!(err.truncated);
    }
}
