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
//!   an error the temporary file is removed. Append-only files: the label store appends its
//!   annotations itself; [`append_line`] appends a line to any other log (the run history).
//! - Serialising never panics and never writes an empty file in place of a value: a failure
//!   is an error like any other.

use std::borrow::Cow;
use std::ffi::OsStr;
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
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    write_atomic_checked(path, write, || Ok(()))
}

/// [`write_atomic_with`], calling `check` once the new content is written and synced, just
/// before it replaces `path`: an error from `check` leaves `path` as it is (for a rule about
/// the file being replaced, checked as late as it can be).
pub fn write_atomic_checked(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    check: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let (dir, name) = dir_and_name(path)?;
    fs::create_dir_all(dir)?;
    remove_stale_temporaries(dir, |target| target == name);
    // Dropped on any error below: the temporary file is removed.
    let temporary = create_temporary(dir, name)?;
    keep_permissions(path, temporary.as_file())?;
    let mut out = BufWriter::with_capacity(1 << 20, temporary);
    write(&mut out)?;
    let temporary = out.into_inner().map_err(|err| err.into_error())?;
    temporary.as_file().sync_all()?;
    check()?;
    temporary.persist(path).map_err(|err| err.error)?;
    sync_dir(dir);
    Ok(())
}

/// Replaces several files as [`write_atomic`] does, but syncs once for all of them: each is
/// written to a temporary file beside its target (and closed: thousands may be written, so
/// unlike [`write_atomic`]'s they are not locked while waiting; the caller's own lock, the
/// label store's, keeps other writers of these files away), one
/// sync of the file system (Linux's `syncfs`; elsewhere each file's own fsync) makes them
/// all durable, then they are renamed into place in the order given, and each directory
/// involved is synced once for the renames. On an error before the renames, no target has
/// changed (the temporary files are removed).
pub fn write_all_atomic(files: &[(PathBuf, &[u8])]) -> io::Result<()> {
    let mut written = Vec::with_capacity(files.len());
    let mut dirs: Vec<&Path> = Vec::new();
    for (path, _) in files {
        let (dir, _) = dir_and_name(path)?;
        if !dirs.contains(&dir) {
            fs::create_dir_all(dir)?;
            let names: std::collections::BTreeSet<&OsStr> = files
                .iter()
                .filter(|(other, _)| other.parent() == path.parent())
                .filter_map(|(other, _)| other.file_name())
                .collect();
            remove_stale_temporaries(dir, |target| names.contains(target));
            dirs.push(dir);
        }
    }
    for (path, bytes) in files {
        let (dir, name) = dir_and_name(path)?;
        let mut temporary = create_temporary(dir, name)?;
        keep_permissions(path, temporary.as_file())?;
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
        sync_dir(dir);
    }
    Ok(())
}

/// Replaces the directory `dir` with one that `fill` fills, as a whole: a reader sees the old
/// files or the new ones, never some of each, whenever the writer is stopped. `fill` writes
/// into a fresh temporary directory beside `dir`; its files are synced, and it takes the
/// place of `dir` by one rename (on Linux, an exchange with the old `dir`, which is then
/// removed). `dir` may not exist yet; if it does, it may hold only files named in `owned`
/// (what an earlier replacement wrote), never anyone else's, since all of it is replaced.
pub fn replace_dir_atomic(
    dir: &Path,
    owned: &[&str],
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let (parent, name) = dir_and_name(dir)?;
    if let Ok(entries) = fs::read_dir(dir) {
        let mut foreign: Vec<String> = entries
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !owned.contains(&name.as_str()))
            .collect();
        if !foreign.is_empty() {
            foreign.sort();
            return Err(io::Error::other(format!(
                "{} holds files this command did not write ({}); it replaces the whole \
                 directory, so give it a new or empty one",
                dir.display(),
                foreign.join(", ")
            )));
        }
    } else if dir.symlink_metadata().is_ok() {
        return Err(io::Error::other(format!(
            "{} exists and is not a directory",
            dir.display()
        )));
    }
    fs::create_dir_all(parent)?;
    remove_stale_temporaries(parent, |target| target == name);
    // Dropped on every way out: before the rename it removes the new files, after an
    // exchange the old ones, after a plain rename nothing.
    let (temporary, _lock) = create_temporary_dir(parent, name)?;
    fill(temporary.path())?;
    for entry in fs::read_dir(temporary.path())?.flatten() {
        File::open(entry.path())?.sync_all()?;
    }
    File::open(temporary.path())?.sync_all()?;
    if dir.exists() {
        exchange(temporary.path(), dir)?;
    } else {
        fs::rename(temporary.path(), dir)?;
    }
    sync_dir(parent);
    Ok(())
}

