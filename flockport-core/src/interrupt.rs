//! A process-wide interrupt request: the CLI's SIGINT/SIGTERM handler and the
//! bindings (Python's KeyboardInterrupt, Node's `interrupt()`) set it; a
//! running [`crate::plan::Plan`] sees it before its next round trip, stops
//! starting steps, rolls back every server it changed and fails with
//! [`crate::Error::Interrupted`], which consumes the request.
//!
//! A flag rather than a token passed down: a signal handler has no handle on
//! the operation that happens to run, and at most one change per process holds
//! the state lock at a time anyway.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the running change (if any) to stop and roll back.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
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
