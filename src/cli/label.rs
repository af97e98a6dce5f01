//! `stance label`: label paragraphs in the terminal (or review earlier decisions there,
//! `--review`), print the next ones to label for another tool (`--queue`), or import labels
//! from a file.
//!
//! The session's logic lives in `stance::labels::session` and the labelling order in
//! `stance::experiment::LabellingOrder`; this file only draws the session's view (crossterm,
//! alternate screen, raw mode), turns key presses into session keys, appends what the
//! session returns before reading the next key, and retrains the order's model on a thread
//! of its own every `--retrain-every` decisions. The terminal is restored on every way out:
//! errors, panics, and SIGTERM, SIGHUP or SIGINT (which end the session as `q` does, then
//! exit with status 2). A terminal that goes away (its window, tmux or ssh closed) ends the
//! session as `q` does: it is watched here, since crossterm's reader spins on a terminal
//! that has hung up instead of returning.

use std::io::{IsTerminal, Stdout, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::style::{Attribute, Print, SetAttribute};
use crossterm::terminal::{self, ClearType};
use crossterm::{cursor, execute, queue};
use jiff::Timestamp;
use stance::corpus::ParagraphId;
use stance::experiment::{Experiment, LabellingOrder};
use stance::labels::session::{Action, Key, ParagraphView, Place, Scroll, Session, Step, View};
use stance::labels::{Annotation, Annotator, Offered, Order, Store};

use super::Outcome;

/// Used when the terminal does not report its size (some pseudo-terminals).
const FALLBACK_SIZE: (u16, u16) = (80, 24);

/// How often waiting for a key looks whether a signal asked the session to end, or a
/// retrained model is ready.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// How long the next paragraph waits for a model being retrained before it is taken from
/// the previous model's order: a blink.
const BLINK: Duration = Duration::from_millis(200);

/// How long a session told to end (a signal, a terminal gone) may take to leave on its own
/// before the watchdog ends the process.
const GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Shows one paragraph at a time with each class's definition, starting at the \
    first paragraph you have not labelled.\n\n\
    Keys:\n  \
    f s n     label (the first letter of each class in schema.toml, or its `key = \"…\"`)\n  \
    1 2 3     label (the class's number in schema.toml)\n  \
    l         mark the next decision low-confidence (press before the label)\n  \
    #         type a note for the next decision (Enter keeps it, Esc cancels)\n  \
    space →   skip (skipped paragraphs come round again)\n  \
    ← Bksp    back to your previous decision (earlier sessions' too), and the one before\n  \
    \u{20}         there: a label key changes it, → keeps it and comes forward\n  \
    u         undo this session's last decision\n  \
    j k ↓ ↑   scroll a long paragraph a line; PgDn PgUp a page\n  \
    Tab       fold the class definitions away, or show them\n  \
    ?         show the keys\n  \
    q Esc     quit\n\n\
    Each decision is appended to annotations.jsonl and synced to disk as you make it, so \
    quitting or losing the terminal loses nothing. A changed decision is a new line that \
    supersedes the earlier one (the latest decision on a paragraph is its label); undo \
    appends a retraction, which brings back the decision before; the file is never \
    rewritten.\n\n\
    With --review, the labeller walks through your current decisions instead, newest first \
    (as Prodigy's history lists answers: the decisions most worth a second look are the \
    ones just made, and ← walks back the same way), to keep (→) or change (a label key) \
    each; nothing new is offered.\n\n\
    Orders (--order): `article` (the store's order, the default), `random` (a permutation \
    drawn from --seed), `uncertainty` (the --experiment's model, trained on your labels of its \
    classes, offers first the paragraph it is least sure of: the smallest margin between its \
    two most probable classes; random order until each class has two labels). The model is \
    retrained in the background every --retrain-every decisions; the next paragraph waits for \
    it a blink (0.2 s) at most, then comes from the previous model's order. Each decision \
    records its order and, under uncertainty, the model's probabilities when it was shown.\n\n\
    With --queue N, nothing is interactive: the next N paragraphs to label, in the order, are \
    printed as JSON Lines (`id`, `article`, `text`, `order`, `shown`), after training on the \
    labels so far. Label them in any tool by adding `label` (and optionally `confidence`: \
    `low`, and `note`) to each line, then --import the file: the order and the model's \
    probabilities go into the decisions. Queues of N behave as the interactive labeller \
    retraining every N decisions.\n\n\
    With --import FILE, labels come from a file instead: the queue's JSON Lines with labels \
    added, or TSV, one `paragraph_id<TAB>label[<TAB>low]` per line (`high` also accepted; a \
    fourth field is kept as a note), `#` comments and blank lines allowed. Every line is \
    checked before any is written; lines that match the current label are skipped."
)]
pub struct LabelArgs {
    /// Who is labelling; recorded with every decision (required, e.g. `annotator-1`).
    #[arg(long, value_name = "NAME")]
    annotator: String,

