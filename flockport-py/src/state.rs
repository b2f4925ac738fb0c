//! `State` and `ContainerRecord`: what flockport remembers about a cluster
//! (mirrors `flockport_core::state`).

use crate::convert::{repr_str, to_python};
use crate::lb::LbRecord;
use flockport_core::state::{ContainerRecord as CoreContainerRecord, State as CoreState};
use pyo3::prelude::*;
use std::collections::BTreeMap;

/// A container flockport created and manages.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRecord {
    pub(crate) inner: CoreContainerRecord,
}

impl From<CoreContainerRecord> for ContainerRecord {
    fn from(inner: CoreContainerRecord) -> Self {
        ContainerRecord { inner }
    }
}

#[pymethods]
impl ContainerRecord {
    /// The server it lives on.
    #[getter]
    fn server(&self) -> &str {
        &self.inner.server
    }
    /// Its static address.
    #[getter]
    fn address(&self) -> String {
        self.inner.address.to_string()
    }
    /// The image (template container) it was cloned from.
    #[getter]
    fn image(&self) -> &str {
        &self.inner.image
    }
    /// What it is for (`app`, `haproxy`, ...).
    #[getter]
    fn role(&self) -> &str {
        &self.inner.role
    }
    /// The record as plain data.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    pub(crate) fn __repr__(&self) -> String {
        format!(
            "ContainerRecord(server={}, address={}, image={}, role={})",
            repr_str(&self.inner.server),
            repr_str(&self.inner.address.to_string()),
            repr_str(&self.inner.image),
            repr_str(&self.inner.role),
        )
    }
}

/// Everything flockport remembers about a cluster.
#[pyclass(module = "flockport", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub(crate) inner: CoreState,
}

impl From<CoreState> for State {
    fn from(inner: CoreState) -> Self {
        State { inner }
    }
}

#[pymethods]
impl State {
    /// Schema version of the state file.
    #[getter]
    fn schema(&self) -> u32 {
        self.inner.schema
    }
    /// Managed containers by name.
    #[getter]
    fn containers(&self) -> BTreeMap<String, ContainerRecord> {
        self.inner.containers.iter().map(|(k, v)| (k.clone(), ContainerRecord::from(v.clone()))).collect()
    }
    /// Load balancers by name.
    #[getter]
    fn lbs(&self) -> BTreeMap<String, LbRecord> {
        self.inner.lbs.iter().map(|(k, v)| (k.clone(), LbRecord::from(v.clone()))).collect()
    }
    /// Counters of generated names, by prefix.
    #[getter]
    fn counters(&self) -> BTreeMap<String, u64> {
        self.inner.counters.clone()
    }
    /// The state as plain data (the state file's JSON).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        to_python(py, &self.inner)
    }
    pub(crate) fn __repr__(&self) -> String {
        let names: Vec<String> = self.inner.containers.keys().map(|k| repr_str(k)).collect();
        let lbs: Vec<String> = self.inner.lbs.keys().map(|k| repr_str(k)).collect();
        format!("State(schema={}, containers=[{}], lbs=[{}])", self.inner.schema, names.join(", "), lbs.join(", "))
    }
}
