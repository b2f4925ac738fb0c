//! Load balancers: HAProxy and Nginx in their own containers, every verb of
//! Flockport's "Load balancers" section (addlb, listlbs, addbackends,
//! delbackends, setlb, pub, dellb).
//!
//! HAProxy backend changes go through the runtime API (admin socket inside the
//! container: add/del server, enable health) with no reload, and the rendered
//! config is rewritten (checked with `haproxy -c` first) so a restart keeps
//! them. A removed backend is drained first. Changes that need a reload are
//! checked with the service's own checker on a staged file; the old config
//! keeps running if the check fails; reloads are graceful (HAProxy
//! master-worker with listeners handed over, `nginx -s reload` semantics).

mod render;
pub mod spec;
pub mod steps;

pub use spec::*;
pub use steps::*;

pub use crate::names::check_url;
pub use crate::service::container::REMOVE_OLD_TLS;
pub use crate::service::container::{Activate, NGINX_CHECK_WITH_RESOLVERS, RELOAD_AND_WAIT, WAIT_BOOT};
pub use crate::service::TlsFiles;
pub use render::{render_haproxy, render_nginx};

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::lxc;
use crate::names;
use crate::plan::{NoProgress, Plan, Progress};
use crate::service::container::{tcp_health_argv, tcp_health_of, ProvisionSpec};
use crate::service::{self, Family};
use crate::state::State;
use crate::transport::Transport;

// ---- the Cluster operations ---------------------------------------------

pub(crate) fn find_lb<'a>(state: &'a State, name: &str) -> Result<&'a LbRecord> {
    crate::state::find(&state.lbs, "load balancer", name, "flockport addlb")
}

impl Cluster {
    /// `addlb`: a load-balancer container from an image on a server, configured and running.
    pub async fn add_lb(&self, spec: LbSpec, opts: ApplyOptions, progress: &dyn Progress) -> Result<Applied<LbRecord>> {
        // Everything the user gave is checked before anything is contacted.
        let kind = LbKind::parse(&spec.kind)?;
        let server = self.server(&spec.server)?.clone();
        if let Some(n) = &spec.name {
            names::check_name("load balancer name", n)?;
        }
        let backends = spec.backends.iter().map(|b| Backend::parse(kind, b)).collect::<Result<Vec<_>>>()?;
        check_unique_backends(&backends)?;
        if let Some(u) = &spec.url {
            check_url(u)?;
        }
        if kind == LbKind::Nginx {
            if spec.url.is_none() {
                return Err(Error::invalid("url", "", "an Nginx load balancer needs -u URL (the host name it serves)"));
            }
            if backends.is_empty() {
                return Err(Error::invalid("backend", "", "an Nginx load balancer needs at least one -b BACKEND"));
            }
        }
        let tls = match (&spec.cert, &spec.key) {
            (Some(c), Some(k)) => Some(TlsFiles::load(c, k)?),
            (None, None) => None,
            (Some(_), None) => return Err(Error::invalid("key", "", "-c CERT needs -k KEY")),
            (None, Some(_)) => return Err(Error::invalid("cert", "", "-k KEY needs -c CERT")),
        };
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        if let Some(n) = &spec.name {
            if state.name_taken(n) {
                return Err(Error::exists("load balancer", n, "pick another -n NAME"));
            }
        }
        let facts = self.probe_for(&[&server.name]).await?;
        let role = format!("{kind}-lb");
        let pspec = ProvisionSpec {
            family: Family::Lb,
            kind: "load balancer",
            server: &server,
            name: spec.name.as_deref(),
            prefix: kind.name_prefix(),
            packages: kind.packages(),
            role,
            address: None,
        };
        let (mut plan, container, st) = self.plan_service_container(&pspec, &state, &facts)?;
        let name = container.name.clone();
        plan.operation = format!("addlb {kind} {} -n {name}", server.name);
        let rec = LbRecord {
            container,
            kind,
            mode: kind.default_mode().to_string(),
            url: spec.url.clone(),
            backends,
            tls: tls.as_ref().map(|t| t.fingerprint.clone()),
            workers: None,
            resolvers: Vec::new(),
        };
        plan.steps.extend(config_steps(&server, &rec, tls.as_ref(), Activate::Restart)?);
        plan.state_changes
            .push(format!("add load balancer {name} ({kind} at {} on {})", rec.container.address, server.name));
        let counters = st.counters.clone();
        let record = rec.clone();
        self.finish(plan, txn, rec, opts, progress, |st| {
            st.counters = counters;
            st.lbs.insert(name, record);
            Ok(())
        })
        .await
    }

