//! The store directory: opening it, ingesting articles, appending annotations, and the
//! read-side queries the rest of `stance` uses.
//!
//! Writes are of two kinds only, each under the store lock: `paragraphs.jsonl` and the
//! article copies are replaced atomically (temporary file, sync, rename); `annotations.jsonl`
//! only ever grows: one decision by one `write` and `sync_data` (cut back on an error), a
//! batch by a copy of the log with the batch after it, renamed over it; an import's
//! paragraphs and decisions by both files replaced together after one sync.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::annotations::{Annotation, Confidence, Decision, Ledger};
use super::lock::StoreLock;
use super::paragraph::Paragraph;
use super::records;
use super::schema::{ClassIdx, Schema};
use super::{EntryError, StoreError};
use crate::corpus::{Article, ArticleId, Block, BlockKind, ParagraphId};

const SCHEMA_FILE: &str = "schema.toml";
const PARAGRAPHS_FILE: &str = "paragraphs.jsonl";
const ANNOTATIONS_FILE: &str = "annotations.jsonl";
const ARTICLES_DIR: &str = "articles";

/// A paragraph with an annotator's current label.
#[derive(Debug, Clone, Copy)]
pub struct LabelledParagraph<'s> {
    paragraph: &'s Paragraph,
    decision: &'s Decision,
    label: &'s str,
}

impl<'s> LabelledParagraph<'s> {
    pub fn id(&self) -> &'s ParagraphId {
        self.paragraph.id()
    }

    /// The paragraph as the store keeps it (its group name and split, for imported ones).
    pub fn paragraph(&self) -> &'s Paragraph {
        self.paragraph
    }

    pub fn article(&self) -> &'s ArticleId {
        self.paragraph.article()
    }

    pub fn text(&self) -> &'s str {
        self.paragraph.text()
    }

    /// The class name.
    pub fn label(&self) -> &'s str {
        self.label
    }

    /// The class as an index into the store's schema.
    pub fn class(&self) -> ClassIdx {
        self.decision.class()
    }

    pub fn confidence(&self) -> Confidence {
        self.decision.confidence()
    }

    pub fn low_confidence(&self) -> bool {
        self.decision.confidence() == Confidence::Low
    }

    pub fn note(&self) -> Option<&'s str> {
        self.decision.note()
    }
}

/// A current label whose paragraph is no longer in the label set: its article was edited
/// and re-ingested. Kept in `annotations.jsonl`; re-ingesting the old text brings it back.
#[derive(Debug, Clone, Copy)]
pub struct Orphan<'s> {
    decision: &'s Decision,
    label: &'s str,
    now: Option<BlockKind>,
}

impl<'s> Orphan<'s> {
    pub fn paragraph(&self) -> &'s ParagraphId {
        self.decision.paragraph()
    }

    pub fn annotator(&self) -> &'s str {
        self.decision.annotator().as_str()
    }

    pub fn label(&self) -> &'s str {
        self.label
    }

    pub fn time(&self) -> Timestamp {
        self.decision.time()
    }

    /// `None` if the id is gone from the store; `Some(kind)` if it is now a heading or byline.
    pub fn now(&self) -> Option<BlockKind> {
        self.now
    }
}

/// What ingesting one article did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestReport {
    pub article: ArticleId,
    pub status: IngestStatus,
    pub paragraphs: usize,
    pub headings: usize,
    pub bylines: usize,
    /// Lines that repeat an earlier line of the same article (same id); kept once.
    pub duplicates: usize,
    /// Current labels (any annotator) whose paragraph left the label set.
    pub orphaned: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestStatus {
    /// The article was not in the store.
    New,
    /// Same blocks as before: nothing was written.
    Unchanged,
    /// The text changed; counts are of blocks.
    Changed {
        kept: usize,
        added: usize,
        removed: usize,
    },
}

/// An open label store: schema, paragraphs and the replayed annotations, in memory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    schema: Schema,
    paragraphs: Vec<Paragraph>,
    index: BTreeMap<ParagraphId, usize>,
    ledger: Ledger,
}

/// The last line of `annotations.jsonl` when an interrupted write cut it off: bytes after the
/// last newline that are not a whole JSON line (they end inside a value or a character).
/// Nothing before it is affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornLine {
    /// Its one-based line number.
    pub line: usize,
    /// Where it starts: the length of the log without it.
    pub offset: u64,
    /// How long it is.
    pub bytes: u64,
    /// Its first characters (invalid UTF-8 replaced), to recognise it by.
    pub start: String,
}

/// What is amiss in a store that can still be read: found by [`Store::open_reporting`],
/// mended by [`Store::repair`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// The log's torn last line, if any; [`Store::open`] refuses the store until it is removed.
    pub torn: Option<TornLine>,
    /// Temporary files of writes that were interrupted (a killed `stance`), no longer held by
    /// any process.
    pub leftovers: Vec<PathBuf>,
}

/// What [`Store::repair`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repair {
    /// The torn last line it removed from `annotations.jsonl`.
    pub torn: Option<TornLine>,
    /// The leftover temporary files it removed.
    pub leftovers: Vec<PathBuf>,
}

