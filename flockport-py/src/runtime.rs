//! The module's one tokio runtime, and the two ways Python waits on core futures.
//!
//! * [`block_on`]: the blocking methods. The future is polled on the calling
//!   thread with the GIL released; every [`SIGNAL_POLL`] the thread takes the
//!   GIL back for a moment to look for Ctrl-C (`KeyboardInterrupt`): a change
//!   then stops starting steps, rolls back what it did and raises
//!   `flockport.Interrupted` (a second Ctrl-C drops it at once).
//! * [`awaitable`]: the `*_async` methods. The future runs as one task on the
//!   runtime and completes an `asyncio.Future` of the caller's running loop
//!   through `loop.call_soon_threadsafe`; cancelling that future asks the
//!   change to stop and roll back ([`flockport_core::interrupt`]), and the
//!   task runs to that end. [`awaitable_blocking`] does the same for a local file read, run on
//!   the blocking pool (`state_async`).
//!   This is what `pyo3-async-runtimes` does, written out here so that the
//!   runtime stays ours and can be replaced after `fork()`.
//!
//! Fork safety: the runtime is tagged with the pid that built it. A forked
//! child has none of the parent's worker threads, so [`runtime`] builds a new
//! runtime there on first use (the parent's is leaked, never dropped: dropping
//! it would wait for threads that do not exist in the child).

use crate::error;
use flockport_core::Error as CoreError;
use futures::FutureExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};
use pyo3::IntoPyObjectExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

/// How often a blocking call looks for pending signals (Ctrl-C).
pub const SIGNAL_POLL: Duration = Duration::from_millis(100);

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// The runtime of this process (built on first use, rebuilt in a forked child).
pub fn runtime() -> PyResult<Arc<Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((owner, rt)) = slot.as_ref() {
        if *owner == pid {
            return Ok(rt.clone());
        }
    }
    if let Some((_, inherited)) = slot.take() {
        // Its worker threads belong to the parent: never join them.
        std::mem::forget(inherited);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("flockport")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    let rt = Arc::new(rt);
    *slot = Some((pid, rt.clone()));
    Ok(rt)
}

/// Runs `fut` to completion with the GIL released; maps a core error to its
/// exception class.
pub fn block_on<T, F>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = Result<T, CoreError>> + Send + 'static,
    T: Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PyRuntimeError::new_err(
            "a blocking flockport call cannot run on flockport's own runtime \
             (e.g. inside a progress callback); use the *_async method instead",
        ));
    }
    let rt = runtime()?;
    // The future is polled on this thread (no task, no hop to a worker and
    // back: the call costs what the core's own `block_on` costs); the
    // runtime's workers still run what it spawns (blocking file I/O, SSH).
    let mut fut = std::pin::pin!(fut);
    let mut interrupted: Option<PyErr> = None;
    loop {
        // The timeout is made inside the runtime's context (it needs its timer).
        let waited = py.allow_threads(|| rt.block_on(async { tokio::time::timeout(SIGNAL_POLL, fut.as_mut()).await }));
        match waited {
            Ok(result) => {
                if interrupted.is_some() {
                    // The request is ours: do not leave it to the next call.
                    flockport_core::interrupt::clear();
                }
                return match (result, interrupted) {
                    (Ok(value), None) => Ok(value),
                    // It finished before it saw the interrupt: the change is done; Ctrl-C goes on.
                    (Ok(_), Some(keyboard)) => Err(keyboard),
                    (Err(e), _) => Err(error::to_py(py, e)),
                };
            }
            Err(_elapsed) => {
                if let Err(e) = py.check_signals() {
                    if interrupted.is_some() || !flockport_core::interrupt::change_running() {
                        // Nothing is being changed (a listing, a probe, a change
                        // still planning), or a second Ctrl-C: drop the call at once.
                        if interrupted.is_some() {
                            flockport_core::interrupt::clear();
                        }
                        return Err(e);
                    }
                    // Ctrl-C: the change stops starting steps and rolls
                    // back (raising flockport.Interrupted); wait for that.
                    flockport_core::interrupt::request();
                    interrupted = Some(e);
                }
            }
        }
    }
}

/// Sets the result or exception of an asyncio future unless it is done
/// (cancelled) already. Called on the event loop's thread.
#[pyfunction]
fn complete_future(future: &Bound<'_, PyAny>, ok: bool, value: Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    let method = if ok { "set_result" } else { "set_exception" };
    future.call_method1(method, (value,))?;
    Ok(())
}

