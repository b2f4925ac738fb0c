//! `Cluster`, the facade, with every public operation of
//! `flockport_core::Cluster` in camelCase, plus the records only it returns.
//!
//! Every operation that touches a server (or the state file) returns a
//! Promise; reading the inventory already loaded is synchronous. The
//! load-balancer operations are in `lb.rs`, as in the core.
//!
//! The core `Cluster` is shared as an `Arc` so that operations run
//! concurrently. The two that edit the inventory (`addServer`, `delServer`)
//! take `&mut` in the core: they run, one at a time, on the shared core
//! `Cluster` reopened (`Cluster::reopen`: same store and transport factory,
//! inventory re-read), which then replaces the shared one.

use crate::error;
use crate::inventory::ServerConfig;
use crate::lxc::{ContainerInfo, ServerFacts};
use crate::plan::{Plan, Progress};
use crate::promise::{promise, promise_with};
use crate::state::{ContainerRecord, State};
use crate::transport::{Output, Transport};
use flockport_core::cluster::{
    AddServer as CoreAddServer, ApplyOptions as CoreApplyOptions, Cluster as CoreCluster,
    ContainerSpec as CoreContainerSpec, ServerStatus as CoreServerStatus,
};
use flockport_core::inventory::ServerConfig as CoreServerConfig;
use flockport_core::state::{FileStateStore, StateStore};
use flockport_core::transport::DefaultTransportFactory;
use flockport_core::{Error as CoreError, Result as CoreResult};
use napi::bindgen_prelude::{AsyncTask, Buffer, Either};
use napi::Task;
use napi::{Env, JsFunction, JsObject};
use napi_derive::napi;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// A server to add to the inventory (`addserver`).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AddServer {
    /// Name.
    pub name: String,
    /// Container subnet in CIDR form.
    pub subnet: String,
    /// Host (SSH); omit with `local`.
    pub host: Option<String>,
    /// Reach it on this machine without SSH.
    pub local: Option<bool>,
    /// SSH user (default root).
    pub user: Option<String>,
    /// SSH port (default 22).
    pub port: Option<u32>,
    /// SSH identity file.
    pub identity: Option<String>,
    /// known_hosts file.
    pub known_hosts: Option<String>,
    /// ssh_config(5) file used instead of `~/.ssh/config` and
    /// `/etc/ssh/ssh_config` (KexAlgorithms, ProxyJump, ...); strict host-key
    /// checking against `knownHosts` still applies, to jump hosts too.
    pub ssh_config: Option<String>,
    /// Container bridge (default lxcbr0).
    pub bridge: Option<String>,
}

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

/// A container to create (`addcontainer`).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// Server.
    pub server: String,
    /// Name (unique across the cluster).
    pub name: String,
    /// Packages of the image it is cloned from.
    pub packages: Option<Vec<String>>,
    /// Static address (default: a free one in the server's subnet).
    pub address: Option<String>,
    /// Role recorded in state (default `app`).
    pub role: Option<String>,
    /// Leave it stopped.
    pub no_start: Option<bool>,
}

/// A server as `listservers` shows it.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ServerStatus {
    /// Name.
    pub name: String,
    /// Host, or `local`.
    pub host: String,
    /// Container subnet.
    pub subnet: String,
    /// Whether the probe succeeded.
    pub reachable: bool,
    /// Why not, when unreachable.
    pub error: Option<String>,
    /// LXC version.
    pub lxc_version: Option<String>,
    /// Service containers (images not counted).
    pub containers: u32,
    /// Image templates.
    pub images: u32,
    /// Time of the round trip, including connecting.
    pub millis: f64,
}

impl From<&CoreServerStatus> for ServerStatus {
    fn from(s: &CoreServerStatus) -> Self {
        ServerStatus {
            name: s.name.clone(),
            host: s.host.clone(),
            subnet: s.subnet.to_string(),
            reachable: s.reachable,
            error: s.error.clone(),
            lxc_version: s.lxc_version.clone(),
            containers: u32::try_from(s.containers).unwrap_or(u32::MAX),
            images: u32::try_from(s.images).unwrap_or(u32::MAX),
            millis: s.millis as f64,
        }
    }
}

