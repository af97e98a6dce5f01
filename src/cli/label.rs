//! `stance label`: label paragraphs in the terminal, or import labels from a TSV file.
//!
//! The session's logic lives in `stance::labels::session`; this file only draws its view
//! (crossterm, alternate screen, raw mode), turns key presses into session keys, and
//! appends what the session returns before reading the next key. The terminal is restored
//! on every way out, errors and panics included.

use std::io::{IsTerminal, Stdout, Write};
use std::path::PathBuf;

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
        println!(
            "imported {} label{} for {annotator} into {} ({} unchanged)",
            report.appended,
            if report.appended == 1 { "" } else { "s" },
            store.annotations_path().display(),
            report.unchanged,
        );
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
    {
        let mut screen = Screen::enter().context("cannot set up the terminal")?;
        label_loop(&mut screen, &mut store, &mut session)?;
    }
    println!("{}", session.summary());
    Ok(Outcome::Success)
}

/// Draws, reads a key, applies it, appends what it produced; until the session quits.
fn label_loop(screen: &mut Screen, store: &mut Store, session: &mut Session) -> anyhow::Result<()> {
    loop {
        screen
            .draw(session)
            .context("cannot draw to the terminal")?;
        let Event::Key(press) = event::read().context("cannot read from the terminal")? else {
            continue; // resizes and the like: redraw
        };
        if press.kind != KeyEventKind::Press {
            continue;
        }
        let key = match press.code {
            KeyCode::Char('c') if press.modifiers.contains(KeyModifiers::CONTROL) => return Ok(()),
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
            Step::Quit => return Ok(()),
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
        let _ = execute!(self.out, cursor::Show, terminal::LeaveAlternateScreen);
        let _ = terminal::disable_raw_mode();
    }
}

enum Line {
    Plain(String),
    Bold(String),
    Dim(String),
}

/// The screen as lines of at most `width` columns, clipped to `height` rows (the
/// paragraph gives way first).
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
        .map(ToString::to_string)
        .unwrap_or_default();

    let view = match session.view() {
        View::Paragraph(view) => view,
        View::Done { total } => {
            return vec![
                Line::Bold(format!("stance label · {}", session.annotator())),
                Line::Plain(String::new()),
                Line::Plain(format!("Every paragraph is labelled ({total} of {total}).")),
                Line::Plain(String::new()),
                Line::Dim("u undo the last decision · q quit".to_owned()),
                Line::Plain(notice),
            ];
        }
    };

    let mut top = vec![
        Line::Bold(format!(
            "stance label · {} · {} of {} left",
            session.annotator(),
            view.left,
            view.total
        )),
        Line::Plain(header(&view)),
        Line::Plain(String::new()),
    ];
    // Break lines at spaces only: a hyphenated word split across lines reads as two.
    let body_options = textwrap::Options::new(width.saturating_sub(4).max(10))
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let body: Vec<Line> = textwrap::wrap(view.text, body_options)
        .into_iter()
        .map(|line| Line::Plain(format!("  {line}")))
        .collect();

    let mut bottom = vec![Line::Plain(String::new())];
    if view.low {
        bottom.push(Line::Bold(
            "  [low confidence] the next label will be marked low-confidence (l to cancel)"
                .to_owned(),
        ));
        bottom.push(Line::Plain(String::new()));
    }
    let name_width = session
        .classes()
        .iter()
        .map(|class| class.name().chars().count())
        .max()
        .unwrap_or(0);
    for class in session.classes() {
        let first = format!("  {}  {:<name_width$}  ", class.key(), class.name());
        let hanging = " ".repeat(first.chars().count());
        let options = textwrap::Options::new(width.max(hanging.len() + 10))
            .initial_indent(&first)
            .subsequent_indent(&hanging)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for line in textwrap::wrap(class.definition(), options) {
            bottom.push(Line::Plain(line.into_owned()));
        }
    }
    bottom.push(Line::Plain(String::new()));
    bottom.push(Line::Dim(legend));
    bottom.push(Line::Plain(notice));

    let room = height.saturating_sub(top.len() + bottom.len());
    let mut body = body;
    if body.len() > room {
        body.truncate(room.saturating_sub(1));
        body.push(Line::Plain(
            "  … (enlarge the terminal to see the rest)".to_owned(),
        ));
    }
    top.extend(body);
    top.extend(bottom);
    top.truncate(height);
    top
}

fn header(view: &ParagraphView<'_>) -> String {
    format!(
        "{} · paragraph {} of {} · {}",
        view.article, view.nth, view.of, view.id
    )
}
