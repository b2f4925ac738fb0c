//! `State`: a handle on the core's state as read. Its fields are the core
//! `State`'s declared ones (`flockport_core::api`): `index.js` defines a
//! getter per field on the prototype from the declaration (`_api()`), each
//! converting that part when it is read (and anew at every read).

use crate::convert::json_to_js;
use flockport_core::api::{Case, Record};
use flockport_core::state::State as CoreState;
use napi::{Env, JsUnknown};
use napi_derive::napi;
use serde_json::Value;

/// Everything flockport remembers about a cluster.
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

#[napi]
impl State {
    /// One field (its Rust name), converted (the getters' work).
    #[napi(js_name = "_field")]
    pub fn field(&self, env: Env, name: String) -> napi::Result<JsUnknown> {
        json_to_js(&env, &self.inner.field_view(&name, Case::Camel).unwrap_or(Value::Null))
    }

    /// The whole state as plain objects, as the getters give each part.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self, env: Env) -> napi::Result<JsUnknown> {
        let mut out = serde_json::Map::new();
        self.inner.write_view(&mut out, Case::Camel);
        json_to_js(&env, &Value::Object(out))
    }
}
