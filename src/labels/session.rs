//! The labelling session as a state machine: keys in, annotations to append and a view to
//! show out.
//!
//! [`Session`] starts at the first paragraph the annotator has not labelled, moves to the
//! next unlabelled one after each decision (wrapping round, so skipped paragraphs come back),
//! and undoes this session's decisions one by one. It does no I/O and knows nothing about
//! terminals: the caller reads keys, calls [`Session::apply`], writes the returned
//! annotation *before* taking the next key, and draws [`Session::view`]. If the write fails,
//! the caller must end the session (the state has already moved on).

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;

use super::annotations::{Annotation, Annotator, Confidence, Decision, Retraction};
use super::schema::ClassIdx;
use super::store::Store;
use crate::corpus::{ArticleId, ParagraphId};

/// Keys that are not class keys.
const LOW_KEY: char = 'l';
const UNDO_KEY: char = 'u';
const QUIT_KEY: char = 'q';

/// A key press, as far as the session cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Right,
    Escape,
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Label the current paragraph with this class.
    Label(ClassIdx),
    /// Mark the decision about to be made as low-confidence (or not).
    ToggleLow,
    Skip,
    /// Retract this session's last decision and go back to its paragraph.
    Undo,
    Quit,
}

/// What the caller must do after an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Redraw and read the next key.
    Continue,
    /// Append this annotation to the store (and sync it), then redraw.
    Append(Annotation),
    /// Leave the session.
    Quit,
}

/// A class with its key, for the legend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedClass {
    key: char,
    class: ClassIdx,
    name: String,
    definition: String,
}

impl KeyedClass {
    pub fn key(&self) -> char {
        self.key
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn definition(&self) -> &str {
        &self.definition
    }
}

/// Why a session cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(
        "classes `{first}` and `{second}` both start with `{key}`; `stance label` keys each class by its first letter, so rename one in schema.toml"
    )]
    AmbiguousKeys {
        key: char,
        first: String,
        second: String,
    },
    #[error(
        "class `{class}` starts with `{key}`, the key for {action}; rename the class in schema.toml"
    )]
    ReservedKey {
        key: char,
        class: String,
        action: &'static str,
    },
    #[error("the store has no paragraphs to label (add articles with `stance ingest ARTICLE.txt`)")]
    NothingToLabel,
}

/// A short message about what just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Saved {
        label: String,
        low: bool,
    },
    Undone {
        label: String,
    },
    NothingToUndo,
    /// Skipping came back to the same paragraph.
    OnlyOneLeft,
    AllLabelled,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Saved { label, low: false } => write!(f, "saved: {label}"),
            Notice::Saved { label, low: true } => write!(f, "saved: {label} (low confidence)"),
            Notice::Undone { label } => write!(f, "undone: {label}"),
            Notice::NothingToUndo => f.write_str("nothing to undo in this session"),
            Notice::OnlyOneLeft => f.write_str("this is the only paragraph left"),
            Notice::AllLabelled => f.write_str("every paragraph is labelled"),
        }
    }
}

/// What to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View<'s> {
    Paragraph(ParagraphView<'s>),
    /// Nothing left to label.
    Done {
        total: usize,
    },
}

/// The paragraph being labelled and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParagraphView<'s> {
    pub id: &'s ParagraphId,
    pub article: &'s ArticleId,
    /// One-based position among the article's paragraphs to label.
    pub nth: usize,
    pub of: usize,
    /// Paragraphs (of all articles) this annotator has not labelled.
    pub left: usize,
    pub total: usize,
    pub text: &'s str,
    /// The next decision will be low-confidence.
    pub low: bool,
}

/// How a session went, for the line printed on leaving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub annotator: Annotator,
    /// Decisions written, undone ones included.
    pub saved: usize,
    /// Retractions written.
    pub undone: usize,
    pub labelled: usize,
    pub total: usize,
}

impl fmt::Display for SessionSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{}: {} decision{} saved",
            self.annotator,
            self.saved,
            plural(self.saved)
        )?;
        if self.undone > 0 {
            write!(f, ", {} undone", self.undone)?;
        }
        write!(
            f,
            "; {} of {} paragraphs labelled, {} left",
            self.labelled,
            self.total,
            self.total - self.labelled
        )
    }
}

