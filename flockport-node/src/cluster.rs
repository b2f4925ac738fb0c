//! `Cluster`, the facade: the members written here (`open`, `servers`,
//! `state`, `transport`, `probeAll`, `locate`, `containersListing`, `exec`)
//! and the shared core cluster every method uses. The core's declared
//! operations are generated into it by `ops.rs`.
//!
//! Every operation that touches a server (or the state file) returns a
//! Promise; reading the inventory already loaded is synchronous. The core
//! `Cluster` is shared as an `Arc` so that operations run concurrently.
//! Inventory edits (`addServer`, `delServer`) take `&mut` in the core: they
//! run, one at a time, on the shared core `Cluster` reopened
//! (`Cluster::reopen`: same store and transport factory, inventory re-read),
//! which then replaces the shared one.

use crate::convert::{json_to_js, to_js};
use crate::error;
use crate::promise::promise_with;
use crate::state::State;
use crate::transport::{Output, Transport};
use flockport_core::api::{Case, ViewValue};
use flockport_core::cluster::{ApplyOptions as CoreApplyOptions, Cluster as CoreCluster};
use flockport_core::inventory::ServerConfig as CoreServerConfig;
use flockport_core::state::{FileStateStore, StateStore};
use flockport_core::transport::DefaultTransportFactory;
use flockport_core::Result as CoreResult;
use napi::bindgen_prelude::AsyncTask;
use napi::Task;
use napi::{Env, JsObject, JsUnknown};
use napi_derive::napi;
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// Options of mutating operations.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Build and return the plan; touch nothing.
    pub dry_run: Option<bool>,
}