    /// Import labels from a file instead of labelling interactively: the queue's JSON Lines
    /// with a `label` added, or TSV (`paragraph_id<TAB>label[<TAB>low]`).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["queue", "order", "experiment", "seed", "retrain_every"]
    )]
    import: Option<PathBuf>,

    /// The label store directory.
    #[arg(long, value_name = "DIR", default_value = "labels")]
    store: PathBuf,

    /// The order paragraphs are offered in: article, random or uncertainty.
    #[arg(long, value_name = "ORDER", default_value = "article")]
    order: Order,

    /// The experiment whose features, model and classes rank paragraphs under
    /// `--order uncertainty`.
    #[arg(long, value_name = "X.toml")]
    experiment: Option<PathBuf>,

    /// Seed of the random order (also the uncertainty order's until its model is trained).
    #[arg(long, value_name = "N", default_value_t = 42)]
    seed: u64,

    /// Retrain the uncertainty order's model after every K decisions.
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    retrain_every: u64,

    /// Print the next N paragraphs to label as JSON Lines instead of labelling here.
    #[arg(long, value_name = "N")]
    queue: Option<usize>,

    /// Walk through your earlier decisions, newest first, to keep or change each.
    #[arg(
        long,
        conflicts_with_all = ["import", "queue", "order", "experiment", "seed", "retrain_every"]
    )]
    review: bool,
}

pub fn run(args: LabelArgs) -> anyhow::Result<Outcome> {
    let annotator = Annotator::new(&args.annotator)?;
    let mut store = Store::open(&args.store)?;
    if let Some(path) = &args.import {
        let report = store.import(path, &annotator, Timestamp::now())?;
        outln!(
            "imported {} label{} for {annotator} into {} ({} unchanged)",
            report.appended,
            if report.appended == 1 { "" } else { "s" },
            store.annotations_path().display(),
            report.unchanged,
        )?;
        return Ok(Outcome::Success);
    }

    let experiment = match &args.experiment {
        Some(path) => Some(Experiment::load(path)?),
        None => None,
    };
    if args.order != Order::Uncertainty && experiment.is_some() {
        anyhow::bail!("--experiment ranks paragraphs under --order uncertainty only");
    }
    let order = Arc::new(LabellingOrder::new(
        &store,
        args.order,
        experiment.as_ref(),
        args.seed,
    )?);
    if let Some(n) = args.queue {
        return print_queue(&store, &order, &annotator, n);
    }

    // Nothing to review is said before anything else is asked of the terminal.
    let review = match args.review {
        true => Some(Session::review(&store, annotator.clone())?),
        false => None,
    };
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "`stance label` needs a terminal to read keys from; to label in another tool, \
             print the next paragraphs with `stance label --queue N --annotator NAME` and add \
             them back with `stance label --import FILE --annotator NAME`"
        );
    }
    store.check_writable()?;
    let mut session = match review {
        Some(session) => session,
        None => {
            let offers = order.offers(&order.state(&store, annotator.as_str()))?;
            Session::with_offers(&store, annotator, offers)?
        }
    };
    let mut retraining = Retraining::new(order, args.retrain_every);
    // A signal only sets the flag; the loop sees it, and leaves as `q` does. (In raw mode
    // Ctrl-C is a key; SIGINT comes from `kill -INT`.)
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot listen for termination signals")?;
    }
    let appending = Arc::new(Mutex::new(()));
    watchdog(Arc::clone(&stop), Arc::clone(&appending));
    let ended = {
        let mut screen = Screen::enter().context("cannot set up the terminal")?;
        label_loop(
            &mut screen,
            &mut store,
            &mut session,
            &mut retraining,
            &stop,
            &appending,
        )?
    };
    match ended {
        Ended::Quit => {
            outln!("{}", session.summary())?;
            Ok(Outcome::Success)
        }
        Ended::Signalled => {
            outln!("{}", session.summary())?;
            anyhow::bail!("stopped by a signal; every decision made before it is saved")
        }
        Ended::TerminalGone => {
            // Nobody is left to read it; the log has every decision already.
            let _ = outln!("{}", session.summary());
            Ok(Outcome::Success)
        }
    }
}

