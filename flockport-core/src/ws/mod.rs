//! Webservers: one Nginx in its own container publishing many apps of the
//! cluster, each under its own URL; every verb of Flockport's "Webservers"
//! section (addws, listws, pubapp, delapp, delws, addhosts, delhosts; `pub`
//! and `unpub` are the shared ones of `service/`).
//!
//! A webserver is a service container (`service/`): provisioned, checked,
//! swapped and reloaded the way every family is. Two Nginx run in it (see
//! [`steps`]): a front that holds the client connections and TLS and is
//! never reloaded by an app change, and a back with the apps, reloaded on
//! every change, whose closed keep-alive connections the front retries. What
//! is its own: one
//! config file per app (so one pubapp or delapp costs the same however many
//! apps the webserver holds), upstreams given as an address, a container of
//! the cluster (`NAME.app:PORT`, its address looked up when the app is
//! published) or a DNS name, and per-app TLS (given, or self-signed here).

pub mod hosts;
pub mod spec;
pub mod steps;

pub use hosts::{add_hosts, del_hosts, HostsChange};
pub use spec::{App, AppHealth, AppSpec, AppTls, TlsSource, Upstream, UpstreamSpec, WsInfo, WsRecord};

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::lxc;
use crate::names;
use crate::plan::{NoProgress, Plan, Progress};
use crate::service::container::{removal_steps, tcp_health_argv, tcp_health_of, Activate, ProvisionSpec};
use crate::service::Family;
use crate::state::{State, StateTxn};
use steps::AppChange;

/// Prefix of generated names (`nginx1`, ...).
pub const NAME_PREFIX: &str = "nginx";

/// Packages of a webserver's image (the same image as Nginx load balancers').
pub fn packages() -> Vec<String> {
    vec!["nginx".into()]
}

fn find_ws<'a>(state: &'a State, name: &str) -> Result<&'a WsRecord> {
    crate::state::find(&state.ws, "webserver", name, "flockport addws SERVER")
}