#[derive(Debug, Clone)]
struct Item {
    id: ParagraphId,
    article: ArticleId,
    nth: usize,
    of: usize,
    text: String,
}

/// One annotator labelling the store's paragraphs.
#[derive(Debug, Clone)]
pub struct Session {
    annotator: Annotator,
    classes: Vec<KeyedClass>,
    items: Vec<Item>,
    /// Whether the annotator has a current label on each item.
    labelled: Vec<bool>,
    cursor: Option<usize>,
    low: bool,
    /// Items decided in this session and the class given, for undo.
    history: Vec<(usize, ClassIdx)>,
    notice: Option<Notice>,
    saved: usize,
    undone: usize,
}

impl Session {
    /// A session over the store's labelable paragraphs, resuming where `annotator` stopped.
    pub fn new(store: &Store, annotator: Annotator) -> Result<Session, SessionError> {
        let classes = keyed_classes(store)?;
        let labelable: Vec<_> = store
            .paragraphs()
            .iter()
            .filter(|p| p.is_labelable())
            .collect();
        if labelable.is_empty() {
            return Err(SessionError::NothingToLabel);
        }
        let mut per_article: BTreeMap<&ArticleId, usize> = BTreeMap::new();
        for paragraph in &labelable {
            *per_article.entry(paragraph.article()).or_default() += 1;
        }
        let mut seen: BTreeMap<&ArticleId, usize> = BTreeMap::new();
        let items: Vec<Item> = labelable
            .iter()
            .map(|paragraph| {
                let nth = seen.entry(paragraph.article()).or_default();
                *nth += 1;
                Item {
                    id: paragraph.id().clone(),
                    article: paragraph.article().clone(),
                    nth: *nth,
                    of: per_article[paragraph.article()],
                    text: paragraph.text().to_owned(),
                }
            })
            .collect();
        let labelled = items
            .iter()
            .map(|item| store.current(annotator.as_str(), &item.id).is_some())
            .collect();
        let mut session = Session {
            annotator,
            classes,
            items,
            labelled,
            cursor: None,
            low: false,
            history: Vec::new(),
            notice: None,
            saved: 0,
            undone: 0,
        };
        session.cursor = session.labelled.iter().position(|&done| !done);
        Ok(session)
    }

    pub fn annotator(&self) -> &Annotator {
        &self.annotator
    }

    /// The classes with their keys, in schema order.
    pub fn classes(&self) -> &[KeyedClass] {
        &self.classes
    }

    /// The action bound to `key`, if any. Letters are case-insensitive.
    pub fn action(&self, key: Key) -> Option<Action> {
        match key {
            Key::Right | Key::Char(' ') => Some(Action::Skip),
            Key::Escape => Some(Action::Quit),
            Key::Char(c) => match c.to_ascii_lowercase() {
                LOW_KEY => Some(Action::ToggleLow),
                UNDO_KEY => Some(Action::Undo),
                QUIT_KEY => Some(Action::Quit),
                c => self
                    .classes
                    .iter()
                    .find(|class| class.key == c)
                    .map(|class| Action::Label(class.class)),
            },
        }
    }

    /// Carries out `action`; `now` stamps any annotation it produces.
    pub fn apply(&mut self, action: Action, now: Timestamp) -> Step {
        self.notice = None;
        match action {
            Action::Quit => Step::Quit,
            Action::Undo => self.undo(now),
            Action::ToggleLow | Action::Skip | Action::Label(_) => {
                let Some(cursor) = self.cursor else {
                    self.notice = Some(Notice::AllLabelled);
                    return Step::Continue;
                };
                match action {
                    Action::ToggleLow => {
                        self.low = !self.low;
                        Step::Continue
                    }
                    Action::Skip => {
                        let next = self.next_unlabelled(cursor);
                        if next == Some(cursor) {
                            self.notice = Some(Notice::OnlyOneLeft);
                        }
                        self.move_to(next);
                        Step::Continue
                    }
                    Action::Label(class) => self.label(cursor, class, now),
                    Action::Quit | Action::Undo => Step::Continue,
                }
            }
        }
    }