impl Store {
    /// Opens an existing store, reading and checking every file. A log whose last line was
    /// torn by an interrupted write is refused, naming the command that repairs it.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let (store, health) = Store::open_reporting(dir)?;
        match health.torn {
            Some(torn) => Err(store.torn_error(&torn)),
            None => Ok(store),
        }
    }

    /// Opens an existing store as [`open`](Store::open) does, but reads a log with a torn last
    /// line (without that line) and says what is amiss instead of refusing: for `stance
    /// labels`, which reports it.
    pub fn open_reporting(dir: &Path) -> Result<(Store, Health), StoreError> {
        Store::check_exists(dir)?;
        let (store, torn) = {
            let _lock = StoreLock::shared(dir)?;
            Store::read_unlocked(dir)?
        };
        let health = Health {
            torn,
            leftovers: leftovers(dir),
        };
        Ok((store, health))
    }

    /// Removes what interrupted writes left in the store at `dir`: a torn last line of
    /// `annotations.jsonl` (only that line; every complete line stays as it is) and leftover
    /// temporary files. Holds the store lock, so no write is under way meanwhile.
    pub fn repair(dir: &Path) -> Result<Repair, StoreError> {
        Store::check_exists(dir)?;
        let _lock = StoreLock::exclusive(dir)?;
        let path = dir.join(ANNOTATIONS_FILE);
        let bytes = fs::read(&path).map_err(|source| StoreError::Read {
            path: path.clone(),
            source,
        })?;
        let torn = torn_line(&bytes);
        if let Some(torn) = &torn {
            let truncate = || -> std::io::Result<()> {
                let file = OpenOptions::new().write(true).open(&path)?;
                file.set_len(torn.offset)?;
                file.sync_all()
            };
            truncate().map_err(|source| StoreError::Write {
                path: path.clone(),
                source,
            })?;
        }
        let mut removed = Vec::new();
        for leftover in leftovers(dir) {
            crate::persist::remove_temporary(&leftover).map_err(|source| StoreError::Write {
                path: leftover.clone(),
                source,
            })?;
            removed.push(leftover);
        }
        Ok(Repair {
            torn,
            leftovers: removed,
        })
    }

    fn check_exists(dir: &Path) -> Result<(), StoreError> {
        let files = [SCHEMA_FILE, PARAGRAPHS_FILE, ANNOTATIONS_FILE].map(|name| dir.join(name));
        if !dir.is_dir() || files.iter().all(|path| !path.exists()) {
            return Err(StoreError::Missing {
                dir: dir.to_path_buf(),
            });
        }
        Ok(())
    }

    fn torn_error(&self, torn: &TornLine) -> StoreError {
        StoreError::TornLine {
            path: self.annotations_path(),
            store: self.dir.clone(),
            line: torn.line,
            bytes: torn.bytes,
        }
    }

    /// Reads every file of the store; the caller holds the lock. A torn last line of the log
    /// is left out and handed back.
    fn read_unlocked(dir: &Path) -> Result<(Store, Option<TornLine>), StoreError> {
        let files = [SCHEMA_FILE, PARAGRAPHS_FILE, ANNOTATIONS_FILE].map(|name| dir.join(name));
        let [schema_path, paragraphs_path, annotations_path] = files;
        let schema_text = read_store_file(&schema_path, "the label schema")?;
        let schema = Schema::from_toml(&schema_text).map_err(|source| StoreError::Schema {
            path: schema_path,
            source,
        })?;

        let mut paragraphs = Vec::new();
        let mut index = BTreeMap::new();
        let text = read_store_file(&paragraphs_path, "the paragraphs")?;
        for (line_no, line) in jsonl_lines(&text) {
            let at = |source| StoreError::Line {
                path: paragraphs_path.clone(),
                line: line_no,
                source,
            };
            let paragraph = records::parse_paragraph(line).map_err(at)?;
            if index
                .insert(paragraph.id().clone(), paragraphs.len())
                .is_some()
            {
                return Err(at(EntryError::DuplicateParagraph {
                    id: paragraph.id().to_string(),
                }));
            }
            paragraphs.push(paragraph);
        }

        let mut ledger = Ledger::default();
        let mut bytes = read_store_bytes(&annotations_path, "the annotations")?;
        let torn = torn_line(&bytes);
        if let Some(torn) = &torn {
            bytes.truncate(torn.offset as usize);
        }
        let text = utf8(&annotations_path, bytes)?;
        for (line_no, line) in jsonl_lines(&text) {
            let at = |source| StoreError::Line {
                path: annotations_path.clone(),
                line: line_no,
                source,
            };
            let annotation = records::parse_annotation(line, &schema).map_err(at)?;
            ledger
                .apply(annotation)
                .map_err(|err| at(EntryError::NothingToRetract(err)))?;
        }

        let store = Store {
            dir: dir.to_path_buf(),
            schema,
            paragraphs,
            index,
            ledger,
        };
        Ok((store, torn))
    }

    /// Opens the store, or creates an empty one (default schema, no paragraphs, no
    /// annotations) if `dir` has none of the store's files. Other files in `dir` are left
    /// alone.
    pub fn open_or_create(dir: &Path) -> Result<Store, StoreError> {
        let files = [SCHEMA_FILE, PARAGRAPHS_FILE, ANNOTATIONS_FILE].map(|name| dir.join(name));
        if files.iter().all(|path| !path.exists()) {
            fs::create_dir_all(dir).map_err(|source| StoreError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
            let _lock = StoreLock::exclusive(dir)?;
            // Another process may have created it while this one waited.
            if files.iter().all(|path| !path.exists()) {
                let [schema_path, paragraphs_path, annotations_path] = files;
                write_atomically(&schema_path, Schema::default_schema().to_toml().as_bytes())?;
                write_atomically(&paragraphs_path, b"")?;
                write_atomically(&annotations_path, b"")?;
            }
        }
        Store::open(dir)
    }

    /// Reads an article file: UTF-8, not empty, named by `id` or else by the file stem.
    pub fn read_article(path: &Path, id: Option<ArticleId>) -> Result<Article, StoreError> {
        // Gzipped or not, as every input is read; JSON Lines is not an article.
        let bytes = crate::input::read_decompressed(path).map_err(|source| StoreError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if let Some(reason) = crate::input::looks_like_json_lines(path, &bytes) {
            return Err(StoreError::JsonLines {
                path: path.to_path_buf(),
                reason,
            });
        }
        let text = String::from_utf8(bytes).map_err(|err| StoreError::NotUtf8 {
            path: path.to_path_buf(),
            offset: err.utf8_error().valid_up_to(),
        })?;
        let id = match id {
            Some(id) => id,
            None => {
                let stem = path
                    .file_stem()
                    .map(|stem| stem.to_string_lossy())
                    .unwrap_or_default();
                ArticleId::new(&stem).map_err(|source| StoreError::ArticleName {
                    path: path.to_path_buf(),
                    source,
                })?
            }
        };
        Article::new(id, text).map_err(|_| StoreError::EmptyArticle {
            path: path.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The append-only log of decisions.
    pub fn annotations_path(&self) -> PathBuf {
        self.dir.join(ANNOTATIONS_FILE)
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Every block, labelable or not, in store order: article ingest order, then position.
    pub fn paragraphs(&self) -> &[Paragraph] {
        &self.paragraphs
    }

    pub fn paragraph(&self, id: &ParagraphId) -> Option<&Paragraph> {
        self.index.get(id).map(|&i| &self.paragraphs[i])
    }

    /// Article ids in ingest order.
    pub fn articles(&self) -> Vec<&ArticleId> {
        let mut seen = BTreeSet::new();
        self.paragraphs
            .iter()
            .map(Paragraph::article)
            .filter(|article| seen.insert(*article))
            .collect()
    }

    /// The labelable paragraphs `annotator` has a current label on, in store order.
    pub fn labelled(&self, annotator: &str) -> Vec<LabelledParagraph<'_>> {
        self.paragraphs
            .iter()
            .filter(|paragraph| paragraph.is_labelable())
            .filter_map(|paragraph| {
                let decision = self.ledger.current(annotator, paragraph.id())?;
                Some(LabelledParagraph {
                    paragraph,
                    decision,
                    label: self.schema.class(decision.class()).name(),
                })
            })
            .collect()
    }

    /// Annotators with at least one current label, sorted.
    pub fn annotators(&self) -> Vec<&str> {
        self.ledger.annotators().map(|a| a.as_str()).collect()
    }

    /// `annotator`'s current decision on a paragraph.
    pub fn current(&self, annotator: &str, paragraph: &ParagraphId) -> Option<&Decision> {
        self.ledger.current(annotator, paragraph)
    }

    /// `annotator`'s current decisions in the order they were made (their lines in
    /// `annotations.jsonl`), oldest first; those on paragraphs no longer in the store too.
    pub fn current_in_log_order(&self, annotator: &str) -> Vec<&Decision> {
        self.ledger.current_in_log_order(annotator)
    }

    /// Current labels whose paragraph is not a labelable paragraph of the store, by
    /// annotator then paragraph id.
    pub fn orphans(&self) -> Vec<Orphan<'_>> {
        self.ledger
            .current_decisions()
            .filter_map(|decision| {
                let now = self.paragraph(decision.paragraph()).map(Paragraph::kind);
                (!now.is_some_and(BlockKind::is_labelable)).then(|| Orphan {
                    decision,
                    label: self.schema.class(decision.class()).name(),
                    now,
                })
            })
            .collect()
    }

    /// Refuses early, before a session starts, if decisions could not be saved.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let path = self.annotations_path();
        let meta = fs::metadata(&path).map_err(|source| StoreError::Read {
            path: path.clone(),
            source,
        })?;
        if meta.permissions().readonly() {
            return Err(StoreError::ReadOnly { path });
        }
        OpenOptions::new()
            .append(true)
            .open(&path)
            .map(drop)
            .map_err(|source| StoreError::Write { path, source })
    }

    /// Appends annotations to the log: all are checked first (paragraph labelable,
    /// retraction has something to retract), then written and synced under the store lock,
    /// all or nothing. One annotation (a decision in the labelling session) is appended in
    /// place with one `write`; on an error the log is cut back to its length before it.
    /// Several (an import) go into a copy of the log that replaces it atomically, so that a
    /// kill, a full disk or a crash leaves all of them or none. Either way a log whose last
    /// line is torn is not written to until it is repaired.
    pub fn append(&mut self, annotations: &[Annotation]) -> Result<(), StoreError> {
        let mut ledger = self.ledger.clone();
        let mut bytes = String::new();
        for annotation in annotations {
            if let Annotation::Decision(decision) = annotation {
                self.check_labelable(decision.paragraph())?;
            }
            ledger
                .apply(annotation.clone())
                .map_err(|err| StoreError::Entry(EntryError::NothingToRetract(err)))?;
            bytes.push_str(&records::annotation_line(annotation, &self.schema)?);
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let _lock = StoreLock::exclusive(&self.dir)?;
        let path = self.annotations_path();
        let written = if annotations.len() == 1 {
            append_in_place(&path, bytes.as_bytes())
        } else {
            append_by_replacing(&path, bytes.as_bytes())
        };
        match written {
            Ok(()) => {}
            Err(Append::Torn(torn)) => return Err(self.torn_error(&torn)),
            Err(Append::Store(err)) => return Err(err),
        }
        self.ledger = ledger;
        Ok(())
    }

    /// The paragraph `id`, if it is one to label.
    pub(super) fn check_labelable(&self, id: &ParagraphId) -> Result<&Paragraph, EntryError> {
        let paragraph = self
            .paragraph(id)
            .ok_or_else(|| EntryError::UnknownParagraph { id: id.to_string() })?;
        if !paragraph.is_labelable() {
            return Err(EntryError::NotLabelable {
                id: id.to_string(),
                kind: paragraph.kind(),
            });
        }
        Ok(paragraph)
    }

    /// Adds or replaces articles. An article already in the store with the same blocks is
    /// left untouched; one whose text changed has its blocks replaced in place, and labels on
    /// paragraphs that left are reported as orphaned (never removed). Nothing is written
    /// unless every article is accepted.
    ///
    /// The store lock is held throughout, and the store is read again under it: what another
    /// process ingested since this one opened the store is kept.
    pub fn ingest(&mut self, articles: &[Article]) -> Result<Vec<IngestReport>, StoreError> {
        let _lock = StoreLock::exclusive(&self.dir)?;
        let (current, torn) = Store::read_unlocked(&self.dir)?;
        if let Some(torn) = torn {
            return Err(current.torn_error(&torn));
        }
        *self = current;
        let plan = self.plan_ingest(articles)?;
        self.apply_ingest(plan)
    }

    /// What ingesting `articles` does, decided without writing anything: each article's
    /// report, the store's paragraphs afterwards (and their index), and the article copies
    /// to write.
    fn plan_ingest<'a>(&self, articles: &'a [Article]) -> Result<IngestPlan<'a>, StoreError> {
        let mut seen = BTreeSet::new();
        for article in articles {
            if !seen.insert(article.id()) {
                return Err(StoreError::DuplicateArticle {
                    id: article.id().to_string(),
                });
            }
        }

        // Each stored article's paragraphs, found in one pass (not one per article).
        let mut stored: BTreeMap<&ArticleId, Vec<&Paragraph>> = BTreeMap::new();
        for paragraph in &self.paragraphs {
            stored
                .entry(paragraph.article())
                .or_default()
                .push(paragraph);
        }
        let mut replaced: BTreeMap<&ArticleId, Vec<Paragraph>> = BTreeMap::new();
        let mut added: Vec<Paragraph> = Vec::new();
        let mut reports = Vec::with_capacity(articles.len());
        let mut copies: Vec<(PathBuf, Cow<'a, [u8]>)> = Vec::new();
        let decisions: Vec<&Decision> = self.ledger.current_decisions().collect();
        for article in articles {
            let (blocks, duplicates) = distinct_blocks(article.blocks());
            let incoming: Vec<Paragraph> = blocks
                .into_iter()
                .map(|block| Paragraph::new(article.id().clone(), block.clone()))
                .collect();
            let old: Vec<Paragraph> = stored
                .get(article.id())
                .map(|old| old.iter().map(|&p| p.clone()).collect())
                .unwrap_or_default();
            let report = compare_article(article.id(), &old, &incoming, duplicates, &decisions);
            match report.status {
                IngestStatus::Unchanged => {}
                IngestStatus::New => added.extend(incoming),
                IngestStatus::Changed { .. } => {
                    replaced.insert(article.id(), incoming);
                }
            }
            reports.push(report);
            let copy = self.article_path(article.id());
            if fs::read(&copy).ok().as_deref() != Some(article.text().as_bytes()) {
                copies.push((copy, Cow::Borrowed(article.text().as_bytes())));
            }
            if !article.fields().is_empty() {
                let fields = fields_line(article)?;
                let path = self.article_fields_path(article.id());
                if fs::read(&path).ok().as_deref() != Some(fields.as_bytes()) {
                    copies.push((path, Cow::Owned(fields.into_bytes())));
                }
            }
        }

        // A changed article's paragraphs take the place of its old ones; new articles follow
        // the stored ones, in the order given.
        let mut paragraphs = Vec::with_capacity(self.paragraphs.len() + added.len());
        for paragraph in &self.paragraphs {
            // The first old paragraph takes all the new ones; the others, none.
            match replaced.get_mut(paragraph.article()) {
                Some(incoming) => paragraphs.append(incoming),
                None => paragraphs.push(paragraph.clone()),
            }
        }
        paragraphs.extend(added);
        let index = index_paragraphs(&paragraphs)?;
        Ok(IngestPlan {
            reports,
            paragraphs,
            index,
            copies,
        })
    }

    /// Write what `plan` decided (the article copies, then `paragraphs.jsonl` if any article
    /// is new or changed, with one sync for all), then take it as the store's state.
    fn apply_ingest(&mut self, plan: IngestPlan<'_>) -> Result<Vec<IngestReport>, StoreError> {
        let IngestPlan {
            reports,
            paragraphs,
            index,
            mut copies,
        } = plan;
        let body;
        if reports.iter().any(|r| r.status != IngestStatus::Unchanged) {
            body = paragraphs
                .iter()
                .map(records::paragraph_line)
                .collect::<Result<String, EntryError>>()?;
            copies.push((
                self.dir.join(PARAGRAPHS_FILE),
                Cow::Borrowed(body.as_bytes()),
            ));
        }
        let copies: Vec<(PathBuf, &[u8])> = copies
            .iter()
            .map(|(path, bytes)| (path.clone(), bytes.as_ref()))
            .collect();
        // Every file written, then one sync for all; `paragraphs.jsonl`, the store's index,
        // is renamed into place last.
        crate::persist::write_all_atomic(&copies).map_err(|source| StoreError::Write {
            path: self.dir.clone(),
            source,
        })?;
        self.paragraphs = paragraphs;
        self.index = index;
        Ok(reports)
    }

    /// Imports records into the store at `dir` as one change, under the store lock held
    /// throughout: the store is read afresh (or, when `dir` holds none of a store's files, a
    /// new one of `schema_if_new` is planned, nothing written yet), `plan` decides from it
    /// what to add, and every paragraph and decision of the [`Addition`] is checked (ids new,
    /// decisions on paragraphs of the store or the addition) before anything is written. A
    /// refused import writes nothing (a directory it created is removed again). Then a new
    /// store's empty files are written, and `paragraphs.jsonl` and `annotations.jsonl` are
    /// replaced together by [`crate::persist::write_all_atomic`] (one sync, paragraphs renamed
    /// first, so the log never names a paragraph the store lacks). Returns the store as it
    /// now is, whether it was created, and what `plan` handed back.
    pub(super) fn import_records<R>(
        dir: &Path,
        schema_if_new: impl FnOnce() -> Result<Schema, StoreError>,
        plan: impl FnOnce(&Store) -> Result<(Addition, R), StoreError>,
    ) -> Result<(Store, bool, R), StoreError> {
        let dir_existed = dir.is_dir();
        fs::create_dir_all(dir).map_err(|source| StoreError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let imported = Store::import_records_locked(dir, schema_if_new, plan);
        if imported.is_err() && !dir_existed {
            // Only if still empty: nothing of this import is left behind.
            let _ = fs::remove_dir(dir);
        }
        imported
    }

    fn import_records_locked<R>(
        dir: &Path,
        schema_if_new: impl FnOnce() -> Result<Schema, StoreError>,
        plan: impl FnOnce(&Store) -> Result<(Addition, R), StoreError>,
    ) -> Result<(Store, bool, R), StoreError> {
        let _lock = StoreLock::exclusive(dir)?;
        let files = [SCHEMA_FILE, PARAGRAPHS_FILE, ANNOTATIONS_FILE].map(|name| dir.join(name));
        let created = files.iter().all(|path| !path.exists());
        let mut store = if created {
            Store {
                dir: dir.to_path_buf(),
                schema: schema_if_new()?,
                paragraphs: Vec::new(),
                index: BTreeMap::new(),
                ledger: Ledger::default(),
            }
        } else {
            let (store, torn) = Store::read_unlocked(dir)?;
            if let Some(torn) = torn {
                return Err(store.torn_error(&torn));
            }
            store
        };
        let (addition, planned) = plan(&store)?;
        let Addition {
            paragraphs,
            decisions,
        } = addition;

        // Checked as a whole before anything is written.
        let added = !paragraphs.is_empty();
        for paragraph in paragraphs {
            let id = paragraph.id().clone();
            if store
                .index
                .insert(id.clone(), store.paragraphs.len())
                .is_some()
            {
                return Err(StoreError::Entry(EntryError::DuplicateParagraph {
                    id: id.to_string(),
                }));
            }
            store.paragraphs.push(paragraph);
        }
        let mut log = String::new();
        for annotation in &decisions {
            if let Annotation::Decision(decision) = annotation {
                store.check_labelable(decision.paragraph())?;
            }
            store
                .ledger
                .apply(annotation.clone())
                .map_err(|err| StoreError::Entry(EntryError::NothingToRetract(err)))?;
            log.push_str(&records::annotation_line(annotation, &store.schema)?);
        }

        let [schema_path, paragraphs_path, annotations_path] = files;
        let write = |files: &[(PathBuf, &[u8])]| {
            crate::persist::write_all_atomic(files).map_err(|source| StoreError::Write {
                path: dir.to_path_buf(),
                source,
            })
        };
        if created {
            let schema = store.schema.to_toml();
            write(&[
                (schema_path, schema.as_bytes()),
                (paragraphs_path.clone(), b""),
                (annotations_path.clone(), b""),
            ])?;
        }
        let mut replaced: Vec<(PathBuf, &[u8])> = Vec::new();
        let body;
        if added {
            body = store
                .paragraphs
                .iter()
                .map(records::paragraph_line)
                .collect::<Result<String, EntryError>>()?;
            replaced.push((paragraphs_path, body.as_bytes()));
        }
        let annotations;
        if !log.is_empty() {
            writable_log(&annotations_path)?;
            let mut old = fs::read(&annotations_path).map_err(|source| StoreError::Read {
                path: annotations_path.clone(),
                source,
            })?;
            if !old.is_empty() && !old.ends_with(b"\n") {
                old.push(b'\n');
            }
            old.extend_from_slice(log.as_bytes());
            annotations = old;
            replaced.push((annotations_path, &annotations));
        }
        if !replaced.is_empty() {
            write(&replaced)?;
        }
        Ok((store, created, planned))
    }

    fn article_path(&self, id: &ArticleId) -> PathBuf {
        self.dir.join(ARTICLES_DIR).join(format!("{id}.txt"))
    }

    fn article_fields_path(&self, id: &ArticleId) -> PathBuf {
        self.dir.join(ARTICLES_DIR).join(format!("{id}.json"))
    }

    /// The fields an article's record had beside its text (source, date, title …), as
    /// `stance ingest` of JSON Lines kept them in `articles/<id>.json`; `None` for an article
    /// ingested from a text file.
    pub fn article_fields(
        &self,
        id: &ArticleId,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, StoreError> {
        let path = self.article_fields_path(id);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        crate::persist::parse_line(text.trim_end())
            .map(Some)
            .map_err(|source| StoreError::Line {
                path,
                line: 1,
                source: EntryError::Json(source),
            })
    }
}

/// The line kept in `articles/<id>.json`: the article's fields, keys in order.
fn fields_line(article: &Article) -> Result<String, StoreError> {
    let mut line = serde_json::to_string(article.fields()).map_err(EntryError::Serialize)?;
    line.push('\n');
    Ok(line)
}

/// What an import adds to a store ([`Store::import_records`]).
#[derive(Debug, Default)]
pub(super) struct Addition {
    /// New paragraphs, after the stored ones in this order.
    pub(super) paragraphs: Vec<Paragraph>,
    /// Annotations appended to the log, in this order.
    pub(super) decisions: Vec<Annotation>,
}

/// What [`Store::plan_ingest`] decided.
struct IngestPlan<'a> {
    reports: Vec<IngestReport>,
    /// The store's paragraphs once the articles are in, and their index.
    paragraphs: Vec<Paragraph>,
    index: BTreeMap<ParagraphId, usize>,
    /// Files to write: the copies of new or changed articles, and their fields.
    copies: Vec<(PathBuf, Cow<'a, [u8]>)>,
}

/// The report of ingesting `article`, whose stored blocks are `old` (none if new), as
/// `incoming` (its distinct blocks; `duplicates` repeats dropped); `decisions` are every
/// current label, for counting those orphaned.
fn compare_article(
    article: &ArticleId,
    old: &[Paragraph],
    incoming: &[Paragraph],
    duplicates: usize,
    decisions: &[&Decision],
) -> IngestReport {
    let status = if old.is_empty() {
        IngestStatus::New
    } else if old == incoming {
        IngestStatus::Unchanged
    } else {
        let old_ids: BTreeSet<&ParagraphId> = old.iter().map(Paragraph::id).collect();
        let new_ids: BTreeSet<&ParagraphId> = incoming.iter().map(Paragraph::id).collect();
        let kept = old_ids.intersection(&new_ids).count();
        IngestStatus::Changed {
            kept,
            added: new_ids.len() - kept,
            removed: old_ids.len() - kept,
        }
    };
    let labelable_ids = |ps: &[Paragraph]| -> BTreeSet<ParagraphId> {
        ps.iter()
            .filter(|p| p.is_labelable())
            .map(|p| p.id().clone())
            .collect()
    };
    let leaving: BTreeSet<ParagraphId> = labelable_ids(old)
        .difference(&labelable_ids(incoming))
        .cloned()
        .collect();
    let orphaned = if leaving.is_empty() {
        0
    } else {
        decisions
            .iter()
            .filter(|decision| leaving.contains(decision.paragraph()))
            .count()
    };
    let count = |kind| incoming.iter().filter(|p| p.kind() == kind).count();
    IngestReport {
        article: article.clone(),
        status,
        paragraphs: count(BlockKind::Paragraph),
        headings: count(BlockKind::Heading),
        bylines: count(BlockKind::Byline),
        duplicates,
        orphaned,
    }
}

/// The blocks with a first-seen id, and how many repeats were dropped.
fn distinct_blocks(blocks: &[Block]) -> (Vec<&Block>, usize) {
    let mut seen = BTreeSet::new();
    let distinct: Vec<&Block> = blocks.iter().filter(|b| seen.insert(b.id())).collect();
    let duplicates = blocks.len() - distinct.len();
    (distinct, duplicates)
}

/// Id → position, refusing an id used by two articles.
fn index_paragraphs(paragraphs: &[Paragraph]) -> Result<BTreeMap<ParagraphId, usize>, StoreError> {
    let mut index = BTreeMap::new();
    for (i, paragraph) in paragraphs.iter().enumerate() {
        if let Some(other) = index.insert(paragraph.id().clone(), i) {
            return Err(StoreError::IdCollision {
                id: paragraph.id().to_string(),
                article: paragraph.article().to_string(),
                other: paragraphs[other].article().to_string(),
            });
        }
    }
    Ok(index)
}

/// Non-blank lines with their one-based numbers; a trailing `\r` is ignored.
fn jsonl_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
        .filter(|(_, line)| !line.trim().is_empty())
}

fn read_store_file(path: &Path, what: &'static str) -> Result<String, StoreError> {
    let bytes = read_store_bytes(path, what)?;
    utf8(path, bytes)
}

/// A store file's bytes; a missing one is named as such.
fn read_store_bytes(path: &Path, what: &'static str) -> Result<Vec<u8>, StoreError> {
    fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            StoreError::MissingFile {
                path: path.to_path_buf(),
                what,
            }
        } else {
            StoreError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// A whole file as UTF-8 text; a bad byte is named by its offset.
pub(super) fn read_utf8(path: &Path) -> Result<String, StoreError> {
    let bytes = fs::read(path).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    utf8(path, bytes)
}

fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|err| StoreError::NotUtf8 {
        path: path.to_path_buf(),
        offset: err.utf8_error().valid_up_to(),
    })
}

/// The torn last line of a log's `bytes`, if an interrupted write left one: bytes after the
/// last newline that stop inside a JSON value or inside a character. A last line that is
/// whole but lacks its newline (an edit by hand) is not torn, nor is one that is wrong in
/// some other way (that is an error of its line, as anywhere else).
pub(super) fn torn_line(bytes: &[u8]) -> Option<TornLine> {
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return None;
    }
    let start = memchr::memrchr(b'\n', bytes).map_or(0, |newline| newline + 1);
    let tail = &bytes[start..];
    let torn = match std::str::from_utf8(tail) {
        // Cut inside a character.
        Err(err) => err.error_len().is_none(),
        Ok(text) if text.trim().is_empty() => false,
        Ok(text) => crate::persist::parse_line::<serde::de::IgnoredAny>(text)
            .is_err_and(|err| err.truncated),
    };
    torn.then(|| TornLine {
        line: bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1,
        offset: start as u64,
        bytes: tail.len() as u64,
        start: String::from_utf8_lossy(&tail[..tail.len().min(60)]).into_owned(),
    })
}

/// Temporary files that interrupted writes left in the store directory or its `articles/`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = crate::persist::leftover_temporaries(dir, |_| true, None);
    found.extend(crate::persist::leftover_temporaries(
        &dir.join(ARTICLES_DIR),
        |_| true,
        None,
    ));
    found
}

