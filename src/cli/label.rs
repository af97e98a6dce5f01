//! `stance label`: label paragraphs in the terminal, or import labels from a TSV file.
//!
//! The session's logic lives in `stance::labels::session`; this file only draws its view
//! (crossterm, alternate screen, raw mode), turns key presses into session keys, and
//! appends what the session returns before reading the next key. The terminal is restored
//! on every way out: errors, panics, and SIGTERM or SIGHUP (which end the session as `q`
//! does, then exit with status 2).

use std::io::{IsTerminal, Stdout, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::style::{Attribute, Print, SetAttribute};
use crossterm::terminal::{self, ClearType};
use crossterm::{cursor, execute, queue};
use jiff::Timestamp;
use stance::labels::session::{Key, ParagraphView, Session, Step, View};
use stance::labels::{Annotator, Store};

use super::Outcome;

/// Used when the terminal does not report its size (some pseudo-terminals).
const FALLBACK_SIZE: (u16, u16) = (80, 24);

/// How often waiting for a key looks whether a signal asked the session to end.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Shows one paragraph at a time with each class's definition, starting at the \
    first paragraph you have not labelled.\n\n\
    Keys:\n  \
    f s n     label (the first letter of each class in schema.toml)\n  \
    l         mark the next decision low-confidence (press before the label)\n  \
    space →   skip (skipped paragraphs come round again)\n  \
    u         undo this session's last decision\n  \
    q Esc     quit\n\n\
    Each decision is appended to annotations.jsonl and synced to disk as you make it, so \
    quitting or losing the terminal loses nothing; undo appends a retraction and never \
    rewrites the file.\n\n\
    With --import FILE.tsv, labels come from a file instead: one \
    `paragraph_id<TAB>label[<TAB>low]` per line (`high` also accepted; a fourth field is kept \
    as a note), `#` comments and blank lines allowed. Every line is checked before any is written; lines that match the current label are skipped."
)]
pub struct LabelArgs {
    /// Who is labelling; recorded with every decision (required, e.g. `annotator-1`).
    #[arg(long, value_name = "NAME")]
    annotator: String,

    /// Import labels from a TSV file (`paragraph_id<TAB>label[<TAB>low]`) instead of labelling
    /// interactively.
    #[arg(long, value_name = "FILE.tsv")]
    import: Option<PathBuf>,

    /// The label store directory.
    #[arg(long, value_name = "DIR", default_value = "labels")]
    store: PathBuf,
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

    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "`stance label` needs a terminal to read keys from; to add labels from a file or \
             script, use `stance label --import FILE.tsv --annotator NAME`"
        );
    }
    store.check_writable()?;
    let mut session = Session::new(&store, annotator)?;
    // A signal only sets the flag; the loop sees it, and leaves as `q` does.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot listen for termination signals")?;
    }
    let ended = {
        let mut screen = Screen::enter().context("cannot set up the terminal")?;
        label_loop(&mut screen, &mut store, &mut session, &stop)?
    };
    outln!("{}", session.summary())?;
    match ended {
        Ended::Quit => Ok(Outcome::Success),
        Ended::Signalled => {
            anyhow::bail!("stopped by a signal; every decision made before it is saved")
        }
    }
}

/// How a labelling session ended.
enum Ended {
    Quit,
    Signalled,
}

