//! The labelling session as a state machine: keys in, annotations to append and a view to
//! show out.
//!
//! [`Session`] offers the paragraphs the annotator has not labelled in an order: the store's
//! (article by article), or one handed in as offers ([`Session::with_offers`], replaced at any
//! time by [`Session::set_offers`]: a model retrained in the background re-ranks what comes
//! next, never the paragraph on screen). It moves to the next unlabelled paragraph after each
//! decision (wrapping round, so skipped paragraphs come back), and undoes this session's
//! decisions one by one. Each decision carries how its paragraph was offered ([`Offered`]) at
//! the moment it was shown. It does no I/O and knows nothing about
//! terminals: the caller reads keys, calls [`Session::apply`], writes the returned
//! annotation *before* taking the next key, and draws [`Session::view`]. If the write fails,
//! the caller must end the session (the state has already moved on).

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;

use super::annotations::{Annotation, Annotator, Confidence, Decision, Offered, Order, Retraction};
use super::schema::ClassIdx;
use super::store::Store;
use crate::corpus::{ArticleId, ParagraphId};

/// Keys that are not class keys.
const LOW_KEY: char = 'l';
const UNDO_KEY: char = 'u';
const QUIT_KEY: char = 'q';
const DOWN_KEY: char = 'j';
const UP_KEY: char = 'k';
const HELP_KEY: char = '?';

/// What each reserved letter does, for messages.
const RESERVED: [(char, &str); 5] = [
    (LOW_KEY, "low confidence"),
    (UNDO_KEY, "undo"),
    (QUIT_KEY, "quit"),
    (DOWN_KEY, "scrolling down"),
    (UP_KEY, "scrolling up"),
];

/// A key press, as far as the session cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Right,
    Escape,
    Up,
    Down,
    PageUp,
    PageDown,
    Tab,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Char(c) => write!(f, "`{c}`"),
            Key::Right => f.write_str("→"),
            Key::Escape => f.write_str("Esc"),
            Key::Up => f.write_str("↑"),
            Key::Down => f.write_str("↓"),
            Key::PageUp => f.write_str("PgUp"),
            Key::PageDown => f.write_str("PgDn"),
            Key::Tab => f.write_str("Tab"),
        }
    }
}

/// How far to scroll the paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    LineDown,
    LineUp,
    PageDown,
    PageUp,
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
    /// Scroll a long paragraph (the screen's business: the session does nothing).
    Scroll(Scroll),
    /// Fold the class definitions away, or show them again (the screen's business).
    ToggleDefinitions,
    /// Show the keys, or hide them (the screen's business).
    Help,
}

/// What the caller must do after an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Redraw and read the next key.
    Continue,
    /// Append this annotation to the store (and sync it), then redraw.
    Append(Annotation),
    /// Leave the session.
    Quit,
}

/// A class with its keys, for the legend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedClass {
    /// The key shown: the schema's `key`, else the first letter unless another class or an
    /// action has it, else the number.
    key: char,
    /// The class's number key (1-9, in schema order), unless a schema `key` took it.
    number: Option<char>,
    class: ClassIdx,
    name: String,
    definition: String,
}

impl KeyedClass {
    pub fn key(&self) -> char {
        self.key
    }