/// One server's answer to `probeAll`: its facts or its error.
#[napi(object, object_from_js = false)]
pub struct ProbeResult {
    /// The server probed.
    pub server: ServerConfig,
    /// What the probe saw, when it succeeded.
    pub facts: Option<ServerFacts>,
    /// The error (with `code`, `details`, `causes`), when it failed.
    #[napi(ts_type = "Error")]
    pub error: Option<JsObject>,
    /// Time of the round trip, including connecting.
    pub millis: f64,
}

/// Where `locate` found a container.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Located {
    /// The server that holds it.
    pub server: ServerConfig,
    /// The container.
    pub container: ContainerInfo,
}

/// What `buildImage` did (or, with `dryRun`, would do).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AppliedImage {
    /// The plan.
    pub plan: Plan,
    /// Whether it was executed.
    pub executed: bool,
    /// The image's template name.
    pub record: String,
}

/// What `addContainer` / `delContainer` did (or would do).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AppliedContainerRecord {
    /// The plan.
    pub plan: Plan,
    /// Whether it was executed.
    pub executed: bool,
    /// The managed container's record.
    pub record: ContainerRecord,
}

/// What `setRunning` did (or would do).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AppliedContainerInfo {
    /// The plan.
    pub plan: Plan,
    /// Whether it was executed.
    pub executed: bool,
    /// The container as it is now.
    pub record: ContainerInfo,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug)]
struct Shared {
    current: Mutex<Arc<CoreCluster>>,
    edits: tokio::sync::Mutex<()>,
}

impl Shared {
    fn get(&self) -> Arc<CoreCluster> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs `edit` on the core cluster reopened (the core's inventory edits
    /// take `&mut`), then makes that one the shared one.
    async fn edit<T, F>(self: Arc<Self>, edit: F) -> CoreResult<T>
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
    shared: Arc<Shared>,
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

/// The contents of a file to push: a Buffer or a string.
fn contents_bytes(contents: Either<Buffer, String>) -> Vec<u8> {
    match contents {
        Either::A(b) => b.to_vec(),
        Either::B(s) => s.into_bytes(),
    }
}

/// A server a listing could not read, and why.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct UnreadServer {
    /// The server.
    pub server: String,
    /// Why it could not be read.
    pub error: String,
}

/// What `containersListing` returns.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ContainerListing {
    /// The containers of the servers that answered.
    pub items: Vec<ContainerInfo>,
    /// The servers that could not be read.
    pub unread: Vec<UnreadServer>,
}

#[napi]
impl Cluster {
    /// Opens the inventory at `config` (or `$FLOCKPORT_CONFIG`, or
    /// `./flockport.toml`) and its state file. A missing file is an empty
    /// inventory.
    #[napi(factory)]
    pub fn open(env: Env, config: Option<String>) -> napi::Result<Cluster> {
        let core =
            CoreCluster::open(config.as_deref().map(std::path::Path::new)).map_err(|e| error::to_js(&env, &e))?;
        Ok(Cluster::new(core))
    }

    /// Opens the inventory at `path` with the state file at `state` (default:
    /// where the inventory says).
    #[napi(factory)]
    pub fn open_with(env: Env, path: String, state: Option<String>) -> napi::Result<Cluster> {
        let store = state.map(|p| Arc::new(FileStateStore::new(p)) as Arc<dyn StateStore>);
        let core = CoreCluster::open_with(std::path::Path::new(&path), Arc::new(DefaultTransportFactory), store)
            .map_err(|e| error::to_js(&env, &e))?;
        Ok(Cluster::new(core))
    }

    /// The same cluster opened anew: the inventory file read again (after an
    /// edit elsewhere), the same state file, no connection carried over.
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
    pub fn servers(&self) -> Vec<ServerConfig> {
        self.core().servers().iter().map(ServerConfig::from).collect()
    }