impl Cluster {
    /// `addws SERVER [-n NAME]`: an Nginx webserver container on SERVER with
    /// an address in its subnet, serving no app yet (404 for every name).
    pub async fn add_ws(
        &self,
        server: &str,
        name: Option<&str>,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<WsRecord>> {
        let server = self.server(server)?.clone();
        if let Some(n) = name {
            names::check_name("webserver name", n)?;
        }
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        if let Some(n) = name {
            if state.name_taken(n) {
                return Err(Error::exists("webserver", n, "pick another -n NAME"));
            }
        }
        let facts = self.probe_for(&[&server.name]).await?;
        let pspec = ProvisionSpec {
            family: Family::Ws,
            kind: "webserver",
            server: &server,
            name,
            prefix: NAME_PREFIX,
            packages: packages(),
            role: "nginx-ws".into(),
            address: None,
        };
        let (mut plan, container, st) = self.plan_service_container(&pspec, &state, &facts)?;
        let name = container.name.clone();
        plan.operation = format!("addws {} -n {name}", server.name);
        let rec = WsRecord { container, apps: Default::default() };
        plan.steps.extend(steps::config_steps(&server, &rec, AppChange::None, Activate::Restart)?);
        plan.state_changes
            .push(format!("add webserver {name} (nginx at {} on {})", rec.container.address, server.name));
        let counters = st.counters;
        let record = rec.clone();
        self.finish(plan, txn, rec, opts, progress, |st| {
            st.counters = counters;
            st.ws.insert(name, record);
            Ok(())
        })
        .await
    }

    /// `listws`: every webserver, each app with its upstream's live health
    /// (servers in parallel).
    pub async fn webservers(&self) -> Result<Vec<WsInfo>> {
        let state = self.store().load().await?;
        let futs = state.ws.values().map(|rec| async move {
            let (health, error) = match self.ws_health(rec).await {
                Ok(h) => (h, None),
                Err(e) => {
                    tracing::debug!(ws = %rec.container.name, error = %e, "health unknown");
                    let unknown =
                        rec.apps.keys().map(|u| AppHealth { url: u.clone(), health: "unknown".into() }).collect();
                    (unknown, Some(e.to_string()))
                }
            };
            WsInfo { record: rec.clone(), health, error }
        });
        Ok(futures::future::join_all(futs).await)
    }

    async fn ws_health(&self, rec: &WsRecord) -> Result<Vec<AppHealth>> {
        let Some(argv) = health_argv(rec) else { return Ok(Vec::new()) };
        let server = self.server(&rec.container.server)?.clone();
        let t = self.transport(&server)?;
        let out = lxc::exec(t.as_ref(), &server, &rec.container.name, &argv).await?.check(&server.name, &argv)?;
        Ok(app_health(rec, &out.stdout_str()))
    }

    /// Where container `name` is: its address from state, else from a probe
    /// of every server.
    async fn container_address(&self, state: &State, name: &str) -> Result<std::net::Ipv4Addr> {
        if let Some(c) = state.containers.get(name) {
            return Ok(c.address);
        }
        if let Some(sc) = state.service(name) {
            return Ok(sc.address);
        }
        let (_, info) = self.locate(name).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found(
                "container",
                name,
                format!(
                    "the upstream {name}.app names a container of the cluster, and none is called {name}; see `flockport listcontainers`, or give IP:PORT"
                ),
            ),
            other => other,
        })?;
        info.address().ok_or_else(|| {
            Error::invalid(
                "upstream",
                format!("{name}.app"),
                format!("container {name} has no address (is it running?); start it or give IP:PORT"),
            )
        })
    }

    /// `pubapp WS URL UPSTREAM [-c CERT -k KEY | -s]`: publishes UPSTREAM
    /// under URL on webserver WS: one app file staged, `nginx -t`, swapped
    /// in, graceful reload. With TLS the app is served on 443 and port 80
    /// redirects to https.
    pub async fn pub_app(
        &self,
        spec: AppSpec,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<WsRecord>> {
        names::check_name("webserver name", &spec.ws)?;
        names::check_url(&spec.url)?;
        let upstream = UpstreamSpec::parse(&spec.upstream)?;
        let tls = spec::tls_choice(&spec)?;
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let rec = find_ws(&state, &spec.ws)?.clone();
        if let Some(app) = rec.apps.get(&spec.url) {
            return Err(Error::exists(
                "app",
                &spec.url,
                format!(
                    "{} already publishes it (upstream {}); remove it first with `flockport delapp {} {}`",
                    spec.ws, app.upstream, spec.ws, spec.url
                ),
            ));
        }
        let upstream = match upstream {
            UpstreamSpec::Address(ip, port) => Upstream { host: ip.to_string(), port, container: None },
            UpstreamSpec::Dns(host, port) => Upstream { host, port, container: None },
            UpstreamSpec::Container(name, port) => {
                let ip = self.container_address(&state, &name).await?;
                Upstream { host: ip.to_string(), port, container: Some(name) }
            }
        };
        let app = App {
            url: spec.url.clone(),
            upstream,
            tls: tls.as_ref().map(|(t, source)| AppTls {
                fingerprint: t.fingerprint.clone(),
                source: *source,
                not_after: t.not_after.clone(),
            }),
        };
        let server = self.server(&rec.container.server)?.clone();
        let mut next = rec.clone();
        next.apps.insert(app.url.clone(), app.clone());
        let mut plan = Plan::new(format!("pubapp {} {} {}", spec.ws, spec.url, spec.upstream));
        plan.steps = steps::config_steps(
            &server,
            &next,
            AppChange::Publish(&app, tls.as_ref().map(|(t, _)| t)),
            Activate::Reload,
        )?;
        plan.rollback = steps::unpublish_rollback(&server, &spec.ws, &spec.url);
        plan.state_changes.push(format!(
            "{}: publish {} -> {}{}",
            spec.ws,
            spec.url,
            app.upstream,
            if app.tls.is_some() { " (TLS on 443, 80 redirects)" } else { "" }
        ));
        self.finish_ws_change(plan, txn, next, opts, progress).await
    }

    /// `delapp WS URL`: the app's file removed, checked, graceful reload;
    /// certificates no app uses any more are removed.
    pub async fn del_app(&self, ws: &str, url: &str, opts: ApplyOptions) -> Result<Applied<WsRecord>> {
        names::check_name("webserver name", ws)?;
        names::check_url(url)?;
        let txn = self.store().begin().await?;
        let rec = find_ws(txn.state(), ws)?.clone();
        let app = rec.apps.get(url).cloned().ok_or_else(|| {
            let have: Vec<&str> = rec.apps.keys().map(String::as_str).collect();
            Error::not_found(
                "app",
                url,
                format!("{ws} publishes: {}", if have.is_empty() { "nothing yet".into() } else { have.join(", ") }),
            )
        })?;
        let server = self.server(&rec.container.server)?.clone();
        let mut next = rec.clone();
        next.apps.remove(url);
        let mut plan = Plan::new(format!("delapp {ws} {url}"));
        plan.steps = steps::config_steps(&server, &next, AppChange::Remove(url), Activate::Reload)?;
        plan.rollback = steps::republish_rollback(&server, ws, &app)?;
        plan.state_changes.push(format!("{ws}: remove {url}"));
        self.finish_ws_change(plan, txn, next, opts, &NoProgress).await
    }

    /// `delws WS`: removes its forwards, its container and its record.
    pub async fn del_ws(&self, ws: &str, opts: ApplyOptions) -> Result<Applied<WsRecord>> {
        names::check_name("webserver name", ws)?;
        let txn = self.store().begin().await?;
        let rec = find_ws(txn.state(), ws)?.clone();
        let server = self.server(&rec.container.server)?.clone();
        let mut plan = Plan::new(format!("delws {ws}"));
        plan.steps = removal_steps(&server, &rec.container);
        plan.state_changes.push(format!("remove webserver {ws}, its {} apps and its container", rec.apps.len()));
        self.finish(plan, txn, rec, opts, &NoProgress, |st| {
            st.ws.remove(ws);
            Ok(())
        })
        .await
    }

    /// `addhosts URL IP [--file PATH]` (see [`hosts`]): a change of this
    /// machine's hosts file only; no server is contacted.
    pub fn add_hosts(
        &self,
        url: &str,
        ip: &str,
        file: Option<&std::path::Path>,
        opts: ApplyOptions,
    ) -> Result<HostsChange> {
        hosts::add_hosts(url, ip, file, opts.dry_run)
    }

    /// `delhosts URL [--file PATH]`: removes URL's entry that addhosts made.
    pub fn del_hosts(&self, url: &str, file: Option<&std::path::Path>, opts: ApplyOptions) -> Result<HostsChange> {
        hosts::del_hosts(url, file, opts.dry_run)
    }

    async fn finish_ws_change(
        &self,
        plan: Plan,
        txn: Box<dyn StateTxn>,
        next: WsRecord,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<WsRecord>> {
        let rec = next.clone();
        self.finish(plan, txn, next, opts, progress, |st| {
            st.ws.insert(rec.container.name.clone(), rec);
            Ok(())
        })
        .await
    }
}

/// The command run in webserver `rec`'s container that tells its apps'
/// upstreams' health (a TCP connect to each), none without apps.
pub(crate) fn health_argv(rec: &WsRecord) -> Option<Vec<String>> {
    let targets: Vec<String> = rec.apps.values().map(|a| format!("{}:{}", a.upstream.host, a.upstream.port)).collect();
    (!targets.is_empty()).then(|| tcp_health_argv(targets.iter().map(String::as_str)))
}

/// Each app's health from [`health_argv`]'s output.
pub(crate) fn app_health(rec: &WsRecord, text: &str) -> Vec<AppHealth> {
    rec.apps
        .values()
        .map(|a| AppHealth {
            url: a.url.clone(),
            health: tcp_health_of(text, &format!("{}:{}", a.upstream.host, a.upstream.port)),
        })
        .collect()
}

#[cfg(test)]
mod tests;
