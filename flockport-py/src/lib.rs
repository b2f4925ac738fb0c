//! Python bindings of flockport: the module `flockport`.
//!
//! A thin layer over `flockport-core`, driven by its declaration
//! (`flockport_core::api`): `records` makes a class per declared record at
//! import and converts every value through it; `ops` expands the declared
//! operations into `Cluster` methods (blocking and `*_async`); `cluster` is
//! the facade's hand-written members; `error` the one error mapping;
//! `runtime` the one tokio runtime and the asyncio bridge; `plan` the
//! progress adapter; `transport` `Transport` and `Output`. Stubs:
//! `flockport.pyi`, generated from the same declaration and checked by
//! mypy's stubtest in `ci.sh`.

mod cluster;
mod error;
mod ops;
mod plan;
mod records;
mod runtime;
mod transport;

use pyo3::prelude::*;

/// Asks the change under way in this process (blocking or async, any
/// thread) to stop starting steps and roll back what it did: it then raises
/// `flockport.Interrupted`. What Ctrl-C does during a blocking call. Returns
/// whether a change was running (without one, nothing is left pending).
#[pyfunction]
fn interrupt() -> bool {
    flockport_core::interrupt::request_if_running()
}

/// The core's declaration as JSON (operations, records, hand-written
/// members), for the parity tests.
#[pyfunction]
fn _api() -> String {
    flockport_core::api::codegen::manifest().to_string()
}

/// Flockport: managed services on clusters of LXC hosts, from Python.
#[pymodule]
fn flockport(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(interrupt, m)?)?;
    m.add_function(wrap_pyfunction!(_api, m)?)?;
    m.add_class::<cluster::Cluster>()?;
    m.add_class::<cluster::ProbeResult>()?;
    m.add_class::<transport::Transport>()?;
    m.add_class::<transport::Output>()?;
    records::register(m)?;
    error::register(m)?;
    Ok(())
}