    /// `listlbs`: every load balancer with live backend health (servers in parallel).
    pub async fn lbs(&self) -> Result<Vec<LbInfo>> {
        let state = self.store().load().await?;
        // Consul is read once for every LB that names a service in it.
        let consul = if state.lbs.values().any(|l| l.backends.iter().any(Backend::is_consul)) {
            Some(self.services().await)
        } else {
            None
        };
        let consul = &consul;
        let futs = state.lbs.values().map(|rec| async move {
            let (health, error) = match self.lb_health(rec, consul).await {
                Ok(h) => (h, None),
                Err(e) => {
                    tracing::debug!(lb = %rec.container.name, error = %e, "health unknown");
                    let unknown = rec
                        .backends
                        .iter()
                        .map(|b| BackendHealth { backend: b.to_string(), health: "unknown".into() })
                        .collect();
                    (unknown, Some(e.to_string()))
                }
            };
            LbInfo { record: rec.clone(), health, error }
        });
        Ok(futures::future::join_all(futs).await)
    }

    async fn lb_health(
        &self,
        rec: &LbRecord,
        consul: &Option<Result<crate::ep::ServiceListing>>,
    ) -> Result<Vec<BackendHealth>> {
        let server = self.server(&rec.container.server)?.clone();
        let t = self.transport(&server)?;
        let t: &dyn Transport = t.as_ref();
        let text = match health_argv(rec) {
            Some(argv) => {
                lxc::exec(t, &server, &rec.container.name, &argv).await?.check(&server.name, &argv)?.stdout_str()
            }
            None => String::new(),
        };
        let listing = match consul {
            Some(Ok(l)) if rec.backends.iter().any(Backend::is_consul) => Some(l),
            Some(Err(e)) if rec.backends.iter().any(Backend::is_consul) => {
                return Err(Error::Unreachable {
                    server: rec.container.server.clone(),
                    reason: format!("Consul could not be read for {}: {e}", rec.container.name),
                    source: None,
                })
            }
            _ => None,
        };
        Ok(backend_health(rec, &text, listing))
    }

    /// `addbackends`: HAProxy through the runtime API (no reload), Nginx by reload.
    pub async fn add_backends(&self, lb: &str, backends: Vec<String>, opts: ApplyOptions) -> Result<Applied<LbRecord>> {
        names::check_name("load balancer name", lb)?;
        if backends.is_empty() {
            return Err(Error::invalid("backend", "", "give at least one backend"));
        }
        let txn = self.store().begin().await?;
        let rec = find_lb(txn.state(), lb)?.clone();
        let new = backends.iter().map(|b| Backend::parse(rec.kind, b)).collect::<Result<Vec<_>>>()?;
        for b in &new {
            if let Some(old) = rec.backends.iter().find(|o| o.key() == b.key()) {
                return Err(Error::exists("backend", b.to_string(), format!("{lb} already has {old}")));
            }
        }
        let server = self.server(&rec.container.server)?.clone();
        let mut plan = Plan::new(format!("addbackends {lb} {}", backends.join(" ")));
        let next = add_backends_plan(&server, &rec, &new, &mut plan)?;
        self.finish_lb_change(plan, txn, next, opts).await
    }