    /// Its number key, also shown when the key is a letter.
    pub fn number(&self) -> Option<char> {
        self.number
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
        "class `{class}` has no key: its first letter is taken and it has no number key (only \
         classes 1-9 do); set one in schema.toml, e.g. key = \"x\""
    )]
    NoKey { class: String },
    #[error(
        "class `{class}` sets key = \"{key}\", the key for {action}; choose another in \
         schema.toml"
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
    /// A key that does nothing here.
    UnknownKey(String),
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
            Notice::UnknownKey(key) => write!(f, "{key} does nothing here: ? for the keys"),
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
    /// How this paragraph was offered.
    pub order: Option<Order>,
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
    /// The items in the order they are offered, and each item's place in it.
    sequence: Vec<usize>,
    place: Vec<usize>,
    /// How each item would be offered now.
    offered: Vec<Option<Offered>>,
    /// The next item is looked for from the start of `sequence` (it was just replaced).
    from_start: bool,
    cursor: Option<usize>,
    /// How the item at the cursor was offered when it was shown.
    shown: Option<Offered>,
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
        let n = items.len();
        let mut session = Session {
            annotator,
            classes,
            items,
            labelled,
            sequence: (0..n).collect(),
            place: (0..n).collect(),
            offered: vec![Some(Offered::new(Order::Article, None)); n],
            from_start: false,
            cursor: None,
            shown: None,
            low: false,
            history: Vec::new(),
            notice: None,
            saved: 0,
            undone: 0,
        };
        let first = session.labelled.iter().position(|&done| !done);
        session.move_to(first);
        Ok(session)
    }

    /// A session that offers paragraphs in the order of `offers` (ids of the store's
    /// paragraphs to label, each with how it is offered), starting at the first unlabelled
    /// one; paragraphs not among them come after, in store order.
    pub fn with_offers(
        store: &Store,
        annotator: Annotator,
        offers: Vec<(ParagraphId, Offered)>,
    ) -> Result<Session, SessionError> {
        let mut session = Session::new(store, annotator)?;
        session.set_offers(offers);
        let first = session.next_from_start(None);
        session.move_to(first);
        Ok(session)
    }

    /// Moves to the first unlabelled paragraph of the order, for a caller whose last
    /// [`Session::set_offers`] came before the paragraph at the cursor was ever shown.
    pub fn restart(&mut self) {
        let first = self.next_from_start(None);
        self.shown = None;
        self.move_to(first);
    }

    /// Replaces the order of what comes next (the paragraph on screen stays, with how it was
    /// offered when it was shown). The next paragraph is the first unlabelled one of `offers`.
    pub fn set_offers(&mut self, offers: Vec<(ParagraphId, Offered)>) {
        let index: BTreeMap<&ParagraphId, usize> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| (&item.id, i))
            .collect();
        let mut listed = vec![false; self.items.len()];
        let mut sequence = Vec::with_capacity(self.items.len());
        for (id, offered) in offers {
            if let Some(&item) = index.get(&id)
                && !listed[item]
            {
                listed[item] = true;
                sequence.push(item);
                self.offered[item] = Some(offered);
            }
        }
        sequence.extend((0..self.items.len()).filter(|&item| !listed[item]));
        for (place, &item) in sequence.iter().enumerate() {
            self.place[item] = place;
        }
        self.sequence = sequence;
        self.from_start = true;
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
            Key::Down => Some(Action::Scroll(Scroll::LineDown)),
            Key::Up => Some(Action::Scroll(Scroll::LineUp)),
            Key::PageDown => Some(Action::Scroll(Scroll::PageDown)),
            Key::PageUp => Some(Action::Scroll(Scroll::PageUp)),
            Key::Tab => Some(Action::ToggleDefinitions),
            Key::Char(c) => match c.to_ascii_lowercase() {
                LOW_KEY => Some(Action::ToggleLow),
                UNDO_KEY => Some(Action::Undo),
                QUIT_KEY => Some(Action::Quit),
                DOWN_KEY => Some(Action::Scroll(Scroll::LineDown)),
                UP_KEY => Some(Action::Scroll(Scroll::LineUp)),
                HELP_KEY => Some(Action::Help),
                c => self
                    .classes
                    .iter()
                    .find(|class| class.key == c || class.number == Some(c))
                    .map(|class| Action::Label(class.class)),
            },
        }
    }

    /// Says that `key` does nothing (the caller found no action for it).
    pub fn unknown_key(&mut self, key: Key) {
        self.notice = Some(Notice::UnknownKey(key.to_string()));
    }

    /// Carries out `action`; `now` stamps any annotation it produces.
    pub fn apply(&mut self, action: Action, now: Timestamp) -> Step {
        self.notice = None;
        match action {
            Action::Quit => Step::Quit,
            Action::Undo => self.undo(now),
            Action::Scroll(_) | Action::ToggleDefinitions | Action::Help => Step::Continue,
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
                    _ => Step::Continue,
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
        let offered = self.shown.take();
        let next = self.next_unlabelled(cursor);
        self.move_to(next);
        Step::Append(Annotation::Decision(
            Decision::new(
                self.items[cursor].id.clone(),
                class,
                self.annotator.clone(),
                confidence,
                now,
            )
            .with_offered(offered),
        ))
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
        if cursor != self.cursor || self.shown.is_none() {
            self.shown = cursor.and_then(|item| self.offered[item].clone());
        }
        self.cursor = cursor;
    }

    /// The unlabelled item that follows `after` in the offer order, wrapping round (possibly
    /// `after` itself); from the start of the order if it was just replaced.
    fn next_unlabelled(&mut self, after: usize) -> Option<usize> {
        if std::mem::take(&mut self.from_start) {
            return self.next_from_start(Some(after));
        }
        let n = self.items.len();
        let place = self.place[after];
        (1..=n)
            .map(|k| self.sequence[(place + k) % n])
            .find(|&i| !self.labelled[i])
    }

    /// The first unlabelled item of the offer order other than `besides`, or `besides` if it
    /// is the only one.
    fn next_from_start(&mut self, besides: Option<usize>) -> Option<usize> {
        self.from_start = false;
        let unlabelled = |&i: &usize| !self.labelled[i];
        self.sequence
            .iter()
            .copied()
            .filter(unlabelled)
            .find(|&i| Some(i) != besides)
            .or(besides.filter(|&i| !self.labelled[i]))
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
            order: self.shown.as_ref().map(Offered::order),
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
    let reserved = |key: char| {
        RESERVED
            .iter()
            .find(|(reserved, _)| *reserved == key)
            .map(|(_, action)| *action)
    };
    // Keys set in the schema first: they are the user's choice, and take the number keys
    // they name from the classes those would be the fallback of.
    let mut taken: Vec<char> = Vec::new();
    for class in schema.classes() {
        if let Some(key) = class.key() {
            if let Some(action) = reserved(key) {
                return Err(SessionError::ReservedKey {
                    key,
                    class: class.name().to_owned(),
                    action,
                });
            }
            taken.push(key);
        }
    }
    let numbers: Vec<Option<char>> = schema
        .indices()
        .map(|class| {
            char::from_digit(class.index() as u32 + 1, 10)
                .filter(|&digit| class.index() < 9 && !taken.contains(&digit))
        })
        .collect();
    let mut keyed: Vec<KeyedClass> = Vec::with_capacity(schema.len());
    for class in schema.indices() {
        let entry = schema.class(class);
        let name = entry.name();
        // Schema names start with an ASCII lowercase letter.
        let letter = name.chars().next().filter(|&c| {
            reserved(c).is_none() && !taken.contains(&c) && !numbers.contains(&Some(c))
        });
        let key = match (entry.key(), letter, numbers[class.index()]) {
            (Some(key), _, _) => key,
            (None, Some(letter), _) => {
                taken.push(letter);
                letter
            }
            (None, None, Some(number)) => number,
            (None, None, None) => {
                return Err(SessionError::NoKey {
                    class: name.to_owned(),
                });
            }
        };
        keyed.push(KeyedClass {
            key,
            number: numbers[class.index()],
            class,
            name: name.to_owned(),
            definition: entry.definition().to_owned(),
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

    /// Offers in the order of `texts`, as `random`.
    fn offers(store: &Store, texts: &[&str]) -> Vec<(ParagraphId, Offered)> {
        texts
            .iter()
            .map(|text| {
                let paragraph = store
                    .paragraphs()
                    .iter()
                    .find(|p| p.text() == *text)
                    .unwrap();
                (paragraph.id().clone(), Offered::new(Order::Random, None))
            })
            .collect()
    }

    /// The text shown and the order it was offered in.
    fn shown(session: &Session) -> (String, Option<Order>) {
        match session.view() {
            View::Paragraph(view) => (view.text.to_owned(), view.order),
            View::Done { .. } => ("done".to_owned(), None),
        }
    }

    fn press(session: &mut Session, key: char) -> Option<Decision> {
        let action = session.action(Key::Char(key)).unwrap();
        match session.apply(action, Timestamp::UNIX_EPOCH) {
            Step::Append(Annotation::Decision(decision)) => Some(decision),
            _ => None,
        }
    }

    #[test]
    fn offers_set_the_order_and_decisions_say_how_they_were_offered() {
        let (_dir, store) = store_with(&[("Two.", "stable")]);
        let annotator = Annotator::new("ann").unwrap();
        let order = offers(&store, &["Three.", "Two.", "One."]);
        let mut session = Session::with_offers(&store, annotator.clone(), order).unwrap();
        assert_eq!(shown(&session), ("Three.".into(), Some(Order::Random)));
        let decision = press(&mut session, 'f').unwrap();
        assert_eq!(decision.offered().map(Offered::order), Some(Order::Random));
        assert_eq!(shown(&session), ("One.".into(), Some(Order::Random)));

        // Store order says how it was offered too.
        let mut session = Session::new(&store, annotator).unwrap();
        let decision = press(&mut session, 's').unwrap();
        assert_eq!(decision.offered().map(Offered::order), Some(Order::Article));
    }

    #[test]
    fn new_offers_change_what_comes_next_not_what_is_on_screen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        let text = "P1.\nP2.\nP3.\nP4.\nP5.";
        let article = Article::new(ArticleId::new("art").unwrap(), text.to_owned()).unwrap();
        store.ingest(&[article]).unwrap();
        let annotator = Annotator::new("ann").unwrap();
        let mut session =
            Session::with_offers(&store, annotator, offers(&store, &["P2.", "P4.", "P1."]))
                .unwrap();
        assert_eq!(shown(&session).0, "P2.");
        // Re-ranked while P2 is on screen: P2 stays, and keeps how it was offered.
        let uncertain = |text: &str| {
            let id = store
                .paragraphs()
                .iter()
                .find(|p| p.text() == text)
                .unwrap()
                .id()
                .clone();
            (id, Offered::new(Order::Uncertainty, None))
        };
        session.set_offers(vec![uncertain("P5."), uncertain("P3."), uncertain("P2.")]);
        assert_eq!(shown(&session), ("P2.".into(), Some(Order::Random)));
        let decision = press(&mut session, 'n').unwrap();
        assert_eq!(decision.offered().map(Offered::order), Some(Order::Random));
        // Then the new order from its start; paragraphs it does not list come last.
        assert_eq!(shown(&session), ("P5.".into(), Some(Order::Uncertainty)));
        press(&mut session, 'n');
        assert_eq!(shown(&session).0, "P3.");
        press(&mut session, ' ');
        assert_eq!(shown(&session), ("P1.".into(), Some(Order::Random)));
        press(&mut session, 'n');
        assert_eq!(shown(&session).0, "P4.");
        // Restarting takes the new order's first paragraph, and how it is offered now.
        session.set_offers(vec![uncertain("P4.")]);
        session.restart();
        assert_eq!(shown(&session), ("P4.".into(), Some(Order::Uncertainty)));
        // A skip right after new offers goes to their first paragraph that is not on screen.
        session.set_offers(vec![uncertain("P4."), uncertain("P3.")]);
        press(&mut session, ' ');
        assert_eq!(shown(&session), ("P3.".into(), Some(Order::Uncertainty)));
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
        assert_eq!(view.order, Some(Order::Article));
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

    /// The keys of the classes of `schema` (TOML `[[class]]` bodies), or the error.
    fn keys_of(classes: &[&str]) -> Result<Vec<(char, Option<char>)>, String> {
        let dir = tempfile::tempdir().unwrap();
        let labels = dir.path().join("labels");
        Store::open_or_create(&labels).unwrap();
        let body: String = classes
            .iter()
            .map(|class| format!("[[class]]\ndefinition = \"d\"\n{class}\n"))
            .collect();
        std::fs::write(labels.join("schema.toml"), body).unwrap();
        let mut store = Store::open(&labels).unwrap();
        let article = Article::new(ArticleId::new("a").unwrap(), "x.".into()).unwrap();
        store.ingest(&[article]).unwrap();
        Session::new(&store, Annotator::new("ann").unwrap())
            .map(|session| {
                session
                    .classes()
                    .iter()
                    .map(|class| (class.key(), class.number()))
                    .collect()
            })
            .map_err(|err| err.to_string())
    }

    #[test]
    fn classes_are_keyed_by_schema_key_first_letter_or_number() {
        let check = |classes: &[&str], expected: &[(char, Option<char>)]| {
            assert_eq!(keys_of(classes), Ok(expected.to_vec()), "{classes:?}");
        };
        check(
            &[
                "name = \"fracturing\"",
                "name = \"stable\"",
                "name = \"neither\"",
            ],
            &[('f', Some('1')), ('s', Some('2')), ('n', Some('3'))],
        );
        // `left` starts with the low-confidence key: its number labels it.
        check(
            &["name = \"left\"", "name = \"center\"", "name = \"right\""],
            &[('1', Some('1')), ('c', Some('2')), ('r', Some('3'))],
        );
        // Two classes of one letter: the first keeps it, the second gets its number.
        check(
            &["name = \"stable\"", "name = \"support\""],
            &[('s', Some('1')), ('2', Some('2'))],
        );
        // A schema key wins, and takes its digit from the class it would number.
        check(
            &[
                "name = \"left\"\nkey = \"2\"",
                "name = \"center\"",
                "name = \"right\"\nkey = \"e\"",
            ],
            &[('2', Some('1')), ('c', None), ('e', Some('3'))],
        );
        assert_eq!(
            keys_of(&["name = \"stable\"", "name = \"other\"\nkey = \"u\""]),
            Err(
                "class `other` sets key = \"u\", the key for undo; choose another in schema.toml"
                    .to_owned()
            )
        );
        let many: Vec<String> = (0..10).map(|i| format!("name = \"same{i}\"")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            keys_of(&many),
            Err("class `same9` has no key: its first letter is taken and it has no number key (only classes 1-9 do); set one in schema.toml, e.g. key = \"x\"".to_owned())
        );
    }

    /// Whatever the keys, the annotations the session hands out replay cleanly (no
    /// retraction without a decision) and leave exactly the paragraphs the session counts as
    /// labelled. The session only reads the store: one store (written and synced to disk
    /// once) serves every case.
    #[test]
    fn session_and_log_agree() {
        let (_dir, store) = store_with(&[("Two.", "stable")]);
        let annotator = Annotator::new("ann").unwrap();
        let mut runner = proptest::test_runner::TestRunner::new(Default::default());
        let outcome = runner.run(&"[fsnlu q>xF^]{0,40}", |script| {
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
                let Some(action) = session.action(key) else {
                    continue;
                };
                match session.apply(action, Timestamp::UNIX_EPOCH) {
                    Step::Append(annotation) => {
                        proptest::prop_assert!(ledger.apply(annotation).is_ok())
                    }
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
            Ok(())
        });
        if let Err(err) = outcome {
            panic!("{err}");
        }
    }
}
