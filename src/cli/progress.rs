//! A progress bar on stderr for long stages, only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{HumanDuration, ProgressBar, ProgressState, ProgressStyle};
use stance::experiment::Progress;

/// Stages with fewer steps than this finish too fast for a bar to help.
const MIN_STEPS_FOR_BAR: u64 = 20;

pub struct Bar {
    enabled: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bar {
    pub fn new() -> Bar {
        Bar {
            enabled: std::io::stderr().is_terminal(),
            current: Mutex::new(None),
        }
    }

    /// Run `work` (which prints) with the bar out of the way.
    pub fn suspend<T>(&self, work: impl FnOnce() -> T) -> T {
        match self.current.lock().ok().as_deref() {
            Some(Some(bar)) => bar.suspend(work),
            _ => work(),
        }
    }

    pub fn finish(&self) {
        if let Ok(mut current) = self.current.lock()
            && let Some(bar) = current.take()
        {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        self.finish();
        if !self.enabled || total < MIN_STEPS_FOR_BAR {
            return;
        }
        let bar = ProgressBar::new(total);
        bar.set_style(style());
        bar.set_message(name.to_owned());
        if let Ok(mut current) = self.current.lock() {
            *current = Some(bar);
        }
    }

    fn note(&self, message: &str) {
        let message = super::report::wrap(message, "", "  ");
        match self.current.lock().ok().as_deref() {
            Some(Some(bar)) => bar.suspend(|| eprint!("{message}")),
            _ => eprint!("{message}"),
        }
    }

    fn tick(&self) {
        if let Ok(current) = self.current.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.inc(1);
        }
    }
}

/// `permutation test [=====>     ] 1,200/5,000 (3m left)`.
fn style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:>18} [{bar:30}] {human_pos}/{human_len} ({time_left})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
        .with_key("time_left", time_left)
}

/// The time left, or "estimating…" until a step is done: before that there is nothing to
/// estimate from (indicatif would say "0s").
fn time_left(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let _ = if state.pos() == 0 {
        write!(out, "estimating…")
    } else {
        write!(out, "{:#} left", HumanDuration(state.eta()))
    };
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::*;

    /// A terminal that keeps what is drawn on it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> std::io::Result<()> {
            self.write_str(&format!("{line}\n"))
        }
        fn write_str(&self, text: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(text);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_time_left_is_estimated_only_once_a_step_is_done() {
        let screen = Screen::default();
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        let bar = ProgressBar::with_draw_target(Some(200_000), target);
        bar.set_style(style());
        bar.set_message("permutation test");
        bar.force_draw();
        let drawn = std::mem::take(&mut *screen.0.lock().unwrap());
        assert!(drawn.contains("0/200,000 (estimating…)"), "{drawn}");
        bar.inc(1_000);
        bar.force_draw();
        let drawn = screen.0.lock().unwrap().clone();
        assert!(drawn.contains("1,000/200,000 ("), "{drawn}");
        assert!(
            drawn.contains(" left)") && !drawn.contains("estimating"),
            "{drawn}"
        );
    }
}