/// The core's options.
pub fn apply_options(o: Option<ApplyOptions>) -> CoreApplyOptions {
    CoreApplyOptions { dry_run: o.and_then(|o| o.dry_run).unwrap_or(false) }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The core cluster shared by a `Cluster`'s operations.
#[derive(Debug)]
pub struct Shared {
    current: Mutex<Arc<CoreCluster>>,
    edits: tokio::sync::Mutex<()>,
}

impl Shared {
    fn get(&self) -> Arc<CoreCluster> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs `edit` on the core cluster reopened (the core's inventory edits
    /// take `&mut`), then makes that one the shared one.
    pub async fn edit<T, F>(self: Arc<Self>, edit: F) -> CoreResult<T>
    where
        F: for<'c> FnOnce(&'c mut CoreCluster) -> BoxFuture<'c, CoreResult<T>>,
    {
        let _one_at_a_time = self.edits.lock().await;
        let mut fresh = self.get().reopen()?;
        let out = edit(&mut fresh).await?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(out)
    }
}

/// A cluster: an inventory of servers and a state store.
#[napi]
pub struct Cluster {
    pub(crate) shared: Arc<Shared>,
}

impl Cluster {
    fn new(core: CoreCluster) -> Cluster {
        Cluster { shared: Arc::new(Shared { current: Mutex::new(Arc::new(core)), edits: tokio::sync::Mutex::new(()) }) }
    }

    /// The core cluster.
    pub(crate) fn core(&self) -> Arc<CoreCluster> {
        self.shared.get()
    }
}

fn view<T: ViewValue>(v: &T) -> serde_json::Value {
    v.to_view(Case::Camel).unwrap_or(serde_json::Value::Null)
}

#[napi]
impl Cluster {
    /// Opens the inventory at `config` (or `$FLOCKPORT_CONFIG`, or
    /// `./flockport.toml`) and its state file.
    #[napi(factory)]
    pub fn open(env: Env, config: Option<String>) -> napi::Result<Cluster> {
        let core =
            CoreCluster::open(config.as_deref().map(std::path::Path::new)).map_err(|e| error::to_js(&env, &e))?;
        Ok(Cluster::new(core))
    }

    /// Opens the inventory at `path` with the state file at `state`.
    #[napi(factory)]
    pub fn open_with(env: Env, path: String, state: Option<String>) -> napi::Result<Cluster> {
        let store = state.map(|p| Arc::new(FileStateStore::new(p)) as Arc<dyn StateStore>);
        let core = CoreCluster::open_with(std::path::Path::new(&path), Arc::new(DefaultTransportFactory), store)
            .map_err(|e| error::to_js(&env, &e))?;
        Ok(Cluster::new(core))
    }

    /// The same cluster opened anew (inventory read again, same state file).
    #[napi]
    pub fn reopen(&self, env: Env) -> napi::Result<Cluster> {
        self.core().reopen().map(Cluster::new).map_err(|e| error::to_js(&env, &e))
    }

    /// The inventory file's path.
    #[napi]
    pub fn inventory_path(&self) -> String {
        self.core().inventory_path().display().to_string()
    }

    /// The servers in the inventory.
    #[napi]
    pub fn servers(&self, env: Env) -> napi::Result<JsUnknown> {
        to_js(&env, &self.core().servers().to_vec())
    }

    /// The server called `name` (a `NotFound` error names the known ones).
    #[napi]
    pub fn server(&self, env: Env, name: String) -> napi::Result<JsUnknown> {
        let c = self.core();
        to_js(&env, c.server(&name).map_err(|e| error::to_js(&env, &e))?)
    }

    /// The transport for a server (one per server per process, reused).
    #[napi]
    pub fn transport(&self, env: Env, server: String) -> napi::Result<Transport> {
        let c = self.core();
        c.server(&server)
            .and_then(|s| c.transport(s))
            .map(|inner| Transport { inner })
            .map_err(|e| error::to_js(&env, &e))
    }

    /// The desired state, read on libuv's thread pool, as Node's own `fs`
    /// reads files: one hop there and one back.
    #[napi]
    pub fn state(&self) -> AsyncTask<StateTask> {
        AsyncTask::new(StateTask { core: self.core() })
    }

    /// The current state, read on the calling (JS) thread.
    #[napi]
    pub fn state_blocking(&self, env: Env) -> napi::Result<State> {
        self.core().state_blocking().map(State::from).map_err(|e| error::to_js(&env, &e))
    }

    /// Probes servers in parallel (all, or those named); one result each,
    /// holding its facts or its error.
    #[napi]
    pub fn probe_all(&self, env: Env, servers: Option<Vec<String>>) -> napi::Result<JsObject> {
        let c = self.core();
        let fut = async move {
            let configs: Vec<&CoreServerConfig> = match &servers {
                Some(names) => names.iter().map(|n| c.server(n)).collect::<CoreResult<_>>()?,
                None => c.servers().iter().collect(),
            };
            Ok(c.probe_all(&configs).await.into_iter().map(|(s, r, ms)| (s.clone(), r, ms)).collect::<Vec<_>>())
        };
        promise_with(&env, fut, |env, results| {
            let mut out = env.create_array_with_length(results.len())?;
            for (i, (server, r, millis)) in results.into_iter().enumerate() {
                let mut plain = json!({"server": view(&server), "millis": millis});
                let error = match r {
                    Ok(f) => {
                        plain["facts"] = view(&f);
                        None
                    }
                    Err(e) => Some(error::to_js_object(env, &e)?),
                };
                let mut obj: JsObject = json_to_js(env, &plain)?.coerce_to_object()?;
                if let Some(e) = error {
                    obj.set_named_property("error", e)?;
                }
                out.set_element(i as u32, obj)?;
            }
            Ok(out)
        })
    }

    /// `listcontainers` as the CLI shows it: `{ items, unread }`.
    #[napi]
    pub fn containers_listing(&self, env: Env, server: Option<String>) -> napi::Result<JsObject> {
        let c = self.core();
        let fut = async move {
            let l = c.containers_listing(server.as_deref()).await?;
            let unread: Vec<_> = l.unread.iter().map(|(s, e)| json!({"server": s, "error": e.to_string()})).collect();
            Ok(json!({"items": view(&l.items), "unread": unread}))
        };
        promise_with(&env, fut, |env, v| json_to_js(env, &v))
    }

    /// Finds the server that holds container `name`: `{ server, container }`.
    #[napi]
    pub fn locate(&self, env: Env, name: String) -> napi::Result<JsObject> {
        let c = self.core();
        let fut = async move { c.locate(&name).await.map(|(s, i)| json!({"server": view(&s), "container": view(&i)})) };
        promise_with(&env, fut, |env, v| json_to_js(env, &v))
    }

    /// Runs `argv` inside a container; the output whatever the exit status.
    #[napi]
    pub fn exec(&self, env: Env, container: String, argv: Vec<String>) -> napi::Result<JsObject> {
        let c = self.core();
        promise_with(&env, async move { c.exec(&container, &argv).await }, |_, o| Ok(Output::from(o)))
    }
}

/// `Cluster.state()`'s work on libuv's thread pool.
pub struct StateTask {
    core: Arc<CoreCluster>,
}

impl Task for StateTask {
    type Output = CoreResult<flockport_core::State>;
    type JsValue = State;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        // napi-rs runs this from a C callback: a panic must not unwind out of
        // it (that would abort Node); it rejects the Promise instead.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.core.state_blocking()))
            .map_err(|panic| crate::promise::panic_error(panic.as_ref()))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<State> {
        output.map(State::from).map_err(|e| error::to_js(&env, &e))
    }
}
