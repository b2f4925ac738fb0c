//! `Plan` and `Step`: what a mutating operation runs and writes (mirrors
//! `flockport_core::plan`), and the adapter that reports progress to a
//! Python callable.

use crate::convert::{repr_opt, repr_str, to_python};
use flockport_core::plan::{Action, Plan as CorePlan, Progress as CoreProgress, Step as CoreStep};
use pyo3::prelude::*;

/// One thing to do on a server: run a command or write a file.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub(crate) inner: CoreStep,
}

impl From<CoreStep> for Step {
    fn from(inner: CoreStep) -> Self {
        Step { inner }
    }
}

#[pymethods]
impl Step {
    /// The server it runs on.
    #[getter]
    fn server(&self) -> &str {
        &self.inner.server
    }
    /// What it does, for people.
    #[getter]
    fn description(&self) -> &str {
        &self.inner.description
    }
    /// `"run"` or `"write_file"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner.action {
            Action::Run { .. } => "run",
            Action::WriteFile { .. } => "write_file",
        }
    }
    /// The command of a `run` step.
    #[getter]
    fn argv(&self) -> Option<Vec<String>> {
        match &self.inner.action {
            Action::Run { argv, .. } => Some(argv.clone()),
            Action::WriteFile { .. } => None,
        }
    }
    /// Standard input of a `run` step as shown to people (secrets hidden).
    #[getter]
    fn stdin(&self) -> Option<String> {
        match &self.inner.action {
            Action::Run { stdin, .. } => stdin.as_ref().map(|c| c.shown()),
            Action::WriteFile { .. } => None,
        }
    }
    /// The path of a `write_file` step.
    #[getter]
    fn path(&self) -> Option<&str> {
        match &self.inner.action {
            Action::WriteFile { path, .. } => Some(path),
            Action::Run { .. } => None,
        }
    }
    /// The file mode of a `write_file` step.
    #[getter]
    fn mode(&self) -> Option<u32> {
        match &self.inner.action {
            Action::WriteFile { mode, .. } => Some(*mode),
            Action::Run { .. } => None,
        }
    }
    /// The contents of a `write_file` step as shown to people (secrets hidden).
    #[getter]
    fn content(&self) -> Option<String> {
        match &self.inner.action {
            Action::WriteFile { content, .. } => Some(content.shown()),
            Action::Run { .. } => None,
        }
    }
    /// One line (two with the command) for people.
    fn render(&self) -> String {
        self.inner.render()
    }
    /// The step as plain data (the CLI's `--json` form).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    fn __str__(&self) -> String {
        self.inner.render()
    }
    pub(crate) fn __repr__(&self) -> String {
        format!(
            "Step(server={}, kind={}, description={}, path={})",
            repr_str(&self.inner.server),
            repr_str(self.kind()),
            repr_str(&self.inner.description),
            repr_opt(self.path()),
        )
    }
}

/// Everything a mutating operation will do (or did).
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub(crate) inner: CorePlan,
}

impl From<CorePlan> for Plan {
    fn from(inner: CorePlan) -> Self {
        Plan { inner }
    }
}

fn steps(list: &[CoreStep]) -> Vec<Step> {
    list.iter().cloned().map(Step::from).collect()
}

#[pymethods]
impl Plan {
    /// The operation, e.g. `addcontainer web1 on s1`.
    #[getter]
    fn operation(&self) -> &str {
        &self.inner.operation
    }
    /// Steps in order.
    #[getter]
    fn steps(&self) -> Vec<Step> {
        steps(&self.inner.steps)
    }
    /// Best-effort undo steps run on a server whose step failed.
    #[getter]
    fn rollback(&self) -> Vec<Step> {
        steps(&self.inner.rollback)
    }
    /// The state changes committed after success, for people.
    #[getter]
    fn state_changes(&self) -> Vec<String> {
        self.inner.state_changes.clone()
    }
    /// What `--dry-run` prints.
    fn render(&self) -> String {
        self.inner.render()
    }
    /// The plan as plain data (the CLI's `--json` form).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    fn __str__(&self) -> String {
        self.inner.render()
    }
    pub(crate) fn __repr__(&self) -> String {
        format!(
            "Plan(operation={}, steps={}, state_changes={})",
            repr_str(&self.inner.operation),
            self.inner.steps.len(),
            self.inner.state_changes.len(),
        )
    }
}

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
                let step = Step::from(step.clone());
                if let Err(e) = callback.call1(py, (index, total, step)) {
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
