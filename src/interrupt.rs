//! Ctrl-C and `kill` (SIGINT, SIGTERM) as a request, not a death: the CLI
//! installs [`install`]; a long run checks [`requested`] between steps,
//! writes its checkpoint and stops with [`Error::Interrupted`](crate::Error::Interrupted).
//! A notebook never installs it (a kernel interrupt ends the cell's process).
use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Turns SIGINT and SIGTERM into a stop request for this process.
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic; signal() is given valid signal numbers.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Whether a stop was asked for since the process started.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