/// `--queue N`: the next `n` paragraphs of the order, as JSON Lines on stdout, and what was
/// done on stderr.
fn print_queue(
    store: &Store,
    order: &LabellingOrder,
    annotator: &Annotator,
    n: usize,
) -> anyhow::Result<Outcome> {
    let state = order.state(store, annotator.as_str());
    let offers = order.offers(&state)?;
    let queued: Vec<(ParagraphId, Offered)> = offers.into_iter().take(n).collect();
    out!("{}", store.queue_lines(&queued)?)?;
    let how = match queued.first().map(|(_, offered)| offered) {
        Some(offered) => match offered.shown() {
            Some(shown) => format!(
                "{} order, model of `{}` trained on {} labels",
                offered.order(),
                shown.experiment(),
                shown.trained_on()
            ),
            None if order.order() == Order::Uncertainty => format!(
                "random order until each class has {} labels",
                stance::experiment::MIN_PER_CLASS
            ),
            None => format!("{} order", offered.order()),
        },
        None => "every paragraph is labelled".to_owned(),
    };
    eprintln!(
        "queued {} paragraph{} for {annotator} ({how})",
        queued.len(),
        if queued.len() == 1 { "" } else { "s" }
    );
    Ok(Outcome::Success)
}

/// The new order, or why there is none.
type Retrained = Result<Vec<(ParagraphId, Offered)>, String>;

/// The uncertainty order's model, retrained on a thread of its own every `every` decisions.
struct Retraining {
    order: Arc<LabellingOrder>,
    every: u64,
    decisions: u64,
    running: Option<Receiver<Retrained>>,
    /// What the running retraining sent, once received.
    received: Option<Retrained>,
    /// A retraining fell due while another ran: start it when that one is done.
    due: bool,
    /// What the last retraining did, for the screen.
    status: Option<String>,
}

impl Retraining {
    fn new(order: Arc<LabellingOrder>, every: u64) -> Retraining {
        Retraining {
            order,
            every,
            decisions: 0,
            running: None,
            received: None,
            due: false,
            status: None,
        }
    }

    /// Counts a decision; starts a retraining every `every` of them. Returns whether one
    /// was started.
    fn decided(&mut self, store: &Store, session: &Session) -> bool {
        self.decisions += 1;
        if self.order.order() != Order::Uncertainty || !self.decisions.is_multiple_of(self.every) {
            return false;
        }
        if self.running.is_some() {
            self.due = true;
            return false;
        }
        self.start(store, session);
        true
    }

    fn start(&mut self, store: &Store, session: &Session) {
        let state = self.order.state(store, session.annotator().as_str());
        let order = Arc::clone(&self.order);
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            // The receiver may be gone (the session ended): nothing to tell then.
            let _ = sender.send(
                order
                    .offers(&state)
                    .map_err(|err| format!("{:#}", anyhow::Error::from(err))),
            );
        });
        self.running = Some(receiver);
        self.due = false;
    }

    /// The new order, if the retraining is done (waiting up to `wait`).
    fn finished(
        &mut self,
        wait: Duration,
        store: &Store,
        session: &Session,
    ) -> Option<Vec<(ParagraphId, Offered)>> {
        let receiver = self.running.as_ref()?;
        let result = match self.received.take() {
            Some(result) => result,
            None => match receiver.recv_timeout(wait) {
                Ok(result) => result,
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => Err("it stopped unexpectedly".to_owned()),
            },
        };
        self.running = None;
        if self.due {
            self.start(store, session);
        }
        match result {
            Ok(offers) => {
                self.status = offers
                    .first()
                    .and_then(|(_, offered)| offered.shown())
                    .map(|shown| format!("model retrained on {} labels", shown.trained_on()));
                Some(offers)
            }
            Err(err) => {
                self.status = Some(format!("retraining failed ({err}); order unchanged"));
                None
            }
        }
    }

    /// Whether a retraining is done, without waiting.
    fn ready(&mut self) -> bool {
        if self.received.is_some() {
            return true;
        }
        let Some(receiver) = &self.running else {
            return false;
        };
        self.received = match receiver.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err("it stopped unexpectedly".to_owned())),
        };
        self.received.is_some()
    }
}

/// How a labelling session ended.
enum Ended {
    Quit,
    Signalled,
    TerminalGone,
}

/// Ends the process if the session was told to end (`stop`, or the terminal gone) and has not
/// left within [`GRACE`]: a reader stuck on a dead terminal must not spin for ever. It waits
/// for `appending` first, so that it never cuts a decision short.
fn watchdog(stop: Arc<AtomicBool>, appending: Arc<Mutex<()>>) {
    std::thread::spawn(move || {
        loop {
            if stop.load(Ordering::Relaxed) || tty::hung_up(SIGNAL_CHECK) {
                break;
            }
        }
        std::thread::sleep(GRACE);
        let _no_append = appending.lock();
        restore_terminal();
        std::process::exit(2);
    });
}