/// Replaces `path` with `bytes` atomically ([`crate::persist`]).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::persist::write_atomic(path, bytes).map_err(|source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Why an append did not happen.
enum Append {
    /// The log ends in a torn line: nothing is written after it until it is repaired.
    Torn(TornLine),
    Store(StoreError),
}

impl From<StoreError> for Append {
    fn from(err: StoreError) -> Append {
        Append::Store(err)
    }
}

/// The log's metadata, refusing a missing or read-only log.
fn writable_log(path: &Path) -> Result<fs::Metadata, StoreError> {
    let meta = fs::metadata(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            StoreError::MissingFile {
                path: path.to_path_buf(),
                what: "the annotations",
            }
        } else {
            StoreError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    // Honour a file marked read-only even when the OS would let us write (running as root).
    if meta.permissions().readonly() {
        return Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    Ok(meta)
}

/// Appends `bytes` to the log with one `write`, then syncs; on any error the log is cut back
/// to its length before, so that no part of `bytes` stays. A log whose last line lacks its
/// newline but is whole (edited by hand) gets one first, so records never run together. The
/// caller holds the store lock.
fn append_in_place(path: &Path, bytes: &[u8]) -> Result<(), Append> {
    writable_log(path)?;
    let failed = |source| {
        Append::Store(StoreError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(failed)?;
    let length = file.metadata().map_err(failed)?.len();
    let mut buf = Vec::with_capacity(bytes.len() + 1);
    if length > 0 && !ends_with_newline(&mut file, length).map_err(failed)? {
        let tail = last_line(&mut file, length).map_err(failed)?;
        let mut whole = vec![b'\n'; 1];
        whole.extend_from_slice(&tail);
        if let Some(mut torn) = torn_line(&whole) {
            torn.offset = length - torn.bytes;
            torn.line = count_lines(&mut file, torn.offset).map_err(failed)?;
            return Err(Append::Torn(torn));
        }
        buf.push(b'\n');
    }
    buf.extend_from_slice(bytes);
    let written = file.write_all(&buf).and_then(|()| file.sync_data());
    if let Err(err) = written {
        // Best effort: the error that matters is the write's.
        let _ = file.set_len(length).and_then(|()| file.sync_data());
        return Err(failed(err));
    }
    Ok(())
}

/// Writes the log with `bytes` after it to a temporary file and renames it over the log: all
/// of `bytes` or none, however the process ends. The caller holds the store lock, so no other
/// append falls between the copy and the rename.
fn append_by_replacing(path: &Path, bytes: &[u8]) -> Result<(), Append> {
    writable_log(path)?;
    let old = fs::read(path).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(torn) = torn_line(&old) {
        return Err(Append::Torn(torn));
    }
    let separator: &[u8] = if old.is_empty() || old.ends_with(b"\n") {
        b""
    } else {
        b"\n"
    };
    crate::persist::write_atomic_with(path, |out| {
        out.write_all(&old)?;
        out.write_all(separator)?;
        out.write_all(bytes)
    })
    .map_err(|source| {
        Append::Store(StoreError::Write {
            path: path.to_path_buf(),
            source,
        })
    })
}

fn ends_with_newline(file: &mut fs::File, length: u64) -> std::io::Result<bool> {
    let mut last = [0u8];
    file.seek(SeekFrom::Start(length - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// The bytes after the last newline of the first `length` bytes of `file`.
fn last_line(file: &mut fs::File, length: u64) -> std::io::Result<Vec<u8>> {
    const CHUNK: u64 = 64 * 1024;
    let mut tail = Vec::new();
    let mut end = length;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        if let Some(newline) = memchr::memrchr(b'\n', &chunk) {
            chunk.drain(..=newline);
            chunk.extend_from_slice(&tail);
            return Ok(chunk);
        }
        chunk.extend_from_slice(&tail);
        tail = chunk;
        end = start;
    }
    Ok(tail)
}

/// The one-based number of the line that starts at byte `offset` of `file`.
fn count_lines(file: &mut fs::File, offset: u64) -> std::io::Result<usize> {
    file.seek(SeekFrom::Start(0))?;
    let mut head = Vec::new();
    file.take(offset).read_to_end(&mut head)?;
    Ok(memchr::memchr_iter(b'\n', &head).count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Annotator, Decision, Retraction};

    fn article(id: &str, text: &str) -> Article {
        Article::new(ArticleId::new(id).unwrap(), text.to_owned()).unwrap()
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        (dir, store)
    }

    fn decide(store: &Store, text: &str, label: &str, who: &str) -> Annotation {
        crate::labels::test_support::decision(store, text, label, who, Confidence::High)
    }

    fn labels_of(store: &Store, who: &str) -> Vec<(String, String)> {
        store
            .labelled(who)
            .iter()
            .map(|l| (l.text().to_owned(), l.label().to_owned()))
            .collect()
    }

    #[test]
    fn new_store_is_empty_with_the_default_schema() {
        let (_dir, store) = store();
        assert!(store.paragraphs().is_empty());
        assert_eq!(store.schema(), &Schema::default_schema());
        assert!(store.annotators().is_empty());
    }

    #[test]
    fn missing_store_is_an_error_pointing_to_ingest() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open(&dir.path().join("nowhere")).unwrap_err();
        assert!(err.to_string().contains("stance ingest"), "{err}");
    }

    #[test]
    fn ingest_is_idempotent_and_keeps_order() {
        let (_dir, mut store) = store();
        let first = [article("b", "Title\nOne.\nTwo."), article("a", "Three.")];
        let reports = store.ingest(&first).unwrap();
        assert_eq!(reports[0].status, IngestStatus::New);
        assert_eq!((reports[0].paragraphs, reports[0].headings), (2, 1));
        let before = fs::read(store.dir().join(PARAGRAPHS_FILE)).unwrap();
        let modified = fs::metadata(store.dir().join(PARAGRAPHS_FILE))
            .unwrap()
            .modified()
            .unwrap();

        let reports = store.ingest(&first).unwrap();
        assert!(reports.iter().all(|r| r.status == IngestStatus::Unchanged));
        assert_eq!(fs::read(store.dir().join(PARAGRAPHS_FILE)).unwrap(), before);
        assert_eq!(
            fs::metadata(store.dir().join(PARAGRAPHS_FILE))
                .unwrap()
                .modified()
                .unwrap(),
            modified
        );

        let reopened = Store::open(store.dir()).unwrap();
        let texts: Vec<&str> = reopened.paragraphs().iter().map(Paragraph::text).collect();
        assert_eq!(texts, ["Title", "One.", "Two.", "Three."]);
        assert_eq!(
            reopened.articles(),
            [&ArticleId::new("b").unwrap(), &ArticleId::new("a").unwrap()]
        );
    }

    #[test]
    fn changed_article_orphans_labels_and_keeps_them() {
        let (_dir, mut store) = store();
        store
            .ingest(&[article("a", "One.\nTwo."), article("b", "Other.")])
            .unwrap();
        let decisions = [
            decide(&store, "One.", "stable", "x"),
            decide(&store, "Two.", "fracturing", "x"),
        ];
        store.append(&decisions).unwrap();

        let reports = store.ingest(&[article("a", "One.\nTwo, edited.")]).unwrap();
        assert_eq!(
            reports[0].status,
            IngestStatus::Changed {
                kept: 1,
                added: 1,
                removed: 1
            }
        );
        assert_eq!(reports[0].orphaned, 1);

        let store = Store::open(store.dir()).unwrap();
        assert_eq!(labels_of(&store, "x"), [("One.".into(), "stable".into())]);
        let orphans = store.orphans();
        assert_eq!(orphans.len(), 1);
        assert_eq!(orphans[0].label(), "fracturing");
        // The edited article keeps its place before `b`.
        let texts: Vec<&str> = store.paragraphs().iter().map(Paragraph::text).collect();
        assert_eq!(texts, ["One.", "Two, edited.", "Other."]);
    }

    #[test]
    fn reingesting_the_old_text_brings_orphans_back() {
        let (_dir, mut store) = store();
        store.ingest(&[article("a", "One.")]).unwrap();
        let decision = decide(&store, "One.", "stable", "x");
        store.append(&[decision]).unwrap();
        store.ingest(&[article("a", "Uno.")]).unwrap();
        assert_eq!(store.orphans().len(), 1);
        store.ingest(&[article("a", "One.")]).unwrap();
        assert!(store.orphans().is_empty());
        assert_eq!(labels_of(&store, "x"), [("One.".into(), "stable".into())]);
    }

    #[test]
    fn append_refuses_unknown_and_unlabelable_paragraphs() {
        let (_dir, mut store) = store();
        store
            .ingest(&[article("a", "Heading here\nBody.")])
            .unwrap();
        let heading = decide(&store, "Heading here", "stable", "x");
        let err = store.append(&[heading]).unwrap_err();
        assert!(err.to_string().contains("is a heading"), "{err}");
        let unknown = Annotation::Decision(Decision::new(
            ParagraphId::parse("0123456789ab").unwrap(),
            store.schema().index_of("stable").unwrap(),
            Annotator::new("x").unwrap(),
            Confidence::High,
            Timestamp::UNIX_EPOCH,
        ));
        let err = store.append(&[unknown]).unwrap_err();
        assert!(err.to_string().contains("unknown paragraph id"), "{err}");
        assert_eq!(fs::read(store.annotations_path()).unwrap(), b"");
    }

    #[test]
    fn retraction_appends_and_restores() {
        let (_dir, mut store) = store();
        store.ingest(&[article("a", "One.")]).unwrap();
        let stable = decide(&store, "One.", "stable", "x");
        let neither = decide(&store, "One.", "neither", "x");
        let id = stable.paragraph().clone();
        let retract = Annotation::Retraction(Retraction::new(
            id,
            Annotator::new("x").unwrap(),
            Timestamp::UNIX_EPOCH,
        ));
        store.append(&[stable, neither, retract.clone()]).unwrap();
        assert_eq!(labels_of(&store, "x"), [("One.".into(), "stable".into())]);
        store.append(std::slice::from_ref(&retract)).unwrap();
        assert!(store.append(&[retract]).is_err());
        let log = fs::read_to_string(store.annotations_path()).unwrap();
        assert_eq!(log.lines().count(), 4);
        assert!(Store::open(store.dir()).unwrap().labelled("x").is_empty());
    }

    #[test]
    fn append_repairs_a_missing_final_newline() {
        let (_dir, mut store) = store();
        store.ingest(&[article("a", "One.\nTwo.")]).unwrap();
        let first = decide(&store, "One.", "stable", "x");
        store.append(&[first]).unwrap();
        let path = store.annotations_path();
        let log = fs::read_to_string(&path).unwrap();
        fs::write(&path, log.trim_end()).unwrap();
        let second = decide(&store, "Two.", "stable", "x");
        store.append(&[second]).unwrap();
        assert_eq!(Store::open(store.dir()).unwrap().labelled("x").len(), 2);
    }

    #[test]
    fn duplicate_lines_are_kept_once() {
        let (_dir, mut store) = store();
        let reports = store
            .ingest(&[article("a", "Su agrees.\nMore.\nSu agrees.")])
            .unwrap();
        assert_eq!(reports[0].duplicates, 1);
        assert_eq!(store.paragraphs().len(), 2);
    }

    #[test]
    fn same_article_twice_in_one_ingest_is_refused() {
        let (_dir, mut store) = store();
        let err = store
            .ingest(&[article("a", "One."), article("a", "Two.")])
            .unwrap_err();
        assert!(matches!(err, StoreError::DuplicateArticle { .. }));
        assert!(store.paragraphs().is_empty());
    }

    /// A store with three paragraphs and `x`'s decisions on the first two, the second with a
    /// note in several scripts (so that a cut may fall inside a character).
    fn logged() -> (tempfile::TempDir, Store, Vec<u8>) {
        let (dir, mut store) = store();
        store.ingest(&[article("a", "One.\nTwo.\nThree.")]).unwrap();
        let first = decide(&store, "One.", "stable", "x");
        store.append(&[first]).unwrap();
        let Annotation::Decision(second) = decide(&store, "Two.", "fracturing", "x") else {
            unreachable!()
        };
        let second = second.with_note(Some("Kim’s “ally” — 北京".to_owned()));
        store.append(&[Annotation::Decision(second)]).unwrap();
        let log = fs::read(store.annotations_path()).unwrap();
        (dir, store, log)
    }

    #[test]
    fn a_torn_last_line_is_found_wherever_the_cut_falls() {
        let (_dir, _store, log) = logged();
        let second_start = log[..log.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in 0..=log.len() {
            let torn = torn_line(&log[..cut]);
            let expected = if cut == log.len() || cut == log.len() - 1 {
                None // whole, or whole but for its newline
            } else if cut > second_start {
                Some((2, second_start as u64))
            } else if cut == second_start || cut == second_start - 1 || cut == 0 {
                None
            } else {
                Some((1, 0))
            };
            assert_eq!(
                torn.as_ref().map(|torn| (torn.line, torn.offset)),
                expected,
                "cut at {cut}"
            );
            if let Some(torn) = torn {
                assert_eq!(torn.offset + torn.bytes, cut as u64);
            }
        }
        // A last line wrong in another way is the line's own error, not a torn line.
        assert_eq!(torn_line(b"{\"a\":1}\n{\"a\" 2}"), None);
        assert_eq!(torn_line(b"{\"a\":1}\n\xff\xfe{"), None);
    }

    #[test]
    fn a_torn_last_line_is_refused_reported_and_repaired_without_touching_the_rest() {
        let (_dir, mut store, log) = logged();
        let path = store.annotations_path();
        let torn = b"{\"paragraph\":\"0123456789ab\",\"label\":\"sta";
        let mut with_torn = log.clone();
        with_torn.extend_from_slice(torn);
        fs::write(&path, &with_torn).unwrap();

        let err = Store::open(store.dir()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}:3: the last line is incomplete ({} bytes without an end, left by an \
                 interrupted write); every line before it is intact. `stance labels repair \
                 --store {}` removes it",
                path.display(),
                torn.len(),
                store.dir().display()
            )
        );
        let (read, health) = Store::open_reporting(store.dir()).unwrap();
        assert_eq!(labels_of(&read, "x").len(), 2);
        let found = health.torn.clone().unwrap();
        assert_eq!(
            (found.line, found.offset, found.bytes),
            (3, log.len() as u64, torn.len() as u64)
        );

        // Nothing is written after a torn line, by any writer.
        let third = decide(&store, "Three.", "neither", "x");
        assert!(matches!(
            store.append(std::slice::from_ref(&third)),
            Err(StoreError::TornLine { line: 3, .. })
        ));
        let both = [third.clone(), decide(&store, "One.", "neither", "y")];
        assert!(matches!(
            store.append(&both),
            Err(StoreError::TornLine { .. })
        ));
        assert!(matches!(
            store.ingest(&[article("b", "Four.")]),
            Err(StoreError::TornLine { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), with_torn);

        let repair = Store::repair(store.dir()).unwrap();
        assert_eq!(repair.torn, health.torn);
        assert_eq!(fs::read(&path).unwrap(), log);
        let mut store = Store::open(store.dir()).unwrap();
        store.append(&[third]).unwrap();
        assert_eq!(labels_of(&store, "x").len(), 3);
        assert_eq!(Store::repair(store.dir()).unwrap(), Repair::default());
    }

    #[test]
    fn a_batch_is_appended_whole_after_a_line_without_its_newline() {
        let (_dir, mut store, log) = logged();
        let path = store.annotations_path();
        fs::write(&path, &log[..log.len() - 1]).unwrap();
        let batch = [
            decide(&store, "Three.", "neither", "x"),
            decide(&store, "One.", "neither", "y"),
        ];
        store.append(&batch).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(std::str::from_utf8(&log).unwrap()),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4);
        assert_eq!(Store::open(store.dir()).unwrap().labelled("x").len(), 3);
    }

    #[test]
    fn leftover_temporaries_are_reported_and_repair_removes_only_them() {
        let (_dir, store) = store();
        let stale = [
            store.dir().join(".paragraphs.jsonl.a1B2c3.tmp"),
            store.dir().join(".annotations.jsonl.tmp4242"),
            store.dir().join("articles/.a.txt.zZ9yY8.tmp"),
        ];
        for path in &stale {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "half").unwrap();
        }
        let kept = store.dir().join("notes.tmp");
        fs::write(&kept, "mine").unwrap();
        let (_, health) = Store::open_reporting(store.dir()).unwrap();
        let mut expected = stale.to_vec();
        expected.sort();
        let mut found = health.leftovers.clone();
        found.sort();
        assert_eq!(found, expected);

        // One still held by a writer is neither reported nor removed.
        let held = store.dir().join(".schema.toml.q1w2e3.tmp");
        fs::write(&held, "writing").unwrap();
        let handle = fs::File::open(&held).unwrap();
        handle.lock().unwrap();
        let (_, health) = Store::open_reporting(store.dir()).unwrap();
        assert!(!health.leftovers.contains(&held));
        let repair = Store::repair(store.dir()).unwrap();
        let mut removed = repair.leftovers.clone();
        removed.sort();
        assert_eq!(removed, expected);
        assert!(stale.iter().all(|path| !path.exists()));
        assert!(held.exists() && kept.exists());
    }
}
