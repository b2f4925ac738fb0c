//! `Transport` and `Output`: run a command on a server (mirrors
//! `flockport_core::transport`).

use crate::runtime::{awaitable, block_on};
use flockport_core::transport::{Output as CoreOutput, Transport as CoreTransport};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::Arc;

/// What a command produced. A non-zero status is not an error here.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub(crate) inner: CoreOutput,
}

impl From<CoreOutput> for Output {
    fn from(inner: CoreOutput) -> Self {
        Output { inner }
    }
}

#[pymethods]
impl Output {
    /// Exit status; -1 when killed by a signal.
    #[getter]
    fn status(&self) -> i32 {
        self.inner.status
    }
    /// Standard output.
    #[getter]
    fn stdout<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.stdout)
    }
    /// Standard error.
    #[getter]
    fn stderr<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.stderr)
    }
    /// Standard output as text (invalid UTF-8 replaced).
    fn stdout_str(&self) -> String {
        self.inner.stdout_str()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut out = self.inner.stdout_str();
        if out.len() > 60 {
            let cut = out.char_indices().nth(57).map_or(out.len(), |(i, _)| i);
            out.truncate(cut);
            out.push_str("...");
        }
        Ok(format!(
            "Output(status={}, stdout={}, stderr_bytes={})",
            self.inner.status,
            out.into_pyobject(py)?.repr()?,
            self.inner.stderr.len()
        ))
    }
}

/// Runs commands on one server (SSH or local, as the inventory says).
#[pyclass(module = "flockport", frozen)]
#[derive(Debug, Clone)]
pub struct Transport {
    pub(crate) inner: Arc<dyn CoreTransport>,
}

#[pymethods]
impl Transport {
    /// The server's name.
    fn server(&self) -> &str {
        self.inner.server()
    }
    /// Runs `argv` on the server with optional standard input.
    #[pyo3(signature = (argv, stdin=None))]
    fn exec(&self, py: Python<'_>, argv: Vec<String>, stdin: Option<Vec<u8>>) -> PyResult<Output> {
        let t = self.inner.clone();
        block_on(py, async move { t.exec(argv, stdin).await.map(Output::from) })
    }
    /// `exec` for asyncio: returns an awaitable.
    #[pyo3(signature = (argv, stdin=None))]
    fn exec_async<'py>(
        &self,
        py: Python<'py>,
        argv: Vec<String>,
        stdin: Option<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = self.inner.clone();
        awaitable(py, async move { t.exec(argv, stdin).await.map(Output::from) })
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Transport(server={})", self.inner.server().into_pyobject(py)?.repr()?))
    }
}
