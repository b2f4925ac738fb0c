//! The one place core errors become Python exceptions.
//!
//! Classes follow [`ErrorKind`]: `FlockportError` is the root, with
//! `InvalidInput`, `NotFound`, `AlreadyExists`, `Unreachable`,
//! `RemoteCommandFailed`, `ConfigRejected`, `LocalError` and `Interrupted` below it. The
//! message is the core's (it names the bad value). Every exception carries:
//!
//! * `kind`: the [`ErrorKind`] name (`"InvalidInput"`, ..., `"Local"`);
//! * `details`: the fields of the core variant (`field`, `value`, `server`,
//!   `command`, `status`, ...) plus `variant`, the variant's name;
//! * `causes`: the messages of the Rust `source()` chain, outermost first;
//! * `errors`: for a failure on several servers, one exception per server.
//!
//! The source chain is also linked as `__cause__` (an `OSError` with its
//! errno for I/O errors, an `Exception` otherwise), so tracebacks show it.

use flockport_core::{Error as CoreError, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

create_exception!(flockport, FlockportError, PyException, "Root of every flockport error.");
create_exception!(
    flockport,
    InvalidInput,
    FlockportError,
    "A value given by the user is not acceptable; nothing was touched."
);
create_exception!(flockport, NotFound, FlockportError, "A named thing (server, container, ...) does not exist.");
create_exception!(flockport, AlreadyExists, FlockportError, "A named thing exists already.");
create_exception!(flockport, Unreachable, FlockportError, "A server could not be reached (connection, SSH, host key).");
create_exception!(
    flockport,
    RemoteCommandFailed,
    FlockportError,
    "A command on a server exited non-zero, or its output was not understood."
);
create_exception!(
    flockport,
    ConfigRejected,
    FlockportError,
    "A service's checker refused a rendered configuration; the old one keeps running."
);
create_exception!(flockport, LocalError, FlockportError, "A local file (inventory, state, key) could not be used.");
create_exception!(
    flockport,
    Interrupted,
    FlockportError,
    "The change was interrupted (KeyboardInterrupt, a signal) and rolled back; nothing was recorded."
);

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FlockportError", py.get_type::<FlockportError>())?;
    m.add("InvalidInput", py.get_type::<InvalidInput>())?;
    m.add("NotFound", py.get_type::<NotFound>())?;
    m.add("AlreadyExists", py.get_type::<AlreadyExists>())?;
    m.add("Unreachable", py.get_type::<Unreachable>())?;
    m.add("RemoteCommandFailed", py.get_type::<RemoteCommandFailed>())?;
    m.add("ConfigRejected", py.get_type::<ConfigRejected>())?;
    m.add("LocalError", py.get_type::<LocalError>())?;
    m.add("Interrupted", py.get_type::<Interrupted>())?;
    Ok(())
}

/// Converts a core error into its Python exception.
pub fn to_py(py: Python<'_>, err: CoreError) -> PyErr {
    build(py, &err).unwrap_or_else(|e| e)
}

fn new_exception(kind: ErrorKind, message: String) -> PyErr {
    match kind {
        ErrorKind::InvalidInput => InvalidInput::new_err(message),
        ErrorKind::NotFound => NotFound::new_err(message),
        ErrorKind::AlreadyExists => AlreadyExists::new_err(message),
        ErrorKind::Unreachable => Unreachable::new_err(message),
        ErrorKind::RemoteCommandFailed => RemoteCommandFailed::new_err(message),
        ErrorKind::ConfigRejected => ConfigRejected::new_err(message),
        ErrorKind::Local => LocalError::new_err(message),
        ErrorKind::Interrupted => Interrupted::new_err(message),
    }
}

fn build(py: Python<'_>, err: &CoreError) -> PyResult<PyErr> {
    let exc = new_exception(err.kind(), err.to_string());
    let value = exc.value(py);
    value.setattr("kind", err.kind().name())?;
    value.setattr("details", details(py, err)?)?;
    let causes: Vec<String> = err.chain().iter().map(|e| e.to_string()).collect();
    value.setattr("causes", causes)?;
    let mut errors = Vec::new();
    if let CoreError::Many(all) = err {
        for e in all {
            errors.push(build(py, e)?);
        }
    }
    let first = errors.first().map(|e| e.clone_ref(py));
    let list = PyList::new(py, errors.into_iter().map(|e| e.into_value(py)))?;
    value.setattr("errors", list)?;
    if let Some(cause) = first.or_else(|| cause_exception(py, err)) {
        exc.set_cause(py, Some(cause));
    }
    Ok(exc)
}

/// The chain as linked Python exceptions (`__cause__` of each is the next).
fn cause_exception(py: Python<'_>, err: &CoreError) -> Option<PyErr> {
    let mut below: Option<PyErr> = None;
    for e in err.chain().into_iter().rev() {
        let exc = match e.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error) {
            Some(errno) => PyOSError::new_err((errno, e.to_string())),
            None => PyException::new_err(e.to_string()),
        };
        exc.set_cause(py, below.take());
        below = Some(exc);
    }
    below
}

/// The variant's fields (`flockport_core::api::error_details`), for
/// programs that act on an error.
fn details<'py>(py: Python<'py>, err: &CoreError) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let (variant, fields) = flockport_core::api::error_details(err);
    for (name, value) in fields {
        d.set_item(name, crate::records::json_to_py(py, &value)?)?;
    }
    d.set_item("variant", variant)?;
    Ok(d)
}
