//! Load balancers (mirrors `flockport_core::lb`): the records `LbRecord`,
//! `LbInfo`, `Backend`, `BackendHealth`, and the `Cluster` operations the
//! core defines there (`addLb`, `lbs`, `addBackends`, `delBackends`,
//! `setLb`, `publish`, `unpublish`, `delLb`), each returning a Promise.

use crate::cluster::{apply_options, ApplyOptions, Cluster};
use crate::plan::{Plan, Progress};
use crate::promise::promise;
use flockport_core::cluster::Applied as CoreApplied;
use flockport_core::lb::{
    Backend as CoreBackend, BackendHealth as CoreBackendHealth, LbInfo as CoreLbInfo, LbRecord as CoreLbRecord,
    LbSetting, LbSpec as CoreLbSpec,
};
use flockport_core::service::ServiceContainer as CoreServiceContainer;
use napi::{Env, JsFunction, JsObject};
use napi_derive::napi;
use serde::Serialize;
use std::path::PathBuf;

/// A backend: HAProxy's `name:ip:port` or Nginx's `ip:port` / `host:port`.
#[napi(object)]
#[derive(Debug, Clone, Serialize)]
pub struct Backend {
    /// The HAProxy server name (none for Nginx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IP address or DNS name.
    pub host: String,
    /// Port.
    pub port: u32,
    /// As the CLI writes it (`name:ip:port` or `host:port`).
    pub spec: String,
}

impl From<&CoreBackend> for Backend {
    fn from(b: &CoreBackend) -> Self {
        Backend { name: b.name.clone(), host: b.host.clone(), port: u32::from(b.port), spec: b.to_string() }
    }
}

/// A load balancer as recorded in state.
#[napi(object)]
#[derive(Debug, Clone, Serialize)]
pub struct LbRecord {
    /// Name (also its container's name).
    pub name: String,
    /// `haproxy` or `nginx`.
    #[napi(ts_type = "'haproxy' | 'nginx'")]
    pub kind: String,
    /// Server it runs on.
    pub server: String,
    /// Its container's address.
    pub address: String,
    /// Balancing mode.
    pub mode: String,
    /// The served name (required for Nginx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Backends.
    pub backends: Vec<Backend>,
    /// Fingerprint of the installed certificate, when TLS is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
    /// Worker processes (Nginx) or threads (HAProxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// DNS resolvers.
    pub resolvers: Vec<String>,
    /// Host ports forwarded from the server's host addresses (see
    /// `ServiceContainer.forwards` for where each goes).
    pub published: Vec<u32>,
}

/// A port forward made by `pub`: `hostPort` on the server to `port` of the container.
#[napi(object)]
#[derive(Debug, Clone, Serialize)]
pub struct Forward {
    /// The port on the server.
    pub host_port: u32,
    /// The container's port.
    pub port: u32,
}

/// A service container (a load balancer's today): what `publish`/`unpublish` return.
#[napi(object)]
#[derive(Debug, Clone, Serialize)]
pub struct ServiceContainer {
    /// The family that owns it (`lb`).
    #[napi(ts_type = "'lb'")]
    pub family: String,
    /// Its name.
    pub name: String,
    /// The server it runs on.
    pub server: String,
    /// Its address.
    pub address: String,
    /// The image it was cloned from.
    pub image: String,
    /// Its forwards.
    pub forwards: Vec<Forward>,
}

impl From<&CoreServiceContainer> for ServiceContainer {
    fn from(s: &CoreServiceContainer) -> Self {
        ServiceContainer {
            family: s.family.name().to_string(),
            name: s.name.clone(),
            server: s.server.clone(),
            address: s.address.to_string(),
            image: s.image.clone(),
            forwards: s
                .published
                .iter()
                .map(|f| Forward { host_port: u32::from(f.host_port), port: u32::from(f.port) })
                .collect(),
        }
    }
}

/// What `publish`/`unpublish` did (or, with `dryRun`, would do).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AppliedServiceContainer {
    /// The plan.
    pub plan: Plan,
    /// Whether it was executed.
    pub executed: bool,
    /// The service container.
    pub record: ServiceContainer,
}

fn applied_service(a: CoreApplied<CoreServiceContainer>) -> AppliedServiceContainer {
    AppliedServiceContainer {
        plan: Plan::from(&a.plan),
        executed: a.executed,
        record: ServiceContainer::from(&a.record),
    }
}

impl From<&CoreLbRecord> for LbRecord {
    fn from(r: &CoreLbRecord) -> Self {
        LbRecord {
            name: r.container.name.clone(),
            kind: r.kind.to_string(),
            server: r.container.server.clone(),
            address: r.container.address.to_string(),
            mode: r.mode.clone(),
            url: r.url.clone(),
            backends: r.backends.iter().map(Backend::from).collect(),
            tls: r.tls.clone(),
            workers: r.workers,
            resolvers: r.resolvers.iter().map(|a| a.to_string()).collect(),
            published: r.container.host_ports().into_iter().map(u32::from).collect(),
        }
    }
}

/// A backend's health as the LB sees it.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct BackendHealth {
    /// The backend.
    pub backend: String,
    /// UP, DOWN, MAINT, DRAIN, ... or `unknown`.
    pub health: String,
}

impl From<&CoreBackendHealth> for BackendHealth {
    fn from(h: &CoreBackendHealth) -> Self {
        BackendHealth { backend: h.backend.clone(), health: h.health.clone() }
    }
}

/// A load balancer as `listlbs` shows it: its record and live backend health.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct LbInfo {
    /// The record.
    pub record: LbRecord,
    /// Health per backend.
    pub health: Vec<BackendHealth>,
    /// Why its health could not be read (server unreachable, container
    /// stopped, ...); absent when it was.
    pub error: Option<String>,
}