/// Draws, reads a key, applies it, appends what it produced; until the session quits or
/// `stop` is set (by a signal).
fn label_loop(
    screen: &mut Screen,
    store: &mut Store,
    session: &mut Session,
    retraining: &mut Retraining,
    stop: &AtomicBool,
    appending: &Mutex<()>,
) -> anyhow::Result<Ended> {
    let mut display = Display::default();
    // Whether crossterm may hold keys it has read from the terminal but not handed on yet
    // (several arrive in one read when typed fast or pasted): those are not seen by `poll`.
    let mut just_read = false;
    loop {
        display.follow(session);
        screen
            .draw(session, &mut display, retraining.status.as_deref())
            .context("cannot draw to the terminal")?;
        const CANNOT_READ: &str = "cannot read from the terminal";
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(Ended::Signalled);
            }
            // Keys already read come first; asking once, without waiting, right after a key
            // was read, when the terminal was there a moment ago.
            if std::mem::take(&mut just_read) && event::poll(Duration::ZERO).context(CANNOT_READ)? {
                break;
            }
            // Only once the terminal has input (and has not hung up) is crossterm asked for it.
            match tty::wait_for_input(SIGNAL_CHECK) {
                tty::Input::Gone => return Ok(Ended::TerminalGone),
                tty::Input::Ready if event::poll(tty::CROSSTERM_WAIT).context(CANNOT_READ)? => {
                    break;
                }
                tty::Input::Ready | tty::Input::Nothing => {}
            }
            // A model finished while a paragraph is on screen: it orders what comes next.
            if retraining.ready() {
                if let Some(offers) = retraining.finished(Duration::ZERO, store, session) {
                    session.set_offers(offers);
                }
                display.follow(session);
                screen
                    .draw(session, &mut display, retraining.status.as_deref())
                    .context("cannot draw to the terminal")?;
            }
        }
        just_read = true;
        let Event::Key(press) = event::read().context(CANNOT_READ)? else {
            continue; // resizes and the like: redraw
        };
        if press.kind != KeyEventKind::Press {
            continue;
        }
        let key = match press.code {
            KeyCode::Char('c') if press.modifiers.contains(KeyModifiers::CONTROL) => {
                return Ok(Ended::Quit);
            }
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Right => Key::Right,
            KeyCode::Left => Key::Left,
            KeyCode::Backspace => Key::Backspace,
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Escape,
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Tab => Key::Tab,
            _ => continue,
        };
        // Any key closes the keys' screen, and does nothing else: a label pressed there
        // would label a paragraph out of sight.
        if std::mem::take(&mut display.help) {
            continue;
        }
        let Some(action) = session.action(key) else {
            session.unknown_key(key);
            continue;
        };
        // Scrolling, folding and help change the screen, not the session.
        match action {
            Action::Scroll(scroll) => {
                display.scroll(scroll);
                continue;
            }
            Action::ToggleDefinitions => {
                display.folded = !display.folded;
                continue;
            }
            Action::Help => {
                display.help = true;
                continue;
            }
            _ => {}
        }
        // A changed earlier decision is not a new label: the order's retraining counts new
        // ones, as queues do.
        let changing = session.looking_back();
        match session.apply(action, Timestamp::now()) {
            Step::Continue => {}
            Step::Quit => return Ok(Ended::Quit),
            Step::Append(annotation) => {
                let decision = matches!(annotation, Annotation::Decision(_)) && !changing;
                {
                    let _appending = appending.lock();
                    store.append(&[annotation])?;
                }
                // The next paragraph has not been shown yet: a model ready within a blink
                // chooses it, as a queue of `--retrain-every` would.
                if decision
                    && retraining.decided(store, session)
                    && let Some(offers) = retraining.finished(BLINK, store, session)
                {
                    session.set_offers(offers);
                    session.restart();
                }
            }
        }
    }
}

/// The terminal the keys come from (standard input), watched with `poll`: whether it has
/// input, or has hung up (its other end closed), which crossterm does not report.
mod tty {
    use std::time::Duration;

    pub enum Input {
        Ready,
        Gone,
        Nothing,
    }

    /// Waits up to `timeout` for input on the terminal.
    pub fn wait_for_input(timeout: Duration) -> Input {
        match poll(libc_events::IN, timeout) {
            Some(revents) if revents & libc_events::GONE != 0 => Input::Gone,
            Some(revents) if revents & libc_events::IN != 0 => Input::Ready,
            _ => Input::Nothing,
        }
    }

    /// Waits up to `timeout` for the terminal to hang up; whether it did.
    pub fn hung_up(timeout: Duration) -> bool {
        match poll(0, timeout) {
            Some(revents) => revents & libc_events::GONE != 0,
            None => {
                std::thread::sleep(timeout);
                false
            }
        }
    }

