//! One progress interface for every long run (GAN training, classifier
//! training, the attack study, the game-theory experiments): the run says
//! how far it is and what it has to report; whoever watches decides how to
//! show it. A notebook and a log get [`Lines`]; the CLI draws a bar on a
//! terminal and lines otherwise.
use std::io::Write;

/// Watches a long run. Every method has a default, so a watcher implements
/// only what it shows.
pub trait Progress {
    /// A run of `total` units (iterations, epochs, experiments) called `what` starts.
    fn start(&mut self, _what: &str, _total: usize) {}
    /// `done` of the `total` units are done.
    fn advance(&mut self, _done: usize) {}
    /// A line worth reading: an epoch's means, a warning, a finished experiment.
    fn line(&mut self, text: &str) {
        print_line(text);
    }
    /// The run ended (finished or failed).
    fn finish(&mut self) {}
}

/// Prints the lines to stdout, nothing else: readable in a notebook, a log
/// file or CI output.
#[derive(Debug, Default, Clone, Copy)]
pub struct Lines;
impl Progress for Lines {}

/// Shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;
impl Progress for Quiet {
    fn line(&mut self, _text: &str) {}
}

/// Any `FnMut(&str)` watches the lines.
impl<F: FnMut(&str)> Progress for F {
    fn line(&mut self, text: &str) {
        self(text)
    }
}

/// `println!` that never panics: a closed stdout (output piped into `head`)
/// must not kill a run that is still writing its results.
pub fn print_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_collect_lines_and_quiet_drops_them() {
        let mut seen = Vec::new();
        {
            let mut p = |s: &str| seen.push(s.to_string());
            p.start("x", 3);
            p.line("a");
            Progress::line(&mut p, "b");
            p.finish();
        }
        assert_eq!(seen, vec!["a", "b"]);
        let mut q = Quiet;
        q.line("dropped");
    }
}