    /// The server called `name` (a `NotFound` error names the known ones).
    #[napi]
    pub fn server(&self, env: Env, name: String) -> napi::Result<ServerConfig> {
        self.core().server(&name).map(ServerConfig::from).map_err(|e| error::to_js(&env, &e))
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

    /// The desired state: what flockport manages (`State`: getters convert on
    /// access).
    ///
    /// The state file is read on libuv's thread pool, as Node's own `fs`
    /// reads files: one hop there and one back, where a tokio task would add
    /// a worker's wake-up.
    #[napi(ts_return_type = "Promise<State>")]
    pub fn state(&self) -> AsyncTask<StateTask> {
        AsyncTask::new(StateTask { core: self.core() })
    }

    /// The current state, read on the calling (JS) thread: `state()` without
    /// the Promise, for scripts that prefer it (like `fs.readFileSync`).
    #[napi]
    pub fn state_blocking(&self, env: Env) -> napi::Result<State> {
        self.core().state_blocking().map(State::from).map_err(|e| error::to_js(&env, &e))
    }

    /// Adds a server to the inventory (`addserver`). Nothing is contacted.
    #[napi(ts_return_type = "Promise<ServerConfig>")]
    pub fn add_server(&self, env: Env, spec: AddServer) -> napi::Result<JsObject> {
        // A port out of range rejects like every other bad input.
        let port = spec
            .port
            .map(|p| {
                u16::try_from(p).map_err(|_| CoreError::invalid("port", p.to_string(), "give a port from 1 to 65535"))
            })
            .transpose();
        let spec = CoreAddServer {
            name: spec.name,
            host: spec.host,
            local: spec.local.unwrap_or(false),
            subnet: spec.subnet,
            user: spec.user,
            port: None,
            identity: spec.identity.map(PathBuf::from),
            known_hosts: spec.known_hosts.map(PathBuf::from),
            ssh_config: spec.ssh_config.map(PathBuf::from),
            bridge: spec.bridge,
        };
        let shared = self.shared.clone();
        promise(&env, async move {
            let spec = CoreAddServer { port: port?, ..spec };
            shared.edit(|c| Box::pin(async move { c.add_server(spec) })).await.map(|s| ServerConfig::from(&s))
        })
    }

    /// Removes a server from the inventory (`delserver`); refused while the
    /// state records containers on it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn del_server(&self, env: Env, name: String) -> napi::Result<JsObject> {
        let shared = self.shared.clone();
        promise(&env, async move { shared.edit(|c| Box::pin(async move { c.del_server(&name).await })).await })
    }

    /// Probes one server (one round trip): LXC version, overlay support, containers.
    #[napi(ts_return_type = "Promise<ServerFacts>")]
    pub fn probe(&self, env: Env, server: String) -> napi::Result<JsObject> {
        let c = self.core();
        promise(&env, async move { c.probe(&server).await.map(|f| ServerFacts::from(&f)) })
    }

    /// Probes servers in parallel (all, or those named); one result each,
    /// holding its facts or its error.
    #[napi(ts_return_type = "Promise<ProbeResult[]>")]
    pub fn probe_all(&self, env: Env, servers: Option<Vec<String>>) -> napi::Result<JsObject> {
        let c = self.core();
        promise_with(
            &env,
            async move {
                let configs: Vec<&CoreServerConfig> = match &servers {
                    Some(names) => names.iter().map(|n| c.server(n)).collect::<CoreResult<_>>()?,
                    None => c.servers().iter().collect(),
                };
                Ok(c.probe_all(&configs)
                    .await
                    .into_iter()
                    .map(|(s, r, millis)| (ServerConfig::from(s), r, millis))
                    .collect::<Vec<_>>())
            },
            |env, results| {
                results
                    .into_iter()
                    .map(|(server, r, millis)| {
                        let (facts, error) = match r {
                            Ok(f) => (Some(ServerFacts::from(&f)), None),
                            Err(e) => (None, Some(error::to_js_object(env, &e)?)),
                        };
                        Ok(ProbeResult { server, facts, error, millis: millis as f64 })
                    })
                    .collect::<napi::Result<Vec<_>>>()
            },
        )
    }

    /// `listservers`: every server contacted in parallel, one round trip
    /// each. An unreachable server is reported in its status, not rejected.
    #[napi(ts_return_type = "Promise<ServerStatus[]>")]
    pub fn list_servers(&self, env: Env) -> napi::Result<JsObject> {
        let c = self.core();
        promise(&env, async move { Ok(c.list_servers().await.iter().map(ServerStatus::from).collect::<Vec<_>>()) })
    }

    /// `listcontainers`: containers (images excluded) on one server or all,
    /// in parallel.
    #[napi(ts_return_type = "Promise<ContainerInfo[]>")]
    pub fn containers(&self, env: Env, server: Option<String>) -> napi::Result<JsObject> {
        let c = self.core();
        promise(&env, async move {
            c.containers(server.as_deref()).await.map(|v| v.iter().map(ContainerInfo::from).collect::<Vec<_>>())
        })
    }