/// Swaps two directories: each takes the other's name at once (Linux's `renameat2` with
/// `RENAME_EXCHANGE`). Elsewhere, or on a file system without it, `old` is moved beside
/// and `new` into its place: a reader may then briefly find neither, never a mix.
fn exchange(new: &Path, old: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt as _;
        let c_path = |path: &Path| {
            CString::new(path.as_os_str().as_bytes())
                .map_err(|_| io::Error::other(format!("{} holds a NUL byte", path.display())))
        };
        let (c_new, c_old) = (c_path(new)?, c_path(old)?);
        // SAFETY: both are NUL-terminated paths that live for the whole call.
        let status = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                c_new.as_ptr(),
                libc::AT_FDCWD,
                c_old.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if status == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if !matches!(err.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
            return Err(err);
        }
    }
    // The old directory goes aside under a temporary's name (onto an empty directory made
    // for it), so that a leftover is recognised and removed like any other.
    let (parent, name) = dir_and_name(old)?;
    let aside = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(TEMPORARY_SUFFIX)
        .tempdir_in(parent)?
        .keep();
    fs::rename(old, &aside)?;
    fs::rename(new, old)?;
    fs::rename(&aside, new)
}

/// The bytes of `path`, refused with an error saying so if there are more than `limit`
/// (a file that never ends, `/dev/zero`, or one far larger than any real input).
pub fn read_at_most(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "it is larger than {}, the limit for such a file",
                Bytes(limit)
            ),
        ));
    }
    Ok(bytes)
}

/// The text of `path`; if it is not UTF-8, an error of kind `InvalidData` that says where
/// (line, column and byte of the first bad byte) instead of the bare "stream did not contain
/// valid UTF-8".
pub fn read_text(path: &Path) -> io::Result<String> {
    let bytes = fs::read(path)?;
    String::from_utf8(bytes).map_err(|err| {
        let bytes = err.as_bytes();
        let valid = err.utf8_error().valid_up_to();
        let line = bytes[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = bytes[..valid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Characters, not bytes, before the bad one on its line (the prefix is valid).
        let column = std::str::from_utf8(&bytes[line_start..valid])
            .map_or(valid - line_start, |prefix| prefix.chars().count())
            + 1;
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 at line {line}, column {column} (byte {valid})"),
        )
    })
}

/// A size for messages: `64 MiB`.
#[derive(Debug, Clone, Copy)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
        let mut value = self.0;
        let mut unit = 0;
        while unit + 1 < UNITS.len() && value >= 1024 && value.is_multiple_of(1024) {
            value /= 1024;
            unit += 1;
        }
        write!(f, "{value} {}", UNITS[unit])
    }
}

/// The directory a file is written in (`.` for a bare name) and its name.
fn dir_and_name(path: &Path) -> io::Result<(&Path, &OsStr)> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} is not a file path", path.display())))?;
    Ok((dir, name))
}

/// A new temporary file for `name` in `dir`: `.NAME.XXXXXX.tmp`, a random name created
/// exclusively (`O_EXCL`: never an existing file, never through a symbolic link), removed when
/// dropped, and locked (`flock`) for as long as this process holds it open, so that
/// [`remove_stale_temporaries`] can tell a leftover of a killed run from a file being written.
fn create_temporary(dir: &Path, name: &OsStr) -> io::Result<tempfile::NamedTempFile> {
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMPORARY_SUFFIX);
    // As `File::create` would: readable by others unless the umask says otherwise (the
    // temporary file's default is private to its owner).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let temporary = builder.tempfile_in(dir)?;
    // Best effort: a file system without locks still gets its atomic replacement.
    let _ = temporary.as_file().try_lock();
    Ok(temporary)
}