/// Draws, reads a key, applies it, appends what it produced; until the session quits or
/// `stop` is set (by a signal).
fn label_loop(
    screen: &mut Screen,
    store: &mut Store,
    session: &mut Session,
    stop: &AtomicBool,
) -> anyhow::Result<Ended> {
    loop {
        screen
            .draw(session)
            .context("cannot draw to the terminal")?;
        const CANNOT_READ: &str = "cannot read from the terminal";
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(Ended::Signalled);
            }
            if event::poll(SIGNAL_CHECK).context(CANNOT_READ)? {
                break;
            }
        }
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
            KeyCode::Esc => Key::Escape,
            _ => continue,
        };
        let Some(action) = session.action(key) else {
            continue;
        };
        match session.apply(action, Timestamp::now()) {
            Step::Continue => {}
            Step::Quit => return Ok(Ended::Quit),
            Step::Append(annotation) => store.append(&[annotation])?,
        }
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

    fn draw(&mut self, session: &Session) -> std::io::Result<()> {
        let (width, height) = match terminal::size() {
            Ok((w, h)) if w > 0 && h > 0 => (w, h),
            _ => FALLBACK_SIZE,
        };
        let lines = render(session, usize::from(width.max(20)), usize::from(height));
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

/// The screen as lines of at most `width` columns and `height` rows. When rows run short,
/// the class definitions shrink to one line each first, then the paragraph is cut.
fn render(session: &Session, width: usize, height: usize) -> Vec<Line> {
    let keys: Vec<String> = session
        .classes()
        .iter()
        .map(|class| class.key().to_string())
        .collect();
    let legend = format!(
        "{} label · l low confidence · space/→ skip · u undo · q quit",
        keys.join("/")
    );
    let notice = session
        .notice()
        .map(|notice| fit(&notice.to_string(), width))
        .unwrap_or_default();

    let view = match session.view() {
        View::Paragraph(view) => view,
        View::Done { total } => {
            let mut lines = vec![
                Line::Bold(fit(
                    &format!("stance label · {}", session.annotator()),
                    width,
                )),
                Line::Plain(String::new()),
                Line::Plain(fit(
                    &format!("Every paragraph is labelled ({total} of {total})."),
                    width,
                )),
                Line::Plain(String::new()),
                Line::Dim(fit("u undo the last decision · q quit", width)),
                Line::Plain(notice),
            ];
            lines.truncate(height);
            return lines;
        }
    };

    let top = vec![
        Line::Bold(fit(
            &format!(
                "stance label · {} · {} of {} left",
                session.annotator(),
                view.left,
                view.total
            ),
            width,
        )),
        Line::Plain(fit(&header(&view), width)),
        Line::Plain(String::new()),
    ];
    let body = wrap(view.text, width.saturating_sub(2), "  ", "  ");

    let mut low = Vec::new();
    if view.low {
        low.push(Line::Plain(String::new()));
        low.push(Line::Bold(fit(
            "  [low confidence] the next label will be marked low-confidence (l to cancel)",
            width,
        )));
    }
    let name_width = session
        .classes()
        .iter()
        .map(|class| class.name().chars().count())
        .max()
        .unwrap_or(0);
    let class_lines = |full: bool| -> Vec<Line> {
        let mut lines = vec![Line::Plain(String::new())];
        for class in session.classes() {
            let first = format!("  {}  {:<name_width$}  ", class.key(), class.name());
            if full {
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
    let mut classes = class_lines(true);
    if fixed + body.len() + classes.len() > height {
        classes = class_lines(false);
    }
    let room = height.saturating_sub(fixed + classes.len()).max(1);
    let mut body = body;
    if body.len() > room {
        body.truncate(room.saturating_sub(1).max(1));
        body.push(Line::Plain(fit(
            "  … (enlarge the terminal to see the rest)",
            width,
        )));
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
    format!(
        "{} · paragraph {} of {} · {}",
        view.article, view.nth, view.of, view.id
    )
}

impl Line {
    fn dim(line: Line) -> Line {
        match line {
            Line::Plain(text) | Line::Bold(text) | Line::Dim(text) => Line::Dim(text),
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
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        let text = "Although China has been North Korea’s largest economic benefactor, Pyongyang \
                    has never viewed Beijing as a truly reliable ally, and long-term trust between \
                    the two capitals has worn thin over decades of aid and quarrels.";
        let article = Article::new(ArticleId::new("a").unwrap(), text.to_owned()).unwrap();
        store.ingest(&[article]).unwrap();
        let session = Session::new(&store, Annotator::new("ann").unwrap()).unwrap();
        render(&session, width, height)
            .iter()
            .map(|line| line.text().to_owned())
            .collect()
    }

    fn check(width: usize, height: usize, expected_present: &[&str], expected_absent: &[&str]) {
        let lines = screen(width, height);
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
                "f/s/n label · l low confidence · space/→ skip · u undo · q quit",
            ],
            &["enlarge"],
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
            &["enlarge"],
        );
        check(40, 12, &["Although China", "enlarge", "q quit"], &[]);
        check(20, 5, &["stance label"], &[]);
    }

    #[test]
    fn fit_cuts_by_display_width() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("Görlach", 4), "Gör…");
    }
}