/// What an operation ended with: its value or error, or the panic it raised.
type Outcome<T> = std::thread::Result<Result<T, CoreError>>;

/// Hands `outcome` to the loop: `future` completes on the loop's thread
/// (through `call_soon_threadsafe`) with the value or the exception.
fn deliver<T>(event_loop: PyObject, future: PyObject, outcome: Outcome<T>)
where
    T: for<'a> IntoPyObject<'a>,
{
    Python::with_gil(|py| {
        let converted = match outcome {
            Ok(Ok(value)) => value.into_py_any(py),
            Ok(Err(e)) => Err(error::to_py(py, e)),
            Err(panic) => Err(PanicException::new_err(format!(
                "flockport task panicked: {}",
                flockport_core::error::panic_message(panic.as_ref())
            ))),
        };
        let (ok, value) = match converted {
            Ok(v) => (true, v),
            Err(e) => (false, e.into_value(py).into_any()),
        };
        let scheduled = wrap_pyfunction!(complete_future, py)
            .and_then(|complete| event_loop.call_method1(py, "call_soon_threadsafe", (complete, future, ok, value)));
        // The loop is closed: nobody is waiting for the result any more.
        drop(scheduled);
    });
}

/// A new `asyncio.Future` of the running loop (`RuntimeError` outside a loop),
/// and the loop.
fn loop_future<'py>(py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?;
    Ok((event_loop, future))
}

/// Cancelling `future` stops the task behind it: `abort` drops it when no
/// change is running (a local read, a listing), else the change is asked to
/// stop and roll back, and the task runs to that end.
fn on_cancel(py: Python<'_>, future: &Bound<'_, PyAny>, abort: AbortHandle, changes: bool) -> PyResult<()> {
    let on_done = PyCFunction::new_closure(
        py,
        None,
        None,
        move |args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>| -> PyResult<()> {
            if args.get_item(0)?.call_method0("cancelled")?.is_truthy()? {
                if changes && flockport_core::interrupt::change_running() {
                    flockport_core::interrupt::request();
                } else {
                    abort.abort();
                }
            }
            Ok(())
        },
    )?;
    future.call_method1("add_done_callback", (on_done,))?;
    Ok(())
}

/// Runs `fut` on the runtime, as one task, and returns an `asyncio.Future` of
/// the running loop that completes with its result (raises `RuntimeError`
/// outside a loop).
pub fn awaitable<'py, T, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, CoreError>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let (event_loop, future) = loop_future(py)?;
    let (loop_ref, future_ref) = (event_loop.unbind(), future.clone().unbind());
    // The panic is caught in the task itself: no second task to watch it.
    let cancelled = future_ref.clone_ref(py);
    let task = runtime()?.spawn(async move {
        let outcome = AssertUnwindSafe(fut).catch_unwind().await;
        // A cancelled call's interrupt request was for this task: it ends here.
        let was_cancelled = Python::with_gil(|py| {
            cancelled.call_method0(py, "cancelled").and_then(|c| c.is_truthy(py)).unwrap_or(false)
        });
        if was_cancelled {
            flockport_core::interrupt::clear();
        }
        deliver(loop_ref, future_ref, outcome);
    });
    on_cancel(py, &future, task.abort_handle(), true)?;
    Ok(future)
}

/// Runs the blocking `work` on the runtime's blocking pool (one hop there and
/// one back to the loop, as `loop.run_in_executor` would) and returns an
/// `asyncio.Future` of its result. For operations that only read local files.
pub fn awaitable_blocking<'py, T, W>(py: Python<'py>, work: W) -> PyResult<Bound<'py, PyAny>>
where
    W: FnOnce() -> Result<T, CoreError> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let (event_loop, future) = loop_future(py)?;
    let (loop_ref, future_ref) = (event_loop.unbind(), future.clone().unbind());
    let task = runtime()?.spawn_blocking(move || {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(work));
        deliver(loop_ref, future_ref, outcome);
    });
    // A blocking task cannot be stopped once it runs; cancelling still
    // abandons its result (complete_future skips a done future).
    on_cancel(py, &future, task.abort_handle(), false)?;
    Ok(future)
}