    /// `delbackends`: HAProxy drains then deletes through the runtime API, Nginx reloads.
    pub async fn del_backends(&self, lb: &str, backends: Vec<String>, opts: ApplyOptions) -> Result<Applied<LbRecord>> {
        names::check_name("load balancer name", lb)?;
        if backends.is_empty() {
            return Err(Error::invalid("backend", "", "give at least one backend"));
        }
        let txn = self.store().begin().await?;
        let rec = find_lb(txn.state(), lb)?.clone();
        let mut gone = Vec::new();
        for s in &backends {
            let b = rec.backends.iter().find(|b| b.matches(s)).ok_or_else(|| {
                let have: Vec<String> = rec.backends.iter().map(|b| b.to_string()).collect();
                Error::not_found(
                    "backend",
                    s,
                    format!("{lb} has: {}", if have.is_empty() { "none".into() } else { have.join(", ") }),
                )
            })?;
            // Named twice (e.g. by name and by spec): removed once.
            if !gone.contains(b) {
                gone.push(b.clone());
            }
        }
        let server = self.server(&rec.container.server)?.clone();
        let mut plan = Plan::new(format!("delbackends {lb} {}", backends.join(" ")));
        let next = del_backends_plan(&server, &rec, &gone, &mut plan)?;
        self.finish_lb_change(plan, txn, next, opts).await
    }

    /// `setlb`: mode, url, ssl, workers or resolvers; checked, then a graceful reload.
    pub async fn set_lb(&self, lb: &str, setting: LbSetting, opts: ApplyOptions) -> Result<Applied<LbRecord>> {
        names::check_name("load balancer name", lb)?;
        let tls = match &setting {
            LbSetting::Ssl { cert, key } => Some(TlsFiles::load(cert, key)?),
            _ => None,
        };
        let txn = self.store().begin().await?;
        let rec = find_lb(txn.state(), lb)?.clone();
        let mut next = rec.clone();
        let what = match &setting {
            LbSetting::Mode(m) => {
                rec.kind.check_mode(m)?;
                next.mode = m.clone();
                format!("mode {m}")
            }
            LbSetting::Url(u) => {
                check_url(u)?;
                next.url = Some(u.clone());
                format!("url {u}")
            }
            LbSetting::Ssl { .. } => {
                next.tls = tls.as_ref().map(|t| t.fingerprint.clone());
                "ssl".to_string()
            }
            LbSetting::Workers(n) => {
                next.workers = Some(*n);
                format!("workers {n}")
            }
            LbSetting::Resolvers(rs) => {
                next.resolvers = rs.iter().map(|r| names::parse_ipv4("resolver", r)).collect::<Result<Vec<_>>>()?;
                format!("resolvers {}", rs.join(" "))
            }
        };
        let server = self.server(&rec.container.server)?.clone();
        let mut plan = Plan::new(format!("setlb {lb} {what}"));
        let activate = match (&setting, rec.kind) {
            (LbSetting::Mode(m), LbKind::Haproxy) => {
                plan.steps.push(haproxy_mode_step(&server, lb, m));
                Activate::WriteOnly
            }
            _ => Activate::Reload,
        };
        plan.steps.extend(config_steps(&server, &next, tls.as_ref(), activate)?);
        plan.state_changes.push(format!("{lb}: {what}"));
        self.finish_lb_change(plan, txn, next, opts).await
    }

    /// `dellb`: removes the forwards, the container and the state.
    pub async fn del_lb(&self, lb: &str, opts: ApplyOptions) -> Result<Applied<LbRecord>> {
        names::check_name("load balancer name", lb)?;
        let txn = self.store().begin().await?;
        let rec = find_lb(txn.state(), lb)?.clone();
        let server = self.server(rec.server())?.clone();
        let mut plan = Plan::new(format!("dellb {lb}"));
        plan.steps = service::container::removal_steps(&server, &rec.container);
        plan.state_changes.push(format!("remove load balancer {lb} and its container"));
        self.finish(plan, txn, rec, opts, &NoProgress, |st| {
            st.lbs.remove(lb);
            Ok(())
        })
        .await
    }

    async fn finish_lb_change(
        &self,
        plan: Plan,
        txn: Box<dyn crate::state::StateTxn>,
        next: LbRecord,
        opts: ApplyOptions,
    ) -> Result<Applied<LbRecord>> {
        let rec = next.clone();
        self.finish(plan, txn, next, opts, &NoProgress, |st| {
            st.lbs.insert(rec.container.name.clone(), rec);
            Ok(())
        })
        .await
    }
}

