//! A process-wide interrupt request: the CLI's SIGINT/SIGTERM handler and the
//! bindings (Python's KeyboardInterrupt, Node's `interrupt()`) set it; a
//! running [`crate::plan::Plan`] sees it before its next round trip, stops
//! starting steps, rolls back every server it changed and fails with
//! [`crate::Error::Interrupted`], which consumes the request.
//!
//! A flag rather than a token passed down: a signal handler has no handle on
//! the operation that happens to run, and at most one change per process holds
//! the state lock at a time anyway.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Held while a plan runs on servers: what a front end asks before it
/// decides between stopping a call at once (nothing is being changed: a
/// listing, a probe, a change still planning) and waiting for a rollback.
#[derive(Debug)]
pub struct Running(());

impl Running {
    /// Marks a plan as running until dropped.
    pub fn start() -> Self {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The last running plan ended: a request made for it cannot outlive it.
        if RUNNING.fetch_sub(1, Ordering::SeqCst) == 1 {
            REQUESTED.store(false, Ordering::SeqCst);
        }
    }
}

/// Whether a plan is running on servers in this process now.
pub fn change_running() -> bool {
    RUNNING.load(Ordering::SeqCst) > 0
}

/// Asks the running change (if any) to stop and roll back.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Asks the change under way to stop and roll back, only if a plan is
/// running now (so a request made while nothing changes servers does not
/// stay pending for the next change); whether one was running.
pub fn request_if_running() -> bool {
    if change_running() {
        request();
        true
    } else {
        false
    }
}

/// Whether an interrupt is pending.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Takes the pending request, if any (the operation that honours it calls this).
pub fn take() -> bool {
    REQUESTED.swap(false, Ordering::SeqCst)
}

/// Drops a pending request without honouring it.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}
