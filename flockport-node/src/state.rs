//! `State` and `ContainerRecord`: what flockport remembers about a cluster
//! (mirrors `flockport_core::state`).

use crate::lb::LbRecord;
use flockport_core::state::{ContainerRecord as CoreContainerRecord, State as CoreState};
use napi::{Env, JsFunction, JsObject, JsUnknown};
use napi_derive::napi;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// `value` as JS values, built by V8's `JSON.parse` from its JSON: for many
/// records this is several times faster than setting each property through
/// N-API (one call per property, each making its key string anew), and it
/// gives the same objects (absent optional fields are left out, as napi-rs
/// leaves them out). It calls the global `JSON.parse` of the moment: a
/// program that replaces it changes what these getters return.
fn via_json<T: Serialize>(env: &Env, value: &T) -> napi::Result<JsUnknown> {
    let text = serde_json::to_string(value).map_err(|e| napi::Error::from_reason(format!("state to JSON: {e}")))?;
    let json: JsObject = env.get_global()?.get_named_property("JSON")?;
    let parse: JsFunction = json.get_named_property("parse")?;
    parse.call(Some(&json), &[env.create_string(&text)?])
}

/// A container flockport created and manages.
#[napi(object)]
#[derive(Debug, Clone, Serialize)]
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
///
/// A handle on the core's state as read: each getter converts its part to JS
/// values when it is read (and anew at every read: keep the value you use).
/// The instance has no own properties: compare, spread or clone
/// `state.toJSON()`, the same data as plain objects (what the getters give;
/// `JSON.stringify(state)` uses it).
#[napi]
#[derive(Debug, Clone)]
pub struct State {
    inner: CoreState,
}

impl From<CoreState> for State {
    fn from(inner: CoreState) -> Self {
        State { inner }
    }
}

impl State {
    fn containers_plain(&self) -> BTreeMap<&str, ContainerRecord> {
        self.inner.containers.iter().map(|(k, v)| (k.as_str(), ContainerRecord::from(v))).collect()
    }

    fn lbs_plain(&self) -> BTreeMap<&str, LbRecord> {
        self.inner.lbs.iter().map(|(k, v)| (k.as_str(), LbRecord::from(v))).collect()
    }
}

#[napi]
impl State {
    /// Schema version of the state file.
    #[napi(getter)]
    pub fn schema(&self) -> u32 {
        self.inner.schema
    }

    /// Managed containers by name.
    #[napi(getter, ts_return_type = "Record<string, ContainerRecord>")]
    pub fn containers(&self, env: Env) -> napi::Result<JsUnknown> {
        via_json(&env, &self.containers_plain())
    }

    /// Load balancers by name.
    #[napi(getter, ts_return_type = "Record<string, LbRecord>")]
    pub fn lbs(&self, env: Env) -> napi::Result<JsUnknown> {
        via_json(&env, &self.lbs_plain())
    }

    /// Counters of generated names, by prefix.
    #[napi(getter)]
    pub fn counters(&self) -> HashMap<String, i64> {
        self.inner.counters.iter().map(|(k, v)| (k.clone(), i64::try_from(*v).unwrap_or(i64::MAX))).collect()
    }

    /// The whole state as plain objects, as the getters give each part.
    #[napi(
        js_name = "toJSON",
        ts_return_type = "{ schema: number; containers: Record<string, ContainerRecord>; lbs: Record<string, LbRecord>; counters: Record<string, number> }"
    )]
    pub fn to_json(&self, env: Env) -> napi::Result<JsUnknown> {
        #[derive(Serialize)]
        struct Plain<'a> {
            schema: u32,
            containers: BTreeMap<&'a str, ContainerRecord>,
            lbs: BTreeMap<&'a str, LbRecord>,
            counters: &'a BTreeMap<String, u64>,
        }
        via_json(
            &env,
            &Plain {
                schema: self.inner.schema,
                containers: self.containers_plain(),
                lbs: self.lbs_plain(),
                counters: &self.inner.counters,
            },
        )
    }
}