    #[cfg(unix)]
    mod libc_events {
        pub const IN: i16 = libc::POLLIN;
        pub const GONE: i16 = libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
    }

    /// The events `poll` reports for standard input, or `None` on a timeout or an error.
    #[cfg(unix)]
    fn poll(events: i16, timeout: Duration) -> Option<i16> {
        let mut watched = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events,
            revents: 0,
        };
        let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid `pollfd`, borrowed for the call alone.
        let ready = unsafe { libc::poll(&mut watched, 1, millis) };
        (ready > 0).then_some(watched.revents)
    }

    #[cfg(not(unix))]
    mod libc_events {
        pub const IN: i16 = 1;
        pub const GONE: i16 = 2;
    }

    /// How long crossterm is given to deliver an input said to be ready.
    #[cfg(unix)]
    pub const CROSSTERM_WAIT: Duration = Duration::ZERO;
    /// Elsewhere the terminal is not watched: input is always said to be ready, and crossterm
    /// waits for it.
    #[cfg(not(unix))]
    pub const CROSSTERM_WAIT: Duration = super::SIGNAL_CHECK;
    #[cfg(not(unix))]
    fn poll(events: i16, _timeout: Duration) -> Option<i16> {
        (events != 0).then_some(libc_events::IN)
    }
}

/// Raw mode and the alternate screen for as long as it lives.
struct Screen {
    out: Stdout,
}

impl Screen {
    fn enter() -> std::io::Result<Screen> {
        terminal::enable_raw_mode()?;
        // From here on, dropping the guard restores the terminal.
        let mut screen = Screen {
            out: std::io::stdout(),
        };
        // A panic prints its message before unwinding reaches `drop`: restore first, so the
        // message lands on the normal screen.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        execute!(screen.out, terminal::EnterAlternateScreen, cursor::Hide)?;
        Ok(screen)
    }

    fn draw(
        &mut self,
        session: &Session,
        display: &mut Display,
        status: Option<&str>,
    ) -> std::io::Result<()> {
        let (width, height) = match terminal::size() {
            Ok((w, h)) if w > 0 && h > 0 => (w, h),
            _ => FALLBACK_SIZE,
        };
        let lines = render(
            session,
            display,
            status,
            usize::from(width.max(20)),
            usize::from(height),
        );
        queue!(self.out, terminal::Clear(ClearType::All))?;
        for (row, line) in lines.iter().enumerate() {
            queue!(self.out, cursor::MoveTo(0, row as u16))?;
            match line {
                Line::Plain(text) => queue!(self.out, Print(text))?,
                Line::Bold(text) => queue!(
                    self.out,
                    SetAttribute(Attribute::Bold),
                    Print(text),
                    SetAttribute(Attribute::Reset)
                )?,
                Line::Dim(text) => queue!(
                    self.out,
                    SetAttribute(Attribute::Dim),
                    Print(text),
                    SetAttribute(Attribute::Reset)
                )?,
            }
        }
        self.out.flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore_terminal();
        // `take_hook` panics on a panicking thread; the hook is harmless there anyway.
        if !std::thread::panicking() {
            drop(std::panic::take_hook());
        }
    }
}

/// Leaves the alternate screen and raw mode; doing it twice is harmless.
fn restore_terminal() {
    let _ = execute!(
        std::io::stdout(),
        cursor::Show,
        terminal::LeaveAlternateScreen
    );
    let _ = terminal::disable_raw_mode();
}

enum Line {
    Plain(String),
    Bold(String),
    Dim(String),
}

/// How the screen shows the session: where a long paragraph is scrolled to, whether the
/// class definitions are folded away, whether the keys are shown. The session knows none
/// of it.
#[derive(Debug, Default)]
struct Display {
    /// The first line of the paragraph shown.
    scroll: usize,
    /// Lines of paragraph the last screen had room for (a page).
    page: usize,
    /// The most `scroll` can be for the paragraph on screen.
    max_scroll: usize,
    folded: bool,
    help: bool,
    /// The paragraph the scroll belongs to.
    showing: Option<ParagraphId>,
}

impl Display {
    /// A new paragraph starts at its top.
    fn follow(&mut self, session: &Session) {
        let now = match session.view() {
            View::Paragraph(view) => Some(view.id.clone()),
            View::Done { .. } | View::Reviewed { .. } => None,
        };
        if now != self.showing {
            self.showing = now;
            self.scroll = 0;
        }
    }

    fn scroll(&mut self, scroll: Scroll) {
        let page = self.page.saturating_sub(1).max(1);
        self.scroll = match scroll {
            Scroll::LineDown => self.scroll + 1,
            Scroll::LineUp => self.scroll.saturating_sub(1),
            Scroll::PageDown => self.scroll + page,
            Scroll::PageUp => self.scroll.saturating_sub(page),
        }
        .min(self.max_scroll);
    }
}

