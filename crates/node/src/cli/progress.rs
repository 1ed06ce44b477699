//! Progress of long CLI work (catching up, backup, restore, import, recovery, drills): a bar
//! (indicatif) when stderr is a terminal, otherwise a plain line now and then, so a log file or
//! a CI run still shows that the work moves and how far it got. Always on stderr, so the
//! command's own output on stdout stays clean for scripts.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    /// Things, named in the plural ("entries", "records", "seconds").
    Items(&'static str),
}

/// How often a plain line is written (and always at the end).
const LINE_EVERY: Duration = Duration::from_secs(2);

/// One piece of long work. Cheap to update from any thread.
pub struct Progress {
    label: String,
    unit: Unit,
    bar: Option<ProgressBar>,
    plain: Mutex<Plain>,
}

struct Plain {
    total: u64,
    done: u64,
    started: Instant,
    last_line: Option<Instant>,
    note: String,
}

impl Progress {
    /// Starts showing `label`; `total` may be 0 while it is not known yet.
    pub fn new(label: &str, total: u64, unit: Unit) -> Self {
        Self::with_terminal(label, total, unit, std::io::stderr().is_terminal())
    }

    fn with_terminal(label: &str, total: u64, unit: Unit, terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let count = match unit {
                Unit::Bytes => "{bytes}/{total_bytes} ({bytes_per_sec})".to_owned(),
                Unit::Items(what) => format!("{{human_pos}}/{{human_len}} {what} ({{per_sec}})"),
            };
            let template = format!("{{prefix}} {{wide_bar}} {count}, {{eta}} left {{msg}}");
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()))
                .with_prefix(label.to_owned());
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        Self {
            label: label.to_owned(),
            unit,
            bar,
            plain: Mutex::new(Plain { total, done: 0, started: Instant::now(), last_line: None, note: String::new() }),
        }
    }

    pub fn set_total(&self, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
        }
        self.update(|p| p.total = total);
    }

    /// Sets how much is done.
    pub fn set(&self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
        self.update(|p| p.done = done);
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
        self.update(|p| p.done += n);
    }

    /// A short note after the numbers (e.g. "23 writes acknowledged").
    pub fn note(&self, note: impl Into<String>) {
        let note = note.into();
        if let Some(b) = &self.bar {
            b.set_message(note.clone());
        }
        self.update(|p| p.note = note);
    }

    /// Ends the bar (removed from the terminal) or writes the last plain line.
    pub fn finish(&self) {
        match &self.bar {
            Some(b) => b.finish_and_clear(),
            None => {
                if let Ok(mut p) = self.plain.lock() {
                    eprintln!("{}", line(&self.label, self.unit, &p, true, p.started.elapsed().as_secs_f64()));
                    p.last_line = Some(Instant::now());
                }
            }
        }
    }

    /// Prints a line of the command's own output on stdout without tearing the bar.
    pub fn println(&self, text: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Plain)) {
        let Ok(mut p) = self.plain.lock() else { return };
        f(&mut p);
        if self.bar.is_none() && p.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
            p.last_line = Some(Instant::now());
            eprintln!("{}", line(&self.label, self.unit, &p, false, p.started.elapsed().as_secs_f64()));
        }
    }
}

impl Drop for Progress {
    /// Work given up half-way (an error) leaves no half-drawn bar behind.
    fn drop(&mut self) {
        if let Some(b) = &self.bar
            && !b.is_finished()
        {
            b.finish_and_clear();
        }
    }
}

fn amount(unit: Unit, n: u64) -> String {
    match unit {
        Unit::Bytes => indicatif::HumanBytes(n).to_string(),
        Unit::Items(_) => indicatif::HumanCount(n).to_string(),
    }
}

/// One plain progress line: "catching up: 12,000/50,000 entries (24%), 3,100 entries/s, about
/// 12 s left".
fn line(label: &str, unit: Unit, p: &Plain, last: bool, secs: f64) -> String {
    let what = match unit {
        Unit::Bytes => "",
        Unit::Items(w) => w,
    };
    let sep = if what.is_empty() { "" } else { " " };
    let mut s = format!("{label}: {}", amount(unit, p.done));
    if p.total > 0 {
        s += &format!("/{}{sep}{what} ({}%)", amount(unit, p.total), p.done.min(p.total) * 100 / p.total);
    } else {
        s += &format!("{sep}{what}");
    }
    if secs >= 0.5 && p.done > 0 {
        let rate = p.done as f64 / secs;
        s += &format!(", {}{sep}{what}/s", amount(unit, rate as u64));
        if !last && p.total > p.done {
            s += &format!(", about {} s left", ((p.total - p.done) as f64 / rate).ceil() as u64);
        }
    }
    if last {
        s += &format!(", done in {secs:.1} s");
    }
    if !p.note.is_empty() {
        s += &format!(" - {}", p.note);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(total: u64, done: u64) -> Plain {
        Plain { total, done, started: Instant::now(), last_line: None, note: String::new() }
    }

    #[test]
    fn a_plain_line_says_how_far_how_fast_and_how_long() {
        let l = line("catching up", Unit::Items("entries"), &plain(50_000, 12_000), false, 4.0);
        assert!(l.starts_with("catching up: 12,000/50,000 entries (24%), 3,000 entries/s"), "{l}");
        assert!(l.ends_with("about 13 s left"), "{l}");
        let l = line("backup", Unit::Bytes, &plain(4 << 20, 1 << 20), false, 2.0);
        assert!(l.starts_with("backup: 1.00 MiB/4.00 MiB (25%), 512.00 KiB/s, about 6 s left"), "{l}");
    }

    #[test]
    fn unknown_totals_and_the_last_line() {
        let mut p = plain(0, 700);
        p.note = "3 writes acknowledged".into();
        let l = line("drill", Unit::Items("writes"), &p, true, 1.0);
        assert!(l.starts_with("drill: 700 writes, 700 writes/s, done in 1.0 s"), "{l}");
        assert!(l.ends_with(" - 3 writes acknowledged"), "{l}");
        assert_eq!(line("x", Unit::Items("entries"), &plain(10, 0), false, 0.0), "x: 0/10 entries (0%)");
    }

    #[test]
    fn without_a_terminal_there_is_no_bar() {
        let p = Progress::with_terminal("t", 3, Unit::Items("things"), false);
        p.inc(1);
        p.set(3);
        p.finish();
        assert!(p.bar.is_none());
        assert_eq!(p.plain.lock().map(|p| p.done).unwrap_or(0), 3);
    }
}