/// Adds to `plan` what `addbackends` runs to give LB `rec` (on `server`)
/// the backends `new` (HAProxy: the runtime API, no reload; Nginx: a
/// reload), with its rollback; the record after.
pub(crate) fn add_backends_plan(
    server: &ServerConfig,
    rec: &LbRecord,
    new: &[Backend],
    plan: &mut Plan,
) -> Result<LbRecord> {
    let lb = rec.name();
    let mut next = rec.clone();
    next.backends.extend(new.iter().cloned());
    check_unique_backends(&next.backends)?;
    plan.steps.extend(backend_change_steps(server, &next, || vec![haproxy_add_servers_step(server, lb, new)])?);
    if rec.kind == LbKind::Haproxy {
        // A later step failing (the config check) leaves no runtime-added server behind.
        plan.rollback.push(haproxy_drain_del_step(server, lb, new));
    }
    plan.state_changes.push(format!("{lb}: add {}", new.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")));
    Ok(next)
}

/// Adds to `plan` what `delbackends` runs to take the backends `gone` out
/// of LB `rec` (HAProxy drains each, then deletes it); the record after.
pub(crate) fn del_backends_plan(
    server: &ServerConfig,
    rec: &LbRecord,
    gone: &[Backend],
    plan: &mut Plan,
) -> Result<LbRecord> {
    let lb = rec.name();
    let mut next = rec.clone();
    next.backends.retain(|b| !gone.contains(b));
    plan.steps.extend(backend_change_steps(server, &next, || vec![haproxy_drain_del_step(server, lb, gone)])?);
    plan.state_changes
        .push(format!("{lb}: remove {}", gone.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")));
    Ok(next)
}

fn check_unique_backends(backends: &[Backend]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for b in backends {
        if !seen.insert(b.key()) {
            return Err(Error::exists("backend", b.to_string(), "each backend may appear once"));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
pub(crate) mod verb_tests;

/// The command run in LB `rec`'s container that tells its backends' health
/// (HAProxy's `show stat`; for Nginx a TCP connect to each backend not named
/// in Consul), or none when nothing is to be asked.
pub(crate) fn health_argv(rec: &LbRecord) -> Option<Vec<String>> {
    match rec.kind {
        LbKind::Haproxy => {
            let script = format!("printf 'show stat\\n' | socat -t 5 stdio unix-connect:{HAPROXY_SOCKET}");
            Some(vec!["sh".into(), "-c".into(), script])
        }
        LbKind::Nginx => {
            let targets: Vec<String> =
                rec.backends.iter().filter(|b| !b.is_consul()).map(|b| format!("{}:{}", b.host, b.port)).collect();
            (!targets.is_empty()).then(|| tcp_health_argv(targets.iter().map(String::as_str)))
        }
    }
}

/// Each backend's health from [`health_argv`]'s output `text` and, for
/// backends named in Consul, the services `listing` (a healthy instance
/// there makes it UP).
pub(crate) fn backend_health(
    rec: &LbRecord,
    text: &str,
    listing: Option<&crate::ep::ServiceListing>,
) -> Vec<BackendHealth> {
    let active = haproxy_backend(&rec.mode);
    rec.backends
        .iter()
        .map(|b| {
            let health = match (rec.kind, listing, b.is_consul()) {
                (LbKind::Haproxy, _, _) => text
                    .lines()
                    .map(|l| l.split(',').collect::<Vec<_>>())
                    .find(|f| f.len() > 17 && f[0] == active && f[1] == b.key())
                    .map(|f| f[17].to_string())
                    .unwrap_or_else(|| "absent".into()),
                (LbKind::Nginx, Some(l), true) => {
                    let svc = crate::ep::catalog::consul_service_name(&b.host);
                    let healthy =
                        l.services.iter().filter(|s| Some(s.name.as_str()) == svc.as_deref() && s.healthy).count();
                    if healthy == 0 {
                        "DOWN (no healthy instance)".into()
                    } else {
                        format!("UP ({healthy} healthy in Consul)")
                    }
                }
                (LbKind::Nginx, _, _) => tcp_health_of(text, &format!("{}:{}", b.host, b.port)),
            };
            BackendHealth { backend: b.to_string(), health }
        })
        .collect()
}
