//! The adapter that reports a plan's progress to a Python callable.

use flockport_core::plan::{Progress as CoreProgress, Step as CoreStep};
use pyo3::prelude::*;

/// Reports each step to a Python callable `progress(index, total, step)`.
/// An exception in the callable is reported as unraisable; the plan goes on,
/// except for `KeyboardInterrupt` (Ctrl-C while the callable ran), which
/// asks the change to stop and roll back as Ctrl-C does at any other moment.
#[derive(Debug)]
pub struct Progress(pub Option<Py<PyAny>>);

impl CoreProgress for Progress {
    fn step(&self, index: usize, total: usize, step: &CoreStep) {
        if let Some(callback) = &self.0 {
            Python::with_gil(|py| {
                let called =
                    crate::records::record(py, step.clone()).and_then(|s| callback.call1(py, (index, total, s)));
                if let Err(e) = called {
                    if e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) {
                        flockport_core::interrupt::request_if_running();
                    } else {
                        e.write_unraisable(py, Some(callback.bind(py)));
                    }
                }
            });
        }
    }
}