/// The screen as lines of at most `width` columns and `height` rows. When rows run short,
/// the class definitions shrink to one line each first, then the paragraph scrolls (from
/// `display.scroll`, which is kept within bounds, and with a line saying where it is).
/// `status` says what the labelling order's model last did.
fn render(
    session: &Session,
    display: &mut Display,
    status: Option<&str>,
    width: usize,
    height: usize,
) -> Vec<Line> {
    let keys: Vec<String> = session
        .classes()
        .iter()
        .map(|class| class.key().to_string())
        .collect();
    let legend = if session.looking_back() {
        format!(
            "{} change · l low · # note · space/→ next · ← back · u undo · ? keys · q quit",
            keys.join("/")
        )
    } else {
        format!(
            "{} label · l low · # note · space/→ skip · ← back · u undo · ? keys · q quit",
            keys.join("/")
        )
    };
    let notice = [
        session.notice().map(ToString::to_string),
        status.map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let notice = fit(&notice, width);

    let finished = |what: String| {
        let mut lines = vec![
            Line::Bold(fit(
                &format!("stance label · {}", session.annotator()),
                width,
            )),
            Line::Plain(String::new()),
            Line::Plain(fit(&what, width)),
            Line::Plain(String::new()),
            Line::Dim(fit(
                "← back to your decisions · u undo the last decision · q quit",
                width,
            )),
            Line::Plain(notice.clone()),
        ];
        lines.truncate(height);
        lines
    };
    let view = match session.view() {
        View::Paragraph(view) => view,
        View::Done { total } => {
            return finished(format!("Every paragraph is labelled ({total} of {total})."));
        }
        View::Reviewed { reviewed, changed } => {
            return finished(format!(
                "Reviewed {reviewed} decision{}: {changed} changed.",
                if reviewed == 1 { "" } else { "s" }
            ));
        }
    };

    if display.help {
        let mut lines = vec![
            Line::Bold(fit(
                &format!("stance label · {} · keys", session.annotator()),
                width,
            )),
            Line::Plain(String::new()),
        ];
        for class in session.classes() {
            let number = match class.number() {
                Some(number) if number != class.key() => format!(" or {number}"),
                _ => String::new(),
            };
            lines.extend(wrap(
                &format!("{}{number}  label {}", class.key(), class.name()),
                width,
                "  ",
                "      ",
            ));
        }
        for line in [
            "l  mark the next label low-confidence",
            "#  type a note for the next label (Enter keeps it, Esc cancels)",
            "space or →  skip (it comes round again); on an earlier decision, keep it",
            "← or Backspace  back to your previous decision (earlier sessions' too); a \
             label key changes it",
            "u  undo this session's last decision",
            "j k or ↓ ↑  scroll a line · PgDn PgUp  a page",
            "Tab  fold the definitions away, or show them",
            "?  show or hide these keys · q or Esc  quit",
        ] {
            lines.extend(wrap(line, width, "  ", "      "));
        }
        lines.push(Line::Plain(String::new()));
        lines.push(Line::Dim(fit("any key goes back to the paragraph", width)));
        lines.truncate(height);
        return lines;
    }

    let place = match view.place {
        Place::ToLabel => String::new(),
        Place::Back { step, of } => format!(" · your decision {step} of {of} back"),
        Place::Review { .. } => String::new(),
    };
    let title = match view.place {
        Place::Review { nth, of } => format!(
            "stance label · {} · review {nth} of {of}, newest first",
            session.annotator()
        ),
        _ => format!(
            "stance label · {} · {} of {} left{place}",
            session.annotator(),
            view.left,
            view.total
        ),
    };
    let top = vec![
        Line::Bold(fit(&title, width)),
        Line::Plain(fit(&header(&view), width)),
        Line::Plain(String::new()),
    ];
    let body = wrap(view.text, width.saturating_sub(2), "  ", "  ");

    // What the next decision will be: the label it changes, low confidence, its note.
    let mut low = Vec::new();
    if let Some(label) = view.label {
        low.push(Line::Plain(String::new()));
        low.push(Line::Bold(fit(
            &format!("  your label: {label} · a label key changes it, → keeps it"),
            width,
        )));
    }
    if view.low {
        if view.label.is_none() {
            low.push(Line::Plain(String::new()));
        }
        low.push(Line::Bold(fit(
            "  [low confidence] the next label will be marked low-confidence (l to cancel)",
            width,
        )));
    }
    if let Some(editing) = view.editing {
        if view.label.is_none() && !view.low {
            low.push(Line::Plain(String::new()));
        }
        low.extend(
            wrap(&format!("note: {editing}_"), width, "  ", "  ")
                .into_iter()
                .map(Line::bold),
        );
        low.push(Line::Dim(fit(
            "  Enter keeps the note · Esc leaves it as it was",
            width,
        )));
    } else if let Some(note) = view.note {
        if view.label.is_none() && !view.low {
            low.push(Line::Plain(String::new()));
        }
        low.push(Line::Plain(fit(
            &format!("  note: {note} (# to edit)"),
            width,
        )));
    }
    let name_width = session
        .classes()
        .iter()
        .map(|class| class.name().chars().count())
        .max()
        .unwrap_or(0);
    // How much of the classes to show: definitions wrapped, cut to a line each, or folded
    // away (names and keys only).
    #[derive(PartialEq)]
    enum Classes {
        Full,
        OneLine,
        Folded,
    }
    let class_lines = |shown: Classes| -> Vec<Line> {
        let mut lines = vec![Line::Plain(String::new())];
        if shown == Classes::Folded {
            let names: Vec<String> = session
                .classes()
                .iter()
                .map(|class| format!("{} {}", class.key(), class.name()))
                .collect();
            lines.extend(wrap(
                &format!("{} · Tab shows the definitions", names.join(" · ")),
                width,
                "  ",
                "  ",
            ));
            return lines;
        }
        for class in session.classes() {
            let first = format!("  {}  {:<name_width$}  ", class.key(), class.name());
            if shown == Classes::Full {
                let hanging = " ".repeat(first.chars().count());
                lines.extend(wrap(class.definition(), width, &first, &hanging));
            } else {
                lines.push(Line::Plain(fit(
                    &format!("{first}{}", class.definition()),
                    width,
                )));
            }
        }
        lines
    };
    let mut bottom = vec![Line::Plain(String::new())];
    bottom.extend(wrap(&legend, width, "", "").into_iter().map(Line::dim));
    bottom.push(Line::Plain(notice));

    let fixed = top.len() + low.len() + bottom.len();
    let fits = |classes: &[Line]| fixed + body.len() + classes.len() <= height;
    // Below this many lines of paragraph, the definitions fold away of themselves.
    const FEWEST_LINES: usize = 5;
    let mut classes = if display.folded {
        class_lines(Classes::Folded)
    } else {
        class_lines(Classes::Full)
    };
    if !fits(&classes) && !display.folded {
        classes = class_lines(Classes::OneLine);
        if !fits(&classes) && height.saturating_sub(fixed + classes.len()) < FEWEST_LINES {
            classes = class_lines(Classes::Folded);
        }
    }
    let room = height.saturating_sub(fixed + classes.len()).max(1);
    let mut body = body;
    if body.len() > room {
        // One line of the room says where the window is.
        let window = room.saturating_sub(1).max(1);
        let total = body.len();
        display.page = window;
        display.max_scroll = total - window;
        display.scroll = display.scroll.min(display.max_scroll);
        let first = display.scroll;
        let last = first + window;
        body = body.drain(first..last).collect();
        let more = if last == total {
            "the end, k/PgUp back".to_owned()
        } else {
            format!("j/PgDn for {} more", total - last)
        };
        body.push(Line::Dim(fit(
            &format!("  ── lines {}–{last} of {total}: {more} ──", first + 1),
            width,
        )));
    } else {
        display.page = room;
        display.max_scroll = 0;
        display.scroll = 0;
    }

    let mut lines = top;
    lines.extend(body);
    lines.extend(low);
    lines.extend(classes);
    lines.extend(bottom);
    lines.truncate(height);
    lines
}

/// `text` wrapped to `width` columns at spaces only (a hyphenated word split across lines
/// reads as two), with the given indents.
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<Line> {
    let columns = width.max(textwrap::core::display_width(first) + 10);
    let options = textwrap::Options::new(columns)
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|line| Line::Plain(fit(&line, width)))
        .collect()
}

