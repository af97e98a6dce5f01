//! The labelling session as a state machine: keys in, annotations to append and a view to
//! show out.
//!
//! [`Session`] offers the paragraphs the annotator has not labelled in an order: the store's
//! (article by article), or one handed in as offers ([`Session::with_offers`], replaced at any
//! time by [`Session::set_offers`]: a model retrained in the background re-ranks what comes
//! next, never the paragraph on screen). It moves to the next unlabelled paragraph after each
//! decision (wrapping round, so skipped paragraphs come back), and undoes this session's
//! decisions one by one. Each decision carries how its paragraph was offered ([`Offered`]) at
//! the moment it was shown.
//!
//! It also goes back through the annotator's earlier decisions, this session's and those of
//! earlier ones alike (they come from the store's log, in the order they were made), and
//! changes them: a changed decision is a new decision, appended, which supersedes the old one
//! as the store's rule is (the latest wins). [`Session::review`] walks through all of them,
//! newest first. A decision may carry a free-text note, typed in the session.
//!
//! It does no I/O and knows nothing about terminals: the caller reads keys, calls
//! [`Session::apply`], writes the returned annotation *before* taking the next key, and draws
//! [`Session::view`]. If the write fails, the caller must end the session (the state has
//! already moved on).

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
/// Not a letter, so no class loses its key to it (`n` is the default schema's `neither`).
pub const NOTE_KEY: char = '#';

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
    Left,
    Escape,
    Up,
    Down,
    PageUp,
    PageDown,
    Tab,
    Backspace,
    Enter,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Char(c) => write!(f, "`{c}`"),
            Key::Right => f.write_str("→"),
            Key::Left => f.write_str("←"),
            Key::Escape => f.write_str("Esc"),
            Key::Up => f.write_str("↑"),
            Key::Down => f.write_str("↓"),
            Key::PageUp => f.write_str("PgUp"),
            Key::PageDown => f.write_str("PgDn"),
            Key::Tab => f.write_str("Tab"),
            Key::Backspace => f.write_str("Backspace"),
            Key::Enter => f.write_str("Enter"),
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

/// An edit of the note being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteEdit {
    Insert(char),
    DeleteBack,
    /// Keep the note for the next decision.
    Keep,
    /// Leave the note as it was.
    Cancel,
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Label the paragraph on screen with this class (a new decision, or a changed one).
    Label(ClassIdx),
    /// Mark the decision about to be made as low-confidence (or not).
    ToggleLow,
    /// Move on: skip an unlabelled paragraph, or keep an earlier decision as it is.
    Skip,
    /// Go back to the decision before the one on screen (across sessions).
    Back,
    /// Start typing a note for the decision about to be made.
    Note,
    /// Type into the note.
    EditNote(NoteEdit),
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
    #[error(
        "`{annotator}` has labelled no paragraph of this store yet: nothing to review (label \
         with `stance label --annotator {annotator}`)"
    )]
    NothingToReview { annotator: Annotator },
}

