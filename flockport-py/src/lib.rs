//! Python bindings of flockport: the module `flockport`.
//!
//! A thin layer over `flockport-core`: conversion and error mapping only.
//! Files mirror the core's modules by name (`cluster`, `inventory`, `lb`, `lxc`,
//! `plan`, `state`, `transport`); `error` is the one error-mapping file,
//! `runtime` the one tokio runtime and the asyncio bridge, `convert` the
//! shared `repr`/`to_dict` helpers. Stubs: `flockport.pyi`, checked by
//! mypy's stubtest in `ci.sh`.

mod cluster;
mod convert;
mod error;
mod inventory;
mod lb;
mod lxc;
mod plan;
mod runtime;
mod state;
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

/// Flockport: managed services on clusters of LXC hosts, from Python.
#[pymodule]
fn flockport(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(interrupt, m)?)?;
    m.add_class::<cluster::Cluster>()?;
    m.add_class::<cluster::ServerStatus>()?;
    m.add_class::<cluster::ProbeResult>()?;
    m.add_class::<cluster::Applied>()?;
    m.add_class::<inventory::ServerConfig>()?;
    m.add_class::<lb::Backend>()?;
    m.add_class::<lb::BackendHealth>()?;
    m.add_class::<lb::LbInfo>()?;
    m.add_class::<lb::LbRecord>()?;
    m.add_class::<lb::ServiceContainer>()?;
    m.add_class::<lxc::ContainerInfo>()?;
    m.add_class::<lxc::ServerFacts>()?;
    m.add_class::<plan::Plan>()?;
    m.add_class::<plan::Step>()?;
    m.add_class::<state::State>()?;
    m.add_class::<state::ContainerRecord>()?;
    m.add_class::<transport::Transport>()?;
    m.add_class::<transport::Output>()?;
    error::register(m)?;
    Ok(())
}