/// A file that replaces `path` keeps its permissions (a store shared by a group stays
/// writable by the group); a new file gets `File::create`'s.
fn keep_permissions(path: &Path, temporary: &File) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => temporary.set_permissions(meta.permissions()),
        _ => Ok(()),
    }
}

/// A fresh temporary directory for `name` in `dir` (`.NAME.XXXXXX.tmp`), locked as
/// [`create_temporary`]'s files are; removed with its content when dropped.
fn create_temporary_dir(dir: &Path, name: &OsStr) -> io::Result<(tempfile::TempDir, File)> {
    let prefix = format!(".{}.", name.to_string_lossy());
    let temporary = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMPORARY_SUFFIX)
        .tempdir_in(dir)?;
    let handle = File::open(temporary.path())?;
    let _ = handle.try_lock();
    Ok((temporary, handle))
}

/// What every temporary file or directory of [`write_atomic`] and its kin ends with.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// A temporary this old, and not locked by a live process, is a leftover. (The age only
/// guards the instant between a temporary's creation and its lock.)
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// The target a temporary file name stands for: `NAME` of `.NAME.XXXXXX.tmp` (this build's
/// temporaries) or of `.NAME.tmp12345` (those of builds before it, named by process id).
pub fn temporary_target(file_name: &str) -> Option<&str> {
    let inner = file_name.strip_prefix('.')?;
    if let Some(stem) = inner.strip_suffix(TEMPORARY_SUFFIX) {
        let (target, random) = stem.rsplit_once('.')?;
        let random_ok = random.len() == 6 && random.bytes().all(|b| b.is_ascii_alphanumeric());
        return (random_ok && !target.is_empty()).then_some(target);
    }
    let (target, pid) = inner.rsplit_once(".tmp")?;
    let pid_ok = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (pid_ok && !target.is_empty()).then_some(target)
}

/// The temporaries in `dir` ([`temporary_target`]) whose target `wanted` accepts and that no
/// live process holds: leftovers of a run killed while it wrote. With `min_age`, only those
/// not modified for that long.
pub fn leftover_temporaries(
    dir: &Path,
    wanted: impl Fn(&OsStr) -> bool,
    min_age: Option<std::time::Duration>,
) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(target) = name.to_str().and_then(temporary_target) else {
            continue;
        };
        if !wanted(OsStr::new(target)) {
            continue;
        }
        // Never a symbolic link: this module makes none, so one of that name is not ours.
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if meta.file_type().is_symlink() {
            continue;
        }
        if let Some(min_age) = min_age {
            let age = meta.modified().ok().and_then(|time| time.elapsed().ok());
            if age.is_none_or(|age| age < min_age) {
                continue;
            }
        }
        // Held by a live writer: its lock says so.
        let free = File::open(entry.path()).is_ok_and(|handle| handle.try_lock().is_ok());
        if free {
            found.push(entry.path());
        }
    }
    found.sort();
    found
}

/// Removes [`leftover_temporaries`] of the targets `wanted` accepts, older than a few
/// seconds; best effort (a leftover that cannot be removed stays). Returns what it removed.
pub fn remove_stale_temporaries(dir: &Path, wanted: impl Fn(&OsStr) -> bool) -> Vec<PathBuf> {
    let mut removed = leftover_temporaries(dir, wanted, Some(STALE_AFTER));
    removed.retain(|path| remove_temporary(path).is_ok());
    removed
}