/// A short message about what just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Saved {
        label: String,
        low: bool,
    },
    /// An earlier decision replaced by another.
    Changed {
        from: String,
        to: String,
        low: bool,
    },
    /// An earlier decision kept as it was (its class key pressed again, nothing else new).
    Unchanged {
        label: String,
    },
    Undone {
        label: String,
    },
    NothingToUndo,
    /// Back at the first decision (or there is none).
    NothingBefore,
    /// Skipping came back to the same paragraph.
    OnlyOneLeft,
    AllLabelled,
    /// The review went past its last decision.
    ReviewDone,
    NoteKept,
    NoteCancelled,
    /// A key that does nothing here.
    UnknownKey(String),
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let low = |low: bool| if low { " (low confidence)" } else { "" };
        match self {
            Notice::Saved { label, low: is_low } => write!(f, "saved: {label}{}", low(*is_low)),
            Notice::Changed {
                from,
                to,
                low: is_low,
            } if from == to => write!(f, "saved again: {to}{}", low(*is_low)),
            Notice::Changed {
                from,
                to,
                low: is_low,
            } => write!(f, "changed: {from} → {to}{}", low(*is_low)),
            Notice::Unchanged { label } => write!(f, "kept: {label}"),
            Notice::Undone { label } => write!(f, "undone: {label}"),
            Notice::NothingToUndo => f.write_str("nothing to undo in this session"),
            Notice::NothingBefore => f.write_str("no decision before this one"),
            Notice::OnlyOneLeft => f.write_str("this is the only paragraph left"),
            Notice::AllLabelled => f.write_str("every paragraph is labelled"),
            Notice::ReviewDone => f.write_str("the review is done: ← goes back, q quits"),
            Notice::NoteKept => f.write_str("note kept for the next label"),
            Notice::NoteCancelled => f.write_str("note unchanged"),
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
    /// A review past its last decision.
    Reviewed {
        reviewed: usize,
        changed: usize,
    },
}

/// Where the paragraph on screen stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Not labelled yet: to label now.
    ToLabel,
    /// An earlier decision, gone back to: `step` 1 is the latest of `of`.
    Back { step: usize, of: usize },
    /// One of the decisions under review, newest first.
    Review { nth: usize, of: usize },
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
    pub place: Place,
    /// The annotator's current label of this paragraph (an earlier decision), if any.
    pub label: Option<&'s str>,
    /// The next decision will be low-confidence.
    pub low: bool,
    /// The note the next decision will carry.
    pub note: Option<&'s str>,
    /// The note being typed, while it is.
    pub editing: Option<&'s str>,
    /// How this paragraph was offered (paragraphs to label only).
    pub order: Option<Order>,
}

/// How a session went, for the line printed on leaving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub annotator: Annotator,
    /// Decisions written, undone ones included.
    pub saved: usize,
    /// Of them, those that changed an earlier decision.
    pub changed: usize,
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
        if self.changed > 0 {
            write!(
                f,
                " ({} changing an earlier one{})",
                self.changed,
                if self.changed == 1 { "" } else { "s" }
            )?;
        }
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

/// An item's current decision, as far as the session shows and compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Current {
    class: ClassIdx,
    low: bool,
    note: Option<String>,
}

impl Current {
    fn of(decision: &Decision) -> Current {
        Current {
            class: decision.class(),
            low: decision.confidence() == Confidence::Low,
            note: decision.note().map(str::to_owned),
        }
    }
}

/// A decision of this session, for undo: its item and the item's decision before it.
#[derive(Debug, Clone)]
struct Made {
    item: usize,
    before: Option<Current>,
}

/// One annotator labelling the store's paragraphs.
#[derive(Debug, Clone)]
pub struct Session {
    annotator: Annotator,
    classes: Vec<KeyedClass>,
    items: Vec<Item>,
    /// The annotator's current decision on each item.
    current: Vec<Option<Current>>,
    /// The items in the order they are offered, and each item's place in it.
    sequence: Vec<usize>,
    place: Vec<usize>,
    /// How each item would be offered now.
    offered: Vec<Option<Offered>>,
    /// The next item is looked for from the start of `sequence` (it was just replaced).
    from_start: bool,
    /// The unlabelled item to label (none when all are labelled, and in a review).
    cursor: Option<usize>,
    /// How the item at the cursor was offered when it was shown.
    shown: Option<Offered>,
    /// The decided items in the order `back` walks them: oldest decision first when
    /// labelling (going back starts from the end), newest first in a review.
    walk: Vec<usize>,
    /// The place in `walk` on screen instead of the cursor; `walk.len()` is a review's end.
    back: Option<usize>,
    review: bool,
    /// The next decision will be low-confidence, and carry this note.
    low: bool,
    note: Option<String>,
    /// The note being typed.
    editing: Option<String>,
    /// This session's decisions, for undo.
    history: Vec<Made>,
    notice: Option<Notice>,
    saved: usize,
    changed: usize,
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
        let current = items
            .iter()
            .map(|item| store.current(annotator.as_str(), &item.id).map(Current::of))
            .collect();
        let index: BTreeMap<&ParagraphId, usize> = items
            .iter()
            .enumerate()
            .map(|(i, item)| (&item.id, i))
            .collect();
        let walk: Vec<usize> = store
            .current_in_log_order(annotator.as_str())
            .into_iter()
            .filter_map(|decision| index.get(decision.paragraph()).copied())
            .collect();
        let n = items.len();
        let mut session = Session {
            annotator,
            classes,
            items,
            current,
            sequence: (0..n).collect(),
            place: (0..n).collect(),
            offered: vec![Some(Offered::new(Order::Article, None)); n],
            from_start: false,
            cursor: None,
            shown: None,
            walk,
            back: None,
            review: false,
            low: false,
            note: None,
            editing: None,
            history: Vec::new(),
            notice: None,
            saved: 0,
            changed: 0,
            undone: 0,
        };
        let first = session.current.iter().position(Option::is_none);
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

