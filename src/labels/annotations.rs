//! Annotation events and what they add up to.
//!
//! An annotator's decisions on a paragraph form a stack: a [`Decision`] pushes, a
//! [`Retraction`] pops, and the current label is the top. A changed mind is a new decision on
//! top (the latest wins); nothing is ever rewritten. The [`Ledger`] replays the append-only
//! log into these stacks; it never forgets an event and never reorders them, and it knows
//! where in the log each standing decision was made.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use super::schema::ClassIdx;
use crate::corpus::ParagraphId;

/// Who made a decision: non-empty, at most 64 characters, letters, digits, `_`, `.`, `-`, `@`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Annotator(String);

/// An annotator name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid annotator name `{name}` (use 1 to 64 letters, digits, `_`, `.`, `-`, `@`)")]
pub struct AnnotatorError {
    name: String,
}

impl Annotator {
    pub fn new(name: &str) -> Result<Annotator, AnnotatorError> {
        let valid = !name.is_empty()
            && name.chars().count() <= 64
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'));
        if valid {
            Ok(Annotator(name.to_owned()))
        } else {
            Err(AnnotatorError {
                name: name.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Lets the ledger look annotators up by `&str`; ordering is that of the inner string.
impl Borrow<str> for Annotator {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Annotator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How sure the annotator was. Low-confidence labels are the hard cases that experiments may
/// leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    High,
    Low,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Low => "low",
        }
    }

    pub fn from_name(name: &str) -> Option<Confidence> {
        match name {
            "high" => Some(Confidence::High),
            "low" => Some(Confidence::Low),
            _ => None,
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the paragraph of a decision came to be offered: in the store's order, at random, or
/// because the model was least sure of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Order {
    /// Article by article, paragraph by paragraph, as the store holds them.
    Article,
    /// A seeded random permutation of the store's paragraphs.
    Random,
    /// Smallest margin between the two most probable classes first (Lewis & Gale, 1994).
    Uncertainty,
}

impl Order {
    pub const ALL: [Order; 3] = [Order::Article, Order::Random, Order::Uncertainty];

    pub fn as_str(self) -> &'static str {
        match self {
            Order::Article => "article",
            Order::Random => "random",
            Order::Uncertainty => "uncertainty",
        }
    }

    /// The inverse of [`Order::as_str`].
    pub fn from_name(name: &str) -> Option<Order> {
        Order::ALL.into_iter().find(|order| order.as_str() == name)
    }
}

/// A name that is not an [`Order`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not an order (article, random or uncertainty)")]
pub struct UnknownOrder {
    name: String,
}

/// The one parser of order names, for every command that takes them (`label --order`,
/// `simulate --strategies`).
impl FromStr for Order {
    type Err = UnknownOrder;

    fn from_str(name: &str) -> Result<Order, UnknownOrder> {
        Order::from_name(name).ok_or_else(|| UnknownOrder {
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a model said about a paragraph when it was offered: which experiment's model, how
/// many labels it was trained on, and its probability for each of the experiment's classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    experiment: String,
    trained_on: usize,
    probabilities: Vec<(String, f64)>,
}

impl Shown {
    /// `probabilities` in the experiment's class order.
    pub fn new(experiment: String, trained_on: usize, probabilities: Vec<(String, f64)>) -> Shown {
        Shown {
            experiment,
            trained_on,
            probabilities,
        }
    }

    pub fn experiment(&self) -> &str {
        &self.experiment
    }

    /// Labelled paragraphs the model was trained on.
    pub fn trained_on(&self) -> usize {
        self.trained_on
    }

    /// Class name and probability, in the experiment's class order.
    pub fn probabilities(&self) -> &[(String, f64)] {
        &self.probabilities
    }
}

/// How a paragraph was offered for labelling, kept with the decision for later analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Offered {
    order: Order,
    shown: Option<Shown>,
}

impl Offered {
    pub fn new(order: Order, shown: Option<Shown>) -> Offered {
        Offered { order, shown }
    }

    pub fn order(&self) -> Order {
        self.order
    }

    /// The model's view at the time, when a model chose the paragraph.
    pub fn shown(&self) -> Option<&Shown> {
        self.shown.as_ref()
    }
}

/// One labelling decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    paragraph: ParagraphId,
    class: ClassIdx,
    annotator: Annotator,
    confidence: Confidence,
    time: Timestamp,
    note: Option<String>,
    offered: Option<Offered>,
}

impl Decision {
    pub fn new(
        paragraph: ParagraphId,
        class: ClassIdx,
        annotator: Annotator,
        confidence: Confidence,
        time: Timestamp,
    ) -> Decision {
        Decision {
            paragraph,
            class,
            annotator,
            confidence,
            time,
            note: None,
            offered: None,
        }
    }

    /// The same decision with how its paragraph was offered (none for imported TSV labels).
    pub fn with_offered(mut self, offered: Option<Offered>) -> Decision {
        self.offered = offered;
        self
    }

    /// The same decision with a free-text note (empty notes are dropped).
    pub fn with_note(mut self, note: Option<String>) -> Decision {
        self.note = note.filter(|note| !note.trim().is_empty());
        self
    }

    pub fn paragraph(&self) -> &ParagraphId {
        &self.paragraph
    }

    pub fn class(&self) -> ClassIdx {
        self.class
    }

    pub fn annotator(&self) -> &Annotator {
        &self.annotator
    }

    pub fn confidence(&self) -> Confidence {
        self.confidence
    }

    pub fn time(&self) -> Timestamp {
        self.time
    }

    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    pub fn offered(&self) -> Option<&Offered> {
        self.offered.as_ref()
    }
}

/// Withdraws the annotator's current decision on a paragraph (an undo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retraction {
    paragraph: ParagraphId,
    annotator: Annotator,
    time: Timestamp,
}

impl Retraction {
    pub fn new(paragraph: ParagraphId, annotator: Annotator, time: Timestamp) -> Retraction {
        Retraction {
            paragraph,
            annotator,
            time,
        }
    }

    pub fn paragraph(&self) -> &ParagraphId {
        &self.paragraph
    }

    pub fn annotator(&self) -> &Annotator {
        &self.annotator
    }

    pub fn time(&self) -> Timestamp {
        self.time
    }
}

/// One line of the annotations log.
#[derive(Debug, Clone, PartialEq)]
pub enum Annotation {
    Decision(Decision),
    Retraction(Retraction),
}

impl Annotation {
    pub fn paragraph(&self) -> &ParagraphId {
        match self {
            Annotation::Decision(decision) => decision.paragraph(),
            Annotation::Retraction(retraction) => retraction.paragraph(),
        }
    }

    pub fn annotator(&self) -> &Annotator {
        match self {
            Annotation::Decision(decision) => decision.annotator(),
            Annotation::Retraction(retraction) => retraction.annotator(),
        }
    }
}

/// A retraction with no decision under it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("nothing to retract: `{annotator}` has no current label on paragraph {paragraph}")]
pub struct NothingToRetract {
    pub annotator: Annotator,
    pub paragraph: ParagraphId,
}

/// Every annotator's decision stacks, replayed from the log in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// Each decision with its place among the decisions of the log (0 for the first).
    stacks: BTreeMap<Annotator, BTreeMap<ParagraphId, Vec<(u64, Decision)>>>,
    decisions: u64,
}

impl Ledger {
    /// Applies one event; a retraction must have a decision to withdraw.
    pub fn apply(&mut self, annotation: Annotation) -> Result<(), NothingToRetract> {
        match annotation {
            Annotation::Decision(decision) => {
                self.stacks
                    .entry(decision.annotator.clone())
                    .or_default()
                    .entry(decision.paragraph.clone())
                    .or_default()
                    .push((self.decisions, decision));
                self.decisions += 1;
                Ok(())
            }
            Annotation::Retraction(retraction) => {
                let popped = self
                    .stacks
                    .get_mut(&retraction.annotator)
                    .and_then(|stacks| stacks.get_mut(&retraction.paragraph))
                    .and_then(Vec::pop);
                match popped {
                    Some(_) => Ok(()),
                    None => Err(NothingToRetract {
                        annotator: retraction.annotator,
                        paragraph: retraction.paragraph,
                    }),
                }
            }
        }
    }

    /// The annotator's current decision on the paragraph: the latest one not retracted.
    pub fn current(&self, annotator: &str, paragraph: &ParagraphId) -> Option<&Decision> {
        self.stacks
            .get(annotator)
            .and_then(|stacks| stacks.get(paragraph))
            .and_then(|stack| stack.last())
            .map(|(_, decision)| decision)
    }

    /// The annotator's current decisions in the order they were made (their lines in the
    /// log), oldest first. A retraction brings back the decision under it at its own place.
    pub fn current_in_log_order(&self, annotator: &str) -> Vec<&Decision> {
        let mut current: Vec<&(u64, Decision)> = self
            .stacks
            .get(annotator)
            .into_iter()
            .flat_map(|stacks| stacks.values().filter_map(|stack| stack.last()))
            .collect();
        current.sort_by_key(|(place, _)| *place);
        current.into_iter().map(|(_, decision)| decision).collect()
    }

    /// Annotators with at least one current label, sorted.
    pub fn annotators(&self) -> impl Iterator<Item = &Annotator> {
        self.stacks
            .iter()
            .filter(|(_, stacks)| stacks.values().any(|stack| !stack.is_empty()))
            .map(|(annotator, _)| annotator)
    }

    /// Every current decision, by annotator then paragraph id.
    pub fn current_decisions(&self) -> impl Iterator<Item = &Decision> {
        self.stacks
            .values()
            .flat_map(|stacks| stacks.values().filter_map(|stack| stack.last()))
            .map(|(_, decision)| decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::ArticleId;
    use crate::labels::Schema;

    fn id(text: &str) -> ParagraphId {
        ParagraphId::of(&ArticleId::new("a").unwrap(), text)
    }

    fn decide(who: &str, text: &str, class: &str) -> Annotation {
        let class = Schema::default_schema().index_of(class).unwrap();
        Annotation::Decision(Decision::new(
            id(text),
            class,
            Annotator::new(who).unwrap(),
            Confidence::High,
            Timestamp::UNIX_EPOCH,
        ))
    }

    fn retract(who: &str, text: &str) -> Annotation {
        Annotation::Retraction(Retraction::new(
            id(text),
            Annotator::new(who).unwrap(),
            Timestamp::UNIX_EPOCH,
        ))
    }

    /// Replays `events` and returns each (annotator, paragraph text) current class name.
    fn check(events: Vec<Annotation>, expected: &[(&str, &str, Option<&str>)]) {
        let schema = Schema::default_schema();
        let mut ledger = Ledger::default();
        for event in events {
            ledger.apply(event).unwrap();
        }
        for &(who, text, class) in expected {
            let got = ledger
                .current(who, &id(text))
                .map(|decision| schema.class(decision.class()).name());
            assert_eq!(got, class, "{who} on {text}");
        }
    }

    #[test]
    fn latest_decision_wins() {
        check(
            vec![decide("x", "p", "stable"), decide("x", "p", "fracturing")],
            &[("x", "p", Some("fracturing"))],
        );
    }

    #[test]
    fn retraction_restores_the_decision_before() {
        check(
            vec![
                decide("x", "p", "stable"),
                decide("x", "p", "fracturing"),
                retract("x", "p"),
            ],
            &[("x", "p", Some("stable"))],
        );
        check(
            vec![decide("x", "p", "stable"), retract("x", "p")],
            &[("x", "p", None)],
        );
    }

    #[test]
    fn annotators_are_independent() {
        check(
            vec![
                decide("x", "p", "stable"),
                decide("y", "p", "neither"),
                retract("y", "p"),
            ],
            &[
                ("x", "p", Some("stable")),
                ("y", "p", None),
                ("z", "p", None),
            ],
        );
    }

    #[test]
    fn current_decisions_come_in_the_order_they_were_made() {
        let check = |events: Vec<Annotation>, expected: &[&str]| {
            let mut ledger = Ledger::default();
            for event in events {
                ledger.apply(event).unwrap();
            }
            let got: Vec<ParagraphId> = ledger
                .current_in_log_order("x")
                .into_iter()
                .map(|decision| decision.paragraph().clone())
                .collect();
            let expected: Vec<ParagraphId> = expected.iter().map(|text| id(text)).collect();
            assert_eq!(got, expected);
        };
        check(
            vec![
                decide("x", "p", "stable"),
                decide("y", "r", "stable"),
                decide("x", "q", "stable"),
            ],
            &["p", "q"],
        );
        // A changed decision moves to where it was made; a retraction brings the one under
        // it back to its own place; a retracted only decision leaves.
        check(
            vec![
                decide("x", "p", "stable"),
                decide("x", "q", "stable"),
                decide("x", "p", "fracturing"),
            ],
            &["q", "p"],
        );
        check(
            vec![
                decide("x", "p", "stable"),
                decide("x", "q", "stable"),
                decide("x", "p", "fracturing"),
                retract("x", "p"),
                decide("x", "r", "stable"),
                retract("x", "r"),
            ],
            &["p", "q"],
        );
    }

    #[test]
    fn retraction_without_decision_is_refused() {
        let mut ledger = Ledger::default();
        assert!(ledger.apply(retract("x", "p")).is_err());
        ledger.apply(decide("x", "p", "stable")).unwrap();
        ledger.apply(retract("x", "p")).unwrap();
        assert!(ledger.apply(retract("x", "p")).is_err());
    }

    #[test]
    fn orders_parse_from_their_names_only() {
        for order in Order::ALL {
            assert_eq!(order.as_str().parse::<Order>(), Ok(order));
        }
        assert_eq!(
            "Random".parse::<Order>().unwrap_err().to_string(),
            "`Random` is not an order (article, random or uncertainty)"
        );
    }

    #[test]
    fn annotator_names() {
        for good in ["annotator-1", "ana.b", "x@lab", "Zoë"] {
            assert!(Annotator::new(good).is_ok(), "{good}");
        }
        for bad in ["", "two words", "tab\there", &"x".repeat(65)] {
            assert!(Annotator::new(bad).is_err(), "{bad}");
        }
    }
}
