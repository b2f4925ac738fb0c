//! `State` and `ContainerRecord`: what flockport remembers about a cluster
//! (mirrors `flockport_core::state`).

use crate::lb::LbRecord;
use flockport_core::state::{ContainerRecord as CoreContainerRecord, State as CoreState};
use napi_derive::napi;
use std::collections::HashMap;

/// A container flockport created and manages.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ContainerRecord {
    /// The server it lives on.
    pub server: String,
    /// Its static address.
    pub address: String,
    /// The image (template container) it was cloned from.
    pub image: String,
    /// What it is for (`app`, `haproxy`, ...).
    pub role: String,
}

impl From<&CoreContainerRecord> for ContainerRecord {
    fn from(r: &CoreContainerRecord) -> Self {
        ContainerRecord {
            server: r.server.clone(),
            address: r.address.to_string(),
            image: r.image.clone(),
            role: r.role.clone(),
        }
    }
}

/// Everything flockport remembers about a cluster.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct State {
    /// Schema version of the state file.
    pub schema: u32,
    /// Managed containers by name.
    pub containers: HashMap<String, ContainerRecord>,
    /// Load balancers by name.
    pub lbs: HashMap<String, LbRecord>,
    /// Counters of generated names, by prefix.
    pub counters: HashMap<String, i64>,
}

impl From<&CoreState> for State {
    fn from(s: &CoreState) -> Self {
        State {
            schema: s.schema,
            containers: s.containers.iter().map(|(k, v)| (k.clone(), ContainerRecord::from(v))).collect(),
            lbs: s.lbs.iter().map(|(k, v)| (k.clone(), LbRecord::from(v))).collect(),
            counters: s.counters.iter().map(|(k, v)| (k.clone(), i64::try_from(*v).unwrap_or(i64::MAX))).collect(),
        }
    }
}