    fn label(&mut self, cursor: usize, class: ClassIdx, now: Timestamp) -> Step {
        let confidence = if self.low {
            Confidence::Low
        } else {
            Confidence::High
        };
        self.labelled[cursor] = true;
        self.history.push((cursor, class));
        self.saved += 1;
        self.notice = Some(Notice::Saved {
            label: self.class_name(class).to_owned(),
            low: self.low,
        });
        let next = self.next_unlabelled(cursor);
        self.move_to(next);
        Step::Append(Annotation::Decision(Decision::new(
            self.items[cursor].id.clone(),
            class,
            self.annotator.clone(),
            confidence,
            now,
        )))
    }

    fn undo(&mut self, now: Timestamp) -> Step {
        let Some((item, class)) = self.history.pop() else {
            self.notice = Some(Notice::NothingToUndo);
            return Step::Continue;
        };
        self.labelled[item] = false;
        let label = self.class_name(class).to_owned();
        self.undone += 1;
        self.notice = Some(Notice::Undone { label });
        self.move_to(Some(item));
        Step::Append(Annotation::Retraction(Retraction::new(
            self.items[item].id.clone(),
            self.annotator.clone(),
            now,
        )))
    }

    fn move_to(&mut self, cursor: Option<usize>) {
        if cursor != self.cursor {
            self.low = false;
        }
        self.cursor = cursor;
    }

    /// The first unlabelled item after `after`, wrapping round (possibly `after` itself).
    fn next_unlabelled(&self, after: usize) -> Option<usize> {
        let n = self.items.len();
        (1..=n)
            .map(|k| (after + k) % n)
            .find(|&i| !self.labelled[i])
    }

    fn class_name(&self, class: ClassIdx) -> &str {
        self.classes
            .iter()
            .find(|keyed| keyed.class == class)
            .map_or("", |keyed| keyed.name.as_str())
    }

    fn left(&self) -> usize {
        self.labelled.iter().filter(|&&done| !done).count()
    }

    /// What to draw now.
    pub fn view(&self) -> View<'_> {
        let Some(cursor) = self.cursor else {
            return View::Done {
                total: self.items.len(),
            };
        };
        let item = &self.items[cursor];
        View::Paragraph(ParagraphView {
            id: &item.id,
            article: &item.article,
            nth: item.nth,
            of: item.of,
            left: self.left(),
            total: self.items.len(),
            text: &item.text,
            low: self.low,
        })
    }

    /// What just happened, if worth saying.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    pub fn summary(&self) -> SessionSummary {
        SessionSummary {
            annotator: self.annotator.clone(),
            saved: self.saved,
            undone: self.undone,
            labelled: self.items.len() - self.left(),
            total: self.items.len(),
        }
    }
}