/// Removes a temporary file, or a temporary directory and its content.
pub fn remove_temporary(path: &Path) -> io::Result<()> {
    if path.symlink_metadata()?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Syncs a directory, so that renames in it survive a crash. Not every platform can open a
/// directory to sync it; the rename is done either way.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
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
    /// Not even a JSON object: another kind of file (an experiment file passed as a model).
    #[error("{noun} {} is not {description}: {why}", path.display())]
    NotADocument {
        noun: &'static str,
        path: PathBuf,
        description: &'static str,
        why: String,
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
        self.write_checked(path, value, || Ok(()))
    }

    /// [`DocumentKind::write`], with `check` called just before the document replaces `path`
    /// ([`write_atomic_checked`]): an error from it leaves `path` as it is.
    pub fn write_checked<T: Serialize>(
        &self,
        path: &Path,
        value: &T,
        check: impl FnOnce() -> io::Result<()>,
    ) -> Result<(), DocumentError> {
        let text = self
            .to_json(value)
            .map_err(|source| DocumentError::Serialize {
                noun: self.noun,
                path: path.to_owned(),
                source,
            })?;
        write_atomic_checked(path, |out| out.write_all(text.as_bytes()), check).map_err(|source| {
            DocumentError::Write {
                noun: self.noun,
                path: path.to_owned(),
                source,
            }
        })
    }

    /// Read and parse the document at `path`.
    pub fn read<T: DeserializeOwned>(&self, path: &Path) -> Result<T, DocumentError> {
        let text = read_text(path).map_err(|source| DocumentError::Read {
            noun: self.noun,
            path: path.to_owned(),
            source,
        })?;
        self.parse(path, &text)
    }

    /// Parse `text` as the document at `path` (which only names it in errors): its `format`
    /// first, then the whole.
    pub fn parse<T: DeserializeOwned>(&self, path: &Path, text: &str) -> Result<T, DocumentError> {
        let start = text.trim_start_matches('\u{feff}').trim_start();
        // A document is a JSON object: anything else is another kind of file, not a damaged
        // one. (An empty file is a document cut short, below.)
        if !start.is_empty() && !start.starts_with('{') {
            return Err(DocumentError::NotADocument {
                noun: self.noun,
                path: path.to_owned(),
                description: self.description,
                why: not_an_object(path, start),
            });
        }
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

/// What a file that does not start with `{` is instead.
fn not_an_object(path: &Path, start: &str) -> String {
    let first_line = start.lines().next().unwrap_or_default();
    let shown: String = first_line.chars().take(40).collect();
    let ellipsis = if shown.len() < first_line.len() {
        "…"
    } else {
        ""
    };
    if serde_json::from_str::<IgnoredAny>(start).is_ok() {
        return format!("it is JSON but not an object (it starts `{shown}{ellipsis}`)");
    }
    let toml_like = path.extension().is_some_and(|ext| ext == "toml")
        || (first_line.starts_with('[') && first_line.trim_end().ends_with(']'))
        || first_line.contains(" = ");
    if toml_like {
        format!("it looks like TOML (an experiment file?), not JSON: it starts `{shown}{ellipsis}`")
    } else {
        format!("it is not JSON: it starts `{shown}{ellipsis}`")
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

/// Append `line` (one line, with its newline) to `path`, creating it, in one `write`, then
/// sync it. A last line left without its end (a crash mid-append) is ended first, so that
/// the new line is not glued to it.
pub fn append_line(path: &Path, line: &str) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut bytes = Vec::with_capacity(line.len() + 1);
    if file.metadata()?.len() > 0 {
        let mut last = [0u8];
        file.seek(SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            bytes.push(b'\n');
        }
    }
    bytes.extend_from_slice(line.as_bytes());
    file.write_all(&bytes)?;
    file.sync_data()
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
            "thing dir/x.json is not a stance thing: it is JSON but not an object (it starts `[1, 2]`)",
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

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.jsonl");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o664);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_a_predictable_temporary_name_is_not_followed() {
        // Earlier builds wrote `.NAME.tmp<PID>` with `File::create`, following a symbolic
        // link planted there by anyone who could write the directory.
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, "precious").unwrap();
        let path = dir.path().join("out.json");
        let planted = dir
            .path()
            .join(format!(".out.json.tmp{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_atomic(&path, b"result").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(fs::read_to_string(&path).unwrap(), "result");
        // Nor is a planted link at a name of the present shape ever removed as a leftover.
        assert!(planted.symlink_metadata().is_ok());
    }

    /// Makes `path` look `seconds` old.
    fn age(path: &Path, seconds: u64) {
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds);
        File::options()
            .write(true)
            .open(path)
            .or_else(|_| File::open(path))
            .unwrap()
            .set_modified(then)
            .unwrap();
    }

    #[test]
    fn leftovers_of_a_killed_writer_are_removed_by_the_next_write_of_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let stale = [".out.json.a1b2C3.tmp", ".out.json.tmp4242"].map(|n| dir.path().join(n));
        let other = dir.path().join(".other.json.a1b2C3.tmp");
        let fresh = dir.path().join(".out.json.q9w8e7.tmp");
        let held = dir.path().join(".out.json.HeLd00.tmp");
        for file in stale.iter().chain([&other, &fresh, &held]) {
            fs::write(file, "half").unwrap();
        }
        for file in stale.iter().chain([&other, &held]) {
            age(file, 60);
        }
        // A writer still at work holds its temporary's lock.
        let writer = File::open(&held).unwrap();
        writer.lock().unwrap();
        write_atomic(&path, b"done").unwrap();
        assert!(stale.iter().all(|file| !file.exists()));
        // Another target's, one just made (its writer may not have locked it yet), and a
        // held one stay.
        assert!(other.exists() && fresh.exists() && held.exists());
        assert_eq!(temporary_target(".out.json.a1b2C3.tmp"), Some("out.json"));
        assert_eq!(temporary_target(".out.json.tmp123"), Some("out.json"));
        for not_ours in [
            "out.json",
            ".out.json",
            ".out.json.tmp",
            ".a.b.tmp",
            ".x.abcdefg.tmp",
            "x.tmp",
        ] {
            assert_eq!(temporary_target(not_ours), None, "{not_ours}");
        }
    }

    #[test]
    fn a_check_that_fails_at_the_replacement_keeps_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        fs::write(&path, "someone's notes").unwrap();
        let err = write_atomic_checked(
            &path,
            |out| out.write_all(b"record"),
            || Err(io::Error::other("not a record: refusing to overwrite it")),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "not a record: refusing to overwrite it");
        assert_eq!(fs::read_to_string(&path).unwrap(), "someone's notes");
        assert_eq!(names(dir.path()), ["record.json"]);
    }

    #[test]
    fn a_directory_is_replaced_as_a_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let owned = ["a.txt", "b.txt"];
        let fill = |a: &'static str, b: &'static str| {
            move |into: &Path| -> io::Result<()> {
                fs::write(into.join("a.txt"), a)?;
                fs::write(into.join("b.txt"), b)
            }
        };
        replace_dir_atomic(&out, &owned, fill("a1", "b1")).unwrap();
        replace_dir_atomic(&out, &owned, fill("a2", "b2")).unwrap();
        let read = || {
            (
                fs::read_to_string(out.join("a.txt")).unwrap(),
                fs::read_to_string(out.join("b.txt")).unwrap(),
            )
        };
        assert_eq!(read(), ("a2".into(), "b2".into()));
        assert_eq!(names(dir.path()), ["out"]);

        // A failure half way leaves the old pair and no temporary.
        let err = replace_dir_atomic(&out, &owned, |into: &Path| {
            fs::write(into.join("a.txt"), "a3")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(read(), ("a2".into(), "b2".into()));
        assert_eq!(names(dir.path()), ["out"]);

        // Someone else's file in the directory: refused, nothing changes.
        fs::write(out.join("notes.md"), "mine").unwrap();
        let err = replace_dir_atomic(&out, &owned, fill("a4", "b4")).unwrap_err();
        assert!(
            err.to_string()
                .contains("holds files this command did not write (notes.md)"),
            "{err}"
        );
        assert_eq!(read(), ("a2".into(), "b2".into()));
        fs::remove_file(out.join("notes.md")).unwrap();

        // An old directory left aside by a killed writer is removed by the next one.
        let aside = dir.path().join(".out.Kill3d.tmp");
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join("a.txt"), "old").unwrap();
        age(&aside, 60);
        replace_dir_atomic(&out, &owned, fill("a5", "b5")).unwrap();
        assert_eq!(names(dir.path()), ["out"]);
        assert_eq!(read(), ("a5".into(), "b5".into()));
    }

    #[test]
    fn reading_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        fs::write(&path, "12345").unwrap();
        assert_eq!(read_at_most(&path, 5).unwrap(), b"12345");
        let err = read_at_most(&path, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it is larger than 4 bytes, the limit for such a file"
        );
        #[cfg(unix)]
        {
            let err = read_at_most(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert_eq!(
                err.to_string(),
                "it is larger than 1 MiB, the limit for such a file"
            );
        }
    }
}