impl From<&CoreLbInfo> for LbInfo {
    fn from(i: &CoreLbInfo) -> Self {
        LbInfo {
            record: LbRecord::from(&i.record),
            health: i.health.iter().map(BackendHealth::from).collect(),
            error: i.error.clone(),
        }
    }
}

/// What `addlb` takes.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct LbSpec {
    /// `haproxy` or `nginx`.
    #[napi(ts_type = "'haproxy' | 'nginx'")]
    pub kind: String,
    /// Server.
    pub server: String,
    /// Name (generated when absent).
    pub name: Option<String>,
    /// URL (required for Nginx).
    pub url: Option<String>,
    /// Backends: HAProxy `name:ip:port`, Nginx `ip:port` or `host:port`.
    pub backends: Option<Vec<String>>,
    /// Certificate file (PEM).
    pub cert: Option<String>,
    /// Key file (PEM).
    pub key: Option<String>,
}

/// What a load-balancer operation did (or, with `dryRun`, would do).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct AppliedLbRecord {
    /// The plan.
    pub plan: Plan,
    /// Whether it was executed.
    pub executed: bool,
    /// The load balancer's record.
    pub record: LbRecord,
}

fn applied(a: CoreApplied<CoreLbRecord>) -> AppliedLbRecord {
    AppliedLbRecord { plan: Plan::from(&a.plan), executed: a.executed, record: LbRecord::from(&a.record) }
}

#[napi]
impl Cluster {
    /// `addlb`: a load balancer in its own container on a server, configured
    /// and running. Nginx needs `url`; `cert` and `key` turn TLS on.
    #[napi(ts_return_type = "Promise<AppliedLbRecord>")]
    pub fn add_lb(
        &self,
        env: Env,
        spec: LbSpec,
        options: Option<ApplyOptions>,
        #[napi(ts_arg_type = "(event: ProgressEvent) => void")] progress: Option<JsFunction>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        let progress = Progress::new(progress)?;
        let spec = CoreLbSpec {
            kind: spec.kind,
            server: spec.server,
            name: spec.name,
            url: spec.url,
            backends: spec.backends.unwrap_or_default(),
            cert: spec.cert.map(PathBuf::from),
            key: spec.key.map(PathBuf::from),
        };
        promise(&env, async move { c.add_lb(spec, opts, &progress).await.map(applied) })
    }

    /// `listlbs`: every load balancer with live backend health.
    #[napi(ts_return_type = "Promise<LbInfo[]>")]
    pub fn lbs(&self, env: Env) -> napi::Result<JsObject> {
        let c = self.core();
        promise(&env, async move { c.lbs().await.map(|v| v.iter().map(LbInfo::from).collect::<Vec<_>>()) })
    }

    /// `addbackends`: HAProxy `name:ip:port` or Nginx `ip:port`/`host:port`.
    #[napi(ts_return_type = "Promise<AppliedLbRecord>")]
    pub fn add_backends(
        &self,
        env: Env,
        lb: String,
        backends: Vec<String>,
        options: Option<ApplyOptions>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        promise(&env, async move { c.add_backends(&lb, backends, opts).await.map(applied) })
    }

    /// `delbackends`: HAProxy drains then deletes, Nginx reloads.
    #[napi(ts_return_type = "Promise<AppliedLbRecord>")]
    pub fn del_backends(
        &self,
        env: Env,
        lb: String,
        backends: Vec<String>,
        options: Option<ApplyOptions>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        promise(&env, async move { c.del_backends(&lb, backends, opts).await.map(applied) })
    }

    /// `setlb LB SETTING VALUE...`: `setting` is `mode`, `url`, `ssl` (values
    /// cert, key), `workers` or `resolvers`.
    #[napi(ts_return_type = "Promise<AppliedLbRecord>")]
    pub fn set_lb(
        &self,
        env: Env,
        lb: String,
        #[napi(ts_arg_type = "'mode' | 'url' | 'ssl' | 'workers' | 'resolvers'")] setting: String,
        values: Vec<String>,
        options: Option<ApplyOptions>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        promise(&env, async move {
            let setting = LbSetting::parse(&setting, &values)?;
            c.set_lb(&lb, setting, opts).await.map(applied)
        })
    }

    /// `pub [SERVER:]NAME PORT[:TOPORT]`: forwards `port` on the service
    /// container's server to its `toPort` (default the same port).
    #[napi(ts_return_type = "Promise<AppliedServiceContainer>")]
    pub fn publish(
        &self,
        env: Env,
        target: String,
        port: u16,
        to_port: Option<u16>,
        options: Option<ApplyOptions>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        let forward = format!("{port}:{}", to_port.unwrap_or(port));
        promise(&env, async move { c.publish(&target, &forward, opts).await.map(applied_service) })
    }

    /// `unpub [SERVER:]NAME PORT`: removes the forward of host port `port`.
    #[napi(ts_return_type = "Promise<AppliedServiceContainer>")]
    pub fn unpublish(
        &self,
        env: Env,
        target: String,
        port: u16,
        options: Option<ApplyOptions>,
    ) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        promise(&env, async move { c.unpublish(&target, port, opts).await.map(applied_service) })
    }

    /// `dellb`: removes the forwards, the container and the state.
    #[napi(ts_return_type = "Promise<AppliedLbRecord>")]
    pub fn del_lb(&self, env: Env, lb: String, options: Option<ApplyOptions>) -> napi::Result<JsObject> {
        let c = self.core();
        let opts = apply_options(options);
        promise(&env, async move { c.del_lb(&lb, opts).await.map(applied) })
    }
}