/// Each class keyed by its first letter; refuses two classes on one key, or a class on a
/// control key.
fn keyed_classes(store: &Store) -> Result<Vec<KeyedClass>, SessionError> {
    let schema = store.schema();
    let mut keyed: Vec<KeyedClass> = Vec::with_capacity(schema.len());
    for class in schema.indices() {
        let name = schema.class(class).name();
        // Schema names start with an ASCII lowercase letter.
        let key = name.chars().next().unwrap_or('?');
        let reserved = match key {
            LOW_KEY => Some("low confidence"),
            UNDO_KEY => Some("undo"),
            QUIT_KEY => Some("quit"),
            _ => None,
        };
        if let Some(action) = reserved {
            return Err(SessionError::ReservedKey {
                key,
                class: name.to_owned(),
                action,
            });
        }
        if let Some(other) = keyed.iter().find(|k| k.key == key) {
            return Err(SessionError::AmbiguousKeys {
                key,
                first: other.name.clone(),
                second: name.to_owned(),
            });
        }
        keyed.push(KeyedClass {
            key,
            class,
            name: name.to_owned(),
            definition: schema.class(class).definition().to_owned(),
        });
    }
    Ok(keyed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Article;

    const TEXT: &str = "One.\nTwo.\nA heading\nThree.";

    fn store_with(labels: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        let article = Article::new(ArticleId::new("art").unwrap(), TEXT.to_owned()).unwrap();
        store.ingest(&[article]).unwrap();
        let decisions: Vec<Annotation> = labels
            .iter()
            .map(|&(text, label)| {
                crate::labels::test_support::decision(&store, text, label, "ann", Confidence::High)
            })
            .collect();
        store.append(&decisions).unwrap();
        (dir, store)
    }

    /// `>` is the right arrow, `^` is Escape; every other character is itself.
    fn keys(script: &str) -> impl Iterator<Item = Key> + '_ {
        script.chars().map(|c| match c {
            '>' => Key::Right,
            '^' => Key::Escape,
            c => Key::Char(c),
        })
    }

    /// Runs `script` from a store with `labels`; compares the annotations produced (as
    /// `text label confidence` or `retract text`) and the final screen (`text` of the
    /// paragraph shown, or `done`), and whether the session quit.
    fn check(labels: &[(&str, &str)], script: &str, log: &[&str], screen: &str, quit: bool) {
        let (_dir, store) = store_with(labels);
        let mut session = Session::new(&store, Annotator::new("ann").unwrap()).unwrap();
        let text_of = |id: &ParagraphId| store.paragraph(id).unwrap().text().to_owned();
        let mut got_log = Vec::new();
        let mut quitted = false;
        for key in keys(script) {
            let Some(action) = session.action(key) else {
                continue;
            };
            match session.apply(action, Timestamp::UNIX_EPOCH) {
                Step::Continue => {}
                Step::Quit => {
                    quitted = true;
                    break;
                }
                Step::Append(Annotation::Decision(d)) => got_log.push(format!(
                    "{} {} {}",
                    text_of(d.paragraph()),
                    store.schema().class(d.class()).name(),
                    d.confidence()
                )),
                Step::Append(Annotation::Retraction(r)) => {
                    got_log.push(format!("retract {}", text_of(r.paragraph())));
                }
            }
        }
        assert_eq!(got_log, log, "script {script:?}");
        let got_screen = match session.view() {
            View::Paragraph(view) => view.text.to_owned(),
            View::Done { .. } => "done".to_owned(),
        };
        assert_eq!(got_screen, screen, "script {script:?}");
        assert_eq!(quitted, quit, "script {script:?}");
    }

    #[test]
    fn labels_in_order_and_finishes() {
        check(
            &[],
            "fsn",
            &[
                "One. fracturing high",
                "Two. stable high",
                "Three. neither high",
            ],
            "done",
            false,
        );
    }

    #[test]
    fn low_confidence_applies_to_the_next_decision_only() {
        check(
            &[],
            "lfs",
            &["One. fracturing low", "Two. stable high"],
            "Three.",
            false,
        );
        // Toggling twice cancels; moving on resets it.
        check(&[], "llf", &["One. fracturing high"], "Two.", false);
        check(&[], "l f", &["Two. fracturing high"], "Three.", false);
    }

    #[test]
    fn skipped_paragraphs_come_round_again() {
        check(
            &[],
            " >fs",
            &["Three. fracturing high", "One. stable high"],
            "Two.",
            false,
        );
    }

    #[test]
    fn resumes_at_the_first_unlabelled_paragraph() {
        check(&[("One.", "stable")], "", &[], "Two.", false);
        check(
            &[("One.", "stable"), ("Two.", "stable"), ("Three.", "stable")],
            "fs ",
            &[],
            "done",
            false,
        );
    }

    #[test]
    fn undo_retracts_and_returns() {
        check(
            &[],
            "fsu",
            &["One. fracturing high", "Two. stable high", "retract Two."],
            "Two.",
            false,
        );
        check(
            &[],
            "fsuun",
            &[
                "One. fracturing high",
                "Two. stable high",
                "retract Two.",
                "retract One.",
                "One. neither high",
            ],
            "Two.",
            false,
        );
        // Nothing of this session to undo: no retraction of earlier sessions' labels.
        check(&[("One.", "stable")], "u", &[], "Two.", false);
        // Undo after the last paragraph reopens it.
        check(
            &[("One.", "stable"), ("Two.", "stable")],
            "nu",
            &["Three. neither high", "retract Three."],
            "Three.",
            false,
        );
    }

    #[test]
    fn quits_on_q_and_escape_and_ignores_other_keys() {
        check(&[], "xzq", &[], "One.", true);
        check(&[], "F^f", &["One. fracturing high"], "Two.", true);
    }

    #[test]
    fn view_reports_position_and_progress() {
        let (_dir, store) = store_with(&[("Two.", "neither")]);
        let mut session = Session::new(&store, Annotator::new("ann").unwrap()).unwrap();
        session.apply(Action::ToggleLow, Timestamp::UNIX_EPOCH);
        let View::Paragraph(view) = session.view() else {
            panic!("expected a paragraph");
        };
        assert_eq!(
            (
                view.text, view.nth, view.of, view.left, view.total, view.low
            ),
            ("One.", 1, 3, 2, 3, true)
        );
        let summary = session.summary();
        assert_eq!(
            summary.to_string(),
            "ann: 0 decisions saved; 1 of 3 paragraphs labelled, 2 left"
        );
    }

    #[test]
    fn notices_say_what_happened() {
        let (_dir, store) = store_with(&[]);
        let mut session = Session::new(&store, Annotator::new("ann").unwrap()).unwrap();
        let mut notice_after = |key: char| {
            let action = session.action(Key::Char(key)).unwrap();
            session.apply(action, Timestamp::UNIX_EPOCH);
            session.notice().map(ToString::to_string)
        };
        assert_eq!(
            notice_after('u').as_deref(),
            Some("nothing to undo in this session")
        );
        assert_eq!(notice_after('l'), None);
        assert_eq!(
            notice_after('f').as_deref(),
            Some("saved: fracturing (low confidence)")
        );
        assert_eq!(notice_after('u').as_deref(), Some("undone: fracturing"));
        assert_eq!(notice_after('s').as_deref(), Some("saved: stable"));
        assert_eq!(notice_after('s').as_deref(), Some("saved: stable"));
        assert_eq!(
            notice_after(' ').as_deref(),
            Some("this is the only paragraph left")
        );
        assert_eq!(notice_after('n').as_deref(), Some("saved: neither"));
        assert_eq!(
            notice_after('f').as_deref(),
            Some("every paragraph is labelled")
        );
    }

    #[test]
    fn refuses_schemas_without_distinct_keys() {
        let dir = tempfile::tempdir().unwrap();
        let labels = dir.path().join("labels");
        Store::open_or_create(&labels).unwrap();
        let check_schema = |classes: &[&str], message: &str| {
            let body: String = classes
                .iter()
                .map(|name| format!("[[class]]\nname = \"{name}\"\ndefinition = \"d\"\n"))
                .collect();
            std::fs::write(labels.join("schema.toml"), body).unwrap();
            let mut store = Store::open(&labels).unwrap();
            let article = Article::new(ArticleId::new("a").unwrap(), "x.".into()).unwrap();
            store.ingest(&[article]).unwrap();
            let err = Session::new(&store, Annotator::new("ann").unwrap()).unwrap_err();
            assert_eq!(err.to_string(), message);
        };
        check_schema(
            &["stable", "support"],
            "classes `stable` and `support` both start with `s`; `stance label` keys each class by its first letter, so rename one in schema.toml",
        );
        check_schema(
            &["stable", "unsure"],
            "class `unsure` starts with `u`, the key for undo; rename the class in schema.toml",
        );
    }

    proptest::proptest! {
        /// Whatever the keys, the annotations the session hands out replay cleanly (no
        /// retraction without a decision) and leave exactly the paragraphs the session
        /// counts as labelled.
        #[test]
        fn session_and_log_agree(script in "[fsnlu q>xF^]{0,40}") {
            let (_dir, store) = store_with(&[("Two.", "stable")]);
            let annotator = Annotator::new("ann").unwrap();
            let mut session = Session::new(&store, annotator.clone()).unwrap();
            let mut ledger = super::super::annotations::Ledger::default();
            for decision in store.labelled("ann") {
                ledger
                    .apply(Annotation::Decision(Decision::new(
                        decision.id().clone(),
                        decision.class(),
                        annotator.clone(),
                        decision.confidence(),
                        Timestamp::UNIX_EPOCH,
                    )))
                    .unwrap();
            }
            for key in keys(&script) {
                let Some(action) = session.action(key) else { continue };
                match session.apply(action, Timestamp::UNIX_EPOCH) {
                    Step::Append(annotation) => proptest::prop_assert!(ledger.apply(annotation).is_ok()),
                    Step::Quit => break,
                    Step::Continue => {}
                }
            }
            let labelled = store
                .paragraphs()
                .iter()
                .filter(|p| p.is_labelable() && ledger.current("ann", p.id()).is_some())
                .count();
            proptest::prop_assert_eq!(labelled, session.summary().labelled);
            if let View::Paragraph(view) = session.view() {
                proptest::prop_assert!(ledger.current("ann", view.id).is_none());
            }
        }
    }
}