/// `text` cut to `width` columns, ending in `…` if it was cut.
fn fit(text: &str, width: usize) -> String {
    if textwrap::core::display_width(text) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        if textwrap::core::display_width(&out)
            + textwrap::core::display_width(c.encode_utf8(&mut [0; 4]))
            + 1
            > width
        {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn header(view: &ParagraphView<'_>) -> String {
    let order = match view.order {
        Some(order) if order != Order::Article => format!(" · {order} order"),
        _ => String::new(),
    };
    format!(
        "{} · paragraph {} of {} · {}{order}",
        view.article, view.nth, view.of, view.id
    )
}

impl Line {
    fn dim(line: Line) -> Line {
        match line {
            Line::Plain(text) | Line::Bold(text) | Line::Dim(text) => Line::Dim(text),
        }
    }

    fn bold(line: Line) -> Line {
        match line {
            Line::Plain(text) | Line::Bold(text) | Line::Dim(text) => Line::Bold(text),
        }
    }

    #[cfg(test)]
    fn text(&self) -> &str {
        match self {
            Line::Plain(text) | Line::Bold(text) | Line::Dim(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use stance::corpus::{Article, ArticleId};

    use super::*;

    /// The seed-like article's screen at `width` × `height`, as text.
    fn screen(width: usize, height: usize) -> Vec<String> {
        screen_after(width, height, &[])
    }

    /// The screen after `keys`, of a store of the seed-like paragraph and a second one.
    fn screen_after(width: usize, height: usize, keys: &[Key]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        let text = "Although China has been North Korea’s largest economic benefactor, Pyongyang \
                    has never viewed Beijing as a truly reliable ally, and long-term trust between \
                    the two capitals has worn thin over decades of aid and quarrels.";
        let article = Article::new(ArticleId::new("a").unwrap(), text.to_owned()).unwrap();
        store.ingest(&[article]).unwrap();
        if !keys.is_empty() {
            let second = Article::new(ArticleId::new("b").unwrap(), "Second.".into()).unwrap();
            store.ingest(&[second]).unwrap();
        }
        let mut session = Session::new(&store, Annotator::new("ann").unwrap()).unwrap();
        for &key in keys {
            if let Step::Append(annotation) =
                session.apply(session.action(key).unwrap(), Timestamp::UNIX_EPOCH)
            {
                store.append(&[annotation]).unwrap();
            }
        }
        render(&session, &mut Display::default(), None, width, height)
            .iter()
            .map(|line| line.text().to_owned())
            .collect()
    }

    fn check(width: usize, height: usize, expected_present: &[&str], expected_absent: &[&str]) {
        check_lines(
            screen(width, height),
            width,
            height,
            expected_present,
            expected_absent,
        );
    }

    fn check_lines(
        lines: Vec<String>,
        width: usize,
        height: usize,
        expected_present: &[&str],
        expected_absent: &[&str],
    ) {
        assert!(lines.len() <= height, "{lines:#?}");
        for line in &lines {
            assert!(
                textwrap::core::display_width(line) <= width,
                "too wide: {line:?}"
            );
        }
        let joined = lines.join("\n");
        for want in expected_present {
            assert!(joined.contains(want), "{want:?} missing from {lines:#?}");
        }
        for unwanted in expected_absent {
            assert!(!joined.contains(unwanted), "{unwanted:?} in {lines:#?}");
        }
    }

    #[test]
    fn roomy_terminal_shows_everything() {
        check(
            100,
            30,
            &[
                "a · paragraph 1 of 1",
                "Although China",
                "and quarrels.",
                "long-term",
                "  f  fracturing  the alignment",
                "played down as tactical",
                "f/s/n label · l low · # note · space/→ skip · ← back · u undo · ? keys · q quit",
            ],
            &["lines 1–"],
        );
    }

    #[test]
    fn small_terminal_keeps_the_paragraph_and_fits_every_line() {
        // Definitions shrink to one line each before the paragraph is cut.
        check(
            40,
            18,
            &[
                "Although China",
                "and quarrels.",
                "  s  stable      the alignment holds or…",
            ],
            &["lines 1–"],
        );
        check(
            40,
            12,
            &[
                "Although China",
                "lines 1–",
                "j/PgDn for",
                "f fracturing · s stable",
                "q quit",
            ],
            &[],
        );
        check(20, 5, &["stance label"], &[]);
    }

    #[test]
    fn an_earlier_decision_shows_its_label_and_the_note_being_typed() {
        let keys = |text: &str| -> Vec<Key> {
            text.chars()
                .map(|c| match c {
                    '<' => Key::Left,
                    '~' => Key::Enter,
                    c => Key::Char(c),
                })
                .collect()
        };
        // Labelled low with a note, then back to it.
        let lines = screen_after(80, 24, &keys("l#why~f<"));
        check_lines(
            lines,
            80,
            24,
            &[
                "stance label · ann · 1 of 2 left · your decision 1 of 1 back",
                "  your label: fracturing · a label key changes it, → keeps it",
                "  [low confidence]",
                "  note: why (# to edit)",
                "f/s/n change · l low · # note · space/→ next · ← back · u undo · ? keys · q quit",
            ],
            &["lines 1–"],
        );
        let lines = screen_after(80, 24, &keys("#a note"));
        check_lines(
            lines,
            80,
            24,
            &[
                "  note: a note_",
                "  Enter keeps the note · Esc leaves it as it was",
                "2 of 2 left",
            ],
            &["your label"],
        );
    }

    #[test]
    fn fit_cuts_by_display_width() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("Görlach", 4), "Gör…");
    }
}