    /// `listcontainers` as the CLI shows it: the containers of the servers
    /// that answered, and each server that could not be read with why.
    #[napi(ts_return_type = "Promise<ContainerListing>")]
    pub fn containers_listing(&self, env: Env, server: Option<String>) -> napi::Result<JsObject> {
        let c = self.core();
        promise(&env, async move {
            let l = c.containers_listing(server.as_deref()).await?;
            Ok(ContainerListing {
                items: l.items.iter().map(ContainerInfo::from).collect(),
                unread: l
                    .unread
                    .iter()
                    .map(|(s, e)| UnreadServer { server: s.clone(), error: e.to_string() })
                    .collect(),
            })
        })
    }

    /// Finds the server that holds container `name`.
    #[napi(ts_return_type = "Promise<Located>")]
    pub fn locate(&self, env: Env, name: String) -> napi::Result<JsObject> {
        let c = self.core();
        promise(&env, async move {
            c.locate(&name)
                .await
                .map(|(s, i)| Located { server: ServerConfig::from(&s), container: ContainerInfo::from(&i) })
        })
    }

    /// Runs `argv` inside a container; the output whatever the exit status.
    #[napi(ts_return_type = "Promise<Output>")]
    pub fn exec(&self, env: Env, container: String, argv: Vec<String>) -> napi::Result<JsObject> {
        let c = self.core();
        promise_with(&env, async move { c.exec(&container, &argv).await }, |_, o| Ok(Output::from(o)))
    }

    /// Writes a file (Buffer or string) inside a container with `mode`
    /// (default 0o644).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn push(
        &self,
        env: Env,
        container: String,
        path: String,
        contents: Either<Buffer, String>,
        mode: Option<u32>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let contents = contents_bytes(contents);
        let mode = mode.unwrap_or(0o644);
        promise(&env, async move { c.push(&container, &path, &contents, mode).await })
    }

    /// Builds (or reuses) an image with `packages` on a server; the record is
    /// its template name. `progress` is called before each step.
    #[napi(ts_return_type = "Promise<AppliedImage>")]
    pub fn build_image(
        &self,
        env: Env,
        server: String,
        packages: Vec<String>,
        options: Option<ApplyOptions>,
        #[napi(ts_arg_type = "(event: ProgressEvent) => void")] progress: Option<JsFunction>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        let progress = Progress::new(progress)?;
        promise(&env, async move {
            c.build_image(&server, packages, opts, &progress).await.map(|a| AppliedImage {
                plan: Plan::from(&a.plan),
                executed: a.executed,
                record: a.record,
            })
        })
    }

    /// Creates a managed container (`addcontainer`): image (built if
    /// missing), clone, static address, start.
    #[napi(ts_return_type = "Promise<AppliedContainerRecord>")]
    pub fn add_container(
        &self,
        env: Env,
        spec: ContainerSpec,
        options: Option<ApplyOptions>,
        #[napi(ts_arg_type = "(event: ProgressEvent) => void")] progress: Option<JsFunction>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        let progress = Progress::new(progress)?;
        let spec = CoreContainerSpec {
            server: spec.server,
            name: spec.name,
            packages: spec.packages.unwrap_or_default(),
            address: spec.address,
            role: spec.role,
            no_start: spec.no_start.unwrap_or(false),
        };
        promise(&env, async move {
            c.add_container(spec, opts, &progress).await.map(|a| AppliedContainerRecord {
                plan: Plan::from(&a.plan),
                executed: a.executed,
                record: ContainerRecord::from(&a.record),
            })
        })
    }

    /// Destroys a managed container (`delcontainer`).
    #[napi(ts_return_type = "Promise<AppliedContainerRecord>")]
    pub fn del_container(&self, env: Env, name: String, options: Option<ApplyOptions>) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        promise(&env, async move {
            c.del_container(&name, opts).await.map(|a| AppliedContainerRecord {
                plan: Plan::from(&a.plan),
                executed: a.executed,
                record: ContainerRecord::from(&a.record),
            })
        })
    }

    /// Starts (`running` true) or stops a container.
    #[napi(ts_return_type = "Promise<AppliedContainerInfo>")]
    pub fn set_running(
        &self,
        env: Env,
        name: String,
        running: bool,
        options: Option<ApplyOptions>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        promise(&env, async move {
            c.set_running(&name, running, opts).await.map(|a| AppliedContainerInfo {
                plan: Plan::from(&a.plan),
                executed: a.executed,
                record: ContainerInfo::from(&a.record),
            })
        })
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