    /// A session that walks through `annotator`'s current decisions, newest first (the ones
    /// most worth a second look are those just made), to keep or change each; it offers no
    /// paragraph to label.
    pub fn review(store: &Store, annotator: Annotator) -> Result<Session, SessionError> {
        let mut session = Session::new(store, annotator)?;
        if session.walk.is_empty() {
            return Err(SessionError::NothingToReview {
                annotator: session.annotator,
            });
        }
        session.walk.reverse();
        session.review = true;
        session.cursor = None;
        session.shown = None;
        session.show_back(0);
        Ok(session)
    }

    /// Moves to the first unlabelled paragraph of the order, for a caller whose last
    /// [`Session::set_offers`] came before the paragraph at the cursor was ever shown. Does
    /// nothing while an earlier decision is on screen (the cursor's paragraph was shown).
    pub fn restart(&mut self) {
        if self.back.is_some() || self.review {
            return;
        }
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

    /// Whether this is a review ([`Session::review`]).
    pub fn is_review(&self) -> bool {
        self.review
    }

    /// Whether an earlier decision is on screen (a decision now changes it).
    pub fn looking_back(&self) -> bool {
        self.back.is_some()
    }

    /// The action bound to `key`, if any. Letters are case-insensitive, except while a note
    /// is typed: then every character is the note's.
    pub fn action(&self, key: Key) -> Option<Action> {
        if self.editing.is_some() {
            return match key {
                Key::Char(c) if !c.is_control() => Some(Action::EditNote(NoteEdit::Insert(c))),
                Key::Backspace => Some(Action::EditNote(NoteEdit::DeleteBack)),
                Key::Enter => Some(Action::EditNote(NoteEdit::Keep)),
                Key::Escape => Some(Action::EditNote(NoteEdit::Cancel)),
                _ => None,
            };
        }
        match key {
            Key::Right | Key::Char(' ') => Some(Action::Skip),
            Key::Left | Key::Backspace => Some(Action::Back),
            Key::Escape => Some(Action::Quit),
            Key::Down => Some(Action::Scroll(Scroll::LineDown)),
            Key::Up => Some(Action::Scroll(Scroll::LineUp)),
            Key::PageDown => Some(Action::Scroll(Scroll::PageDown)),
            Key::PageUp => Some(Action::Scroll(Scroll::PageUp)),
            Key::Tab => Some(Action::ToggleDefinitions),
            Key::Enter => None,
            Key::Char(c) => match c.to_ascii_lowercase() {
                LOW_KEY => Some(Action::ToggleLow),
                UNDO_KEY => Some(Action::Undo),
                QUIT_KEY => Some(Action::Quit),
                DOWN_KEY => Some(Action::Scroll(Scroll::LineDown)),
                UP_KEY => Some(Action::Scroll(Scroll::LineUp)),
                HELP_KEY => Some(Action::Help),
                NOTE_KEY => Some(Action::Note),
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
            Action::Quit => return Step::Quit,
            Action::Undo => return self.undo(now),
            Action::Scroll(_) | Action::ToggleDefinitions | Action::Help => return Step::Continue,
            Action::Back => {
                self.go_back();
                return Step::Continue;
            }
            Action::EditNote(edit) => {
                self.edit_note(edit);
                return Step::Continue;
            }
            Action::ToggleLow | Action::Skip | Action::Label(_) | Action::Note => {}
        }
        let Some(item) = self.on_screen() else {
            self.notice = Some(if self.review {
                Notice::ReviewDone
            } else {
                Notice::AllLabelled
            });
            return Step::Continue;
        };
        match action {
            Action::ToggleLow => self.low = !self.low,
            Action::Note => self.editing = Some(self.note.clone().unwrap_or_default()),
            Action::Skip if self.back.is_some() => self.go_forward(),
            Action::Skip => {
                let next = self.next_unlabelled(item);
                if next == Some(item) {
                    self.notice = Some(Notice::OnlyOneLeft);
                }
                self.move_to(next);
            }
            Action::Label(class) if self.back.is_some() => return self.relabel(item, class, now),
            Action::Label(class) => return self.label(item, class, now),
            _ => {}
        }
        Step::Continue
    }

    /// The item on screen: an earlier decision gone back to, or the one to label.
    fn on_screen(&self) -> Option<usize> {
        match self.back {
            Some(step) => self.walk.get(step).copied(),
            None => self.cursor,
        }
    }

    /// The decision the keys `l` and `#` have prepared, of `class`.
    fn prepared(&self, class: ClassIdx) -> Current {
        Current {
            class,
            low: self.low,
            note: self.note.clone(),
        }
    }

    fn decision(&self, item: usize, made: &Current, now: Timestamp) -> Decision {
        let confidence = if made.low {
            Confidence::Low
        } else {
            Confidence::High
        };
        Decision::new(
            self.items[item].id.clone(),
            made.class,
            self.annotator.clone(),
            confidence,
            now,
        )
        .with_note(made.note.clone())
    }

    /// A first decision on the paragraph to label; on to the next one.
    fn label(&mut self, item: usize, class: ClassIdx, now: Timestamp) -> Step {
        let made = self.prepared(class);
        self.current[item] = Some(made.clone());
        self.walk.push(item);
        self.history.push(Made { item, before: None });
        self.saved += 1;
        self.notice = Some(Notice::Saved {
            label: self.class_name(class).to_owned(),
            low: made.low,
        });
        let offered = self.shown.take();
        let decision = self.decision(item, &made, now).with_offered(offered);
        let next = self.next_unlabelled(item);
        self.move_to(next);
        Step::Append(Annotation::Decision(decision))
    }

    /// A decision on an earlier decision's paragraph: appended if it differs (the latest
    /// wins), kept otherwise; on to the next decision either way.
    fn relabel(&mut self, item: usize, class: ClassIdx, now: Timestamp) -> Step {
        let made = self.prepared(class);
        let before = self.current[item].clone();
        let to = self.class_name(class).to_owned();
        if before.as_ref() == Some(&made) {
            self.notice = Some(Notice::Unchanged { label: to });
            self.go_forward();
            return Step::Continue;
        }
        let from = before
            .as_ref()
            .map_or("", |before| self.class_name(before.class))
            .to_owned();
        self.notice = Some(Notice::Changed {
            from,
            to,
            low: made.low,
        });
        let decision = self.decision(item, &made, now);
        self.current[item] = Some(made);
        self.history.push(Made { item, before });
        self.saved += 1;
        self.changed += 1;
        self.go_forward();
        Step::Append(Annotation::Decision(decision))
    }

    fn undo(&mut self, now: Timestamp) -> Step {
        let Some(Made { item, before }) = self.history.pop() else {
            self.notice = Some(Notice::NothingToUndo);
            return Step::Continue;
        };
        let label = self.current[item]
            .as_ref()
            .map_or("", |current| self.class_name(current.class))
            .to_owned();
        if before.is_none() {
            self.walk.retain(|&walked| walked != item);
        }
        self.current[item] = before;
        self.undone += 1;
        self.notice = Some(Notice::Undone { label });
        // Back to the paragraph: as an earlier decision if one is left standing, else to
        // label again.
        match self.walk.iter().position(|&walked| walked == item) {
            Some(step) => self.show_back(step),
            None => {
                self.back = None;
                self.reset_prepared(None);
                self.move_to(Some(item));
            }
        }
        Step::Append(Annotation::Retraction(Retraction::new(
            self.items[item].id.clone(),
            self.annotator.clone(),
            now,
        )))
    }

    /// One decision back: from the paragraph to label to the latest decision, from a
    /// decision to the one before it in the walk.
    fn go_back(&mut self) {
        let step = self.back.unwrap_or(self.walk.len());
        if step == 0 {
            self.notice = Some(Notice::NothingBefore);
        } else {
            self.show_back(step - 1);
        }
    }

    /// One decision on: to the next in the walk, and past the last one to the paragraph to
    /// label (or a review's end).
    fn go_forward(&mut self) {
        let Some(step) = self.back else {
            return;
        };
        if step + 1 < self.walk.len() || self.review {
            self.show_back((step + 1).min(self.walk.len()));
        } else {
            self.back = None;
            self.reset_prepared(None);
        }
    }

    /// Shows the decision at `step` of the walk, the keys `l` and `#` prepared as it stands.
    fn show_back(&mut self, step: usize) {
        self.back = Some(step);
        let current = self
            .walk
            .get(step)
            .and_then(|&item| self.current[item].clone());
        self.reset_prepared(current);
    }

    fn reset_prepared(&mut self, from: Option<Current>) {
        self.low = from.as_ref().is_some_and(|current| current.low);
        self.note = from.and_then(|current| current.note);
        self.editing = None;
    }

    fn edit_note(&mut self, edit: NoteEdit) {
        let Some(text) = &mut self.editing else {
            return;
        };
        match edit {
            NoteEdit::Insert(c) => text.push(c),
            NoteEdit::DeleteBack => {
                text.pop();
            }
            NoteEdit::Keep => {
                let text = self.editing.take().unwrap_or_default();
                let text = text.trim();
                self.note = (!text.is_empty()).then(|| text.to_owned());
                self.notice = Some(Notice::NoteKept);
            }
            NoteEdit::Cancel => {
                self.editing = None;
                self.notice = Some(Notice::NoteCancelled);
            }
        }
    }

    fn move_to(&mut self, cursor: Option<usize>) {
        if cursor != self.cursor && self.back.is_none() {
            self.reset_prepared(None);
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
            .find(|&i| self.current[i].is_none())
    }

    /// The first unlabelled item of the offer order other than `besides`, or `besides` if it
    /// is the only one.
    fn next_from_start(&mut self, besides: Option<usize>) -> Option<usize> {
        self.from_start = false;
        let unlabelled = |&i: &usize| self.current[i].is_none();
        self.sequence
            .iter()
            .copied()
            .filter(unlabelled)
            .find(|&i| Some(i) != besides)
            .or(besides.filter(|&i| self.current[i].is_none()))
    }

    fn class_name(&self, class: ClassIdx) -> &str {
        self.classes
            .iter()
            .find(|keyed| keyed.class == class)
            .map_or("", |keyed| keyed.name.as_str())
    }

    fn left(&self) -> usize {
        self.current
            .iter()
            .filter(|current| current.is_none())
            .count()
    }

    /// What to draw now.
    pub fn view(&self) -> View<'_> {
        let Some(item) = self.on_screen() else {
            return if self.review {
                View::Reviewed {
                    reviewed: self.walk.len(),
                    changed: self.changed,
                }
            } else {
                View::Done {
                    total: self.items.len(),
                }
            };
        };
        let place = match self.back {
            None => Place::ToLabel,
            Some(step) if self.review => Place::Review {
                nth: step + 1,
                of: self.walk.len(),
            },
            Some(step) => Place::Back {
                step: self.walk.len() - step,
                of: self.walk.len(),
            },
        };
        let paragraph = &self.items[item];
        View::Paragraph(ParagraphView {
            id: &paragraph.id,
            article: &paragraph.article,
            nth: paragraph.nth,
            of: paragraph.of,
            left: self.left(),
            total: self.items.len(),
            text: &paragraph.text,
            place,
            label: self.current[item]
                .as_ref()
                .map(|current| self.class_name(current.class)),
            low: self.low,
            note: self.note.as_deref(),
            editing: self.editing.as_deref(),
            order: match place {
                Place::ToLabel => self.shown.as_ref().map(Offered::order),
                Place::Back { .. } | Place::Review { .. } => None,
            },
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
            changed: self.changed,
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

    /// `>` and `<` are the right and left arrows, `^` is Escape, `~` Enter, `!` Backspace;
    /// every other character is itself.
    fn keys(script: &str) -> impl Iterator<Item = Key> + '_ {
        script.chars().map(|c| match c {
            '>' => Key::Right,
            '<' => Key::Left,
            '^' => Key::Escape,
            '~' => Key::Enter,
            '!' => Key::Backspace,
            c => Key::Char(c),
        })
    }

    /// Runs `script` from a store with `labels`; compares the annotations produced (as
    /// `text label confidence` with ` "note"` if any, or `retract text`) and the final screen
    /// (`text` of the paragraph shown, or `done`), and whether the session quit.
    fn check(labels: &[(&str, &str)], script: &str, log: &[&str], screen: &str, quit: bool) {
        let (_dir, store) = store_with(labels);
        let session = Session::new(&store, Annotator::new("ann").unwrap()).unwrap();
        run_script(&store, session, script, log, screen, quit);
    }

    /// [`check`] of a review.
    fn check_review(labels: &[(&str, &str)], script: &str, log: &[&str], screen: &str) {
        let (_dir, store) = store_with(labels);
        let session = Session::review(&store, Annotator::new("ann").unwrap()).unwrap();
        run_script(&store, session, script, log, screen, false);
    }

    fn run_script(
        store: &Store,
        mut session: Session,
        script: &str,
        log: &[&str],
        screen: &str,
        quit: bool,
    ) {
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
                    "{} {} {}{}",
                    text_of(d.paragraph()),
                    store.schema().class(d.class()).name(),
                    d.confidence(),
                    d.note()
                        .map(|note| format!(" {note:?}"))
                        .unwrap_or_default()
                )),
                Step::Append(Annotation::Retraction(r)) => {
                    got_log.push(format!("retract {}", text_of(r.paragraph())));
                }
            }
        }
        assert_eq!(got_log, log, "script {script:?}");
        let got_screen = match session.view() {
            View::Paragraph(view) => view.text.to_owned(),
            View::Done { .. } | View::Reviewed { .. } => "done".to_owned(),
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
    fn back_goes_through_earlier_sessions_decisions_and_changes_them() {
        // Labelled in an earlier session: One, then Two. Back from Three goes to Two, then
        // One, and no further; a new class appends a decision and moves on towards the
        // present, past the last decision to the paragraph to label.
        check(
            &[("One.", "stable"), ("Two.", "fracturing")],
            "<<<f>",
            &["One. fracturing high"],
            "Three.",
            false,
        );
        // Backspace goes back as ← does; → keeps a decision as it is.
        check(
            &[("One.", "stable"), ("Two.", "fracturing")],
            "!>",
            &[],
            "Three.",
            false,
        );
        // The same class again, nothing else new: kept, nothing appended.
        check(&[("One.", "stable")], "<s", &[], "Two.", false);
        // This session's decisions too, and low confidence or a note make a change.
        check(
            &[],
            "fs<<ls",
            &[
                "One. fracturing high",
                "Two. stable high",
                "One. stable low",
            ],
            "Two.",
            false,
        );
        check(
            &[("One.", "stable")],
            "<#why~s",
            &["One. stable high \"why\""],
            "Two.",
            false,
        );
        // Once everything is labelled, ← still goes back.
        check(
            &[("One.", "stable"), ("Two.", "stable"), ("Three.", "stable")],
            "<n",
            &["Three. neither high"],
            "done",
            false,
        );
    }

    #[test]
    fn undoing_a_change_brings_back_the_decision_before_it() {
        check(
            &[("One.", "stable")],
            "<fu",
            &["One. fracturing high", "retract One."],
            "One.",
            false,
        );
        // Back at One (still stable, as an earlier decision): → returns to the paragraph to
        // label.
        check(
            &[("One.", "stable")],
            "<fu>",
            &["One. fracturing high", "retract One."],
            "Two.",
            false,
        );
        // Undo of a first decision made after going back takes it off the walk.
        check(
            &[],
            "f<>su<<",
            &["One. fracturing high", "Two. stable high", "retract Two."],
            "One.",
            false,
        );
    }

    #[test]
    fn a_note_is_typed_kept_or_cancelled() {
        check(
            &[],
            "#ok, fine~f",
            &["One. fracturing high \"ok, fine\""],
            "Two.",
            false,
        );
        // Backspace deletes; letters that are keys elsewhere are the note's; blanks trimmed.
        check(
            &[],
            "#quiz!!!t ~ln",
            &["One. neither low \"qt\""],
            "Two.",
            false,
        );
        // Esc leaves the note as it was without quitting; Enter on an empty note removes it.
        check(&[], "#x^f", &["One. fracturing high"], "Two.", false);
        check(&[], "#x~#!!~s", &["One. stable high"], "Two.", false);
        // A note goes with the paragraph on screen only.
        check(&[], "#x~ f", &["Two. fracturing high"], "Three.", false);
    }

    #[test]
    fn review_walks_the_decisions_newest_first() {
        // Decided One, Three, Two: reviewed Two, Three, One.
        let labels = [
            ("One.", "stable"),
            ("Three.", "neither"),
            ("Two.", "fracturing"),
        ];
        check_review(&labels, "", &[], "Two.");
        check_review(&labels, ">", &[], "Three.");
        check_review(&labels, ">s", &["Three. stable high"], "One.");
        check_review(&labels, ">s>", &["Three. stable high"], "done");
        // Past the end, labels do nothing and ← comes back; ← at the first stays.
        check_review(&labels, ">s>f<", &["Three. stable high"], "One.");
        check_review(&labels, "<<", &[], "Two.");
        check_review(&labels, ">s<", &["Three. stable high"], "Three.");

        let (_dir, store) = store_with(&labels);
        let mut session = Session::review(&store, Annotator::new("ann").unwrap()).unwrap();
        let place = |session: &Session| match session.view() {
            View::Paragraph(view) => Some((view.place, view.label.map(str::to_owned))),
            _ => None,
        };
        assert_eq!(
            place(&session),
            Some((Place::Review { nth: 1, of: 3 }, Some("fracturing".into())))
        );
        press(&mut session, '>');
        press(&mut session, 's');
        assert_eq!(
            session.notice().map(ToString::to_string).as_deref(),
            Some("changed: neither → stable")
        );
        press(&mut session, '>');
        assert_eq!(
            session.view(),
            View::Reviewed {
                reviewed: 3,
                changed: 1
            }
        );
        press(&mut session, 'f');
        assert_eq!(
            session.notice().map(ToString::to_string).as_deref(),
            Some("the review is done: ← goes back, q quits")
        );
        assert_eq!(
            session.summary().to_string(),
            "ann: 1 decision saved (1 changing an earlier one); 3 of 3 paragraphs labelled, 0 left"
        );

        let (_dir, store) = store_with(&[]);
        assert_eq!(
            Session::review(&store, Annotator::new("ann").unwrap())
                .unwrap_err()
                .to_string(),
            "`ann` has labelled no paragraph of this store yet: nothing to review (label with \
             `stance label --annotator ann`)"
        );
    }

    #[test]
    fn the_view_says_which_earlier_decision_is_on_screen() {
        let (_dir, store) = store_with(&[("One.", "stable"), ("Two.", "fracturing")]);
        let mut session = Session::new(&store, Annotator::new("ann").unwrap()).unwrap();
        let seen = |session: &Session| match session.view() {
            View::Paragraph(view) => (
                view.text.to_owned(),
                view.place,
                view.label.map(str::to_owned),
                view.order,
            ),
            _ => panic!("expected a paragraph"),
        };
        assert_eq!(
            seen(&session),
            ("Three.".into(), Place::ToLabel, None, Some(Order::Article))
        );
        press(&mut session, '<');
        assert_eq!(
            seen(&session),
            (
                "Two.".into(),
                Place::Back { step: 1, of: 2 },
                Some("fracturing".into()),
                None
            )
        );
        assert!(session.looking_back());
        press(&mut session, '<');
        assert_eq!(seen(&session).1, Place::Back { step: 2, of: 2 });
        press(&mut session, '<');
        assert_eq!(
            session.notice().map(ToString::to_string).as_deref(),
            Some("no decision before this one")
        );
        press(&mut session, 'n');
        assert_eq!(
            session.notice().map(ToString::to_string).as_deref(),
            Some("changed: stable → neither")
        );
        assert_eq!(seen(&session).0, "Two.");
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
            View::Done { .. } | View::Reviewed { .. } => ("done".to_owned(), None),
        }
    }

    fn press(session: &mut Session, key: char) -> Option<Decision> {
        let key = keys(key.encode_utf8(&mut [0; 4])).next().unwrap();
        let action = session.action(key).unwrap();
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

    /// Whatever the keys, labelling or reviewing, the annotations the session hands out
    /// replay cleanly (no retraction without a decision) and leave exactly the decisions the
    /// session holds (class, confidence, note), each labelled paragraph once in the walk
    /// back, and a paragraph to label unlabelled. The session only reads the store: one
    /// store (written and synced to disk once) serves every case.
    #[test]
    fn session_and_log_agree() {
        let (_dir, store) = store_with(&[("Two.", "stable"), ("One.", "neither")]);
        let annotator = Annotator::new("ann").unwrap();
        let mut runner = proptest::test_runner::TestRunner::new(Default::default());
        let scripts = (proptest::bool::ANY, "[fsnlu q>xF^<!#~]{0,60}");
        let outcome = runner.run(&scripts, |(review, script)| {
            let mut session = if review {
                Session::review(&store, annotator.clone()).unwrap()
            } else {
                Session::new(&store, annotator.clone()).unwrap()
            };
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
            for (item, held) in session.items.iter().zip(&session.current) {
                let logged = ledger.current("ann", &item.id).map(Current::of);
                proptest::prop_assert_eq!(held, &logged);
            }
            let mut walked = session.walk.clone();
            walked.sort_unstable();
            let decided: Vec<usize> = (0..session.items.len())
                .filter(|&i| session.current[i].is_some())
                .collect();
            proptest::prop_assert_eq!(walked, decided);
            if let View::Paragraph(view) = session.view() {
                proptest::prop_assert_eq!(
                    ledger.current("ann", view.id).is_none(),
                    view.place == Place::ToLabel
                );
            }
            Ok(())
        });
        if let Err(err) = outcome {
            panic!("{err}");
        }
    }
}
