//! The service catalog's verbs: `pubservice`, `pubcheck`, `unpubservice`,
//! `unpubcheck` (ad-hoc services, see [`super::catalog`]) and `services`
//! (every service and check Consul knows, read through its HTTP API).
//!
//! A change is validated, then planned: the new document goes into Consul's
//! KV store through one endpoint that answers, and each endpoint that answers
//! is awaited until its agent runs it. Endpoints that are down are named in
//! the plan; their watcher applies the change when they return. A change
//! needs a leader (the KV write is a raft write); without one it is refused
//! before anything is touched.

use super::catalog::{self, AdhocCheck, AdhocService, CheckKind};
use super::{steps, EpRecord};
use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::consul::{ConsulClient, ServiceEntry};
use crate::error::{Error, Result};
use crate::plan::{NoProgress, Plan};
use crate::state::State;
use serde::Serialize;
use std::collections::BTreeMap;

/// A check of a service instance as the endpoints run it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct CheckState {
    /// Its name.
    pub name: String,
    /// `passing` when every agent that runs it passes, `critical` when none
    /// does, else `warning`.
    pub status: String,
    /// How many agents run it and see it passing.
    pub passing: u32,
    /// How many agents run it.
    pub runs: u32,
    /// What it last printed (of a failing run, if any).
    pub output: String,
}

/// One service instance as Consul knows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
#[record(repr(name, address, port, healthy, origin))]
pub struct ServiceInstance {
    /// The service's name (`NAME.service.consul`).
    pub name: String,
    /// The instance's ID.
    pub id: String,
    /// Its address.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// Who registered it: `pubservice`, `container` (`addservice`), or
    /// `consul` (the endpoints' own), or `other`.
    pub origin: String,
    /// The container it belongs to (`addservice`).
    pub container: Option<String>,
    /// The server of that container.
    pub server: Option<String>,
    /// The agents (nodes) that hold it.
    pub nodes: Vec<String>,
    /// Its checks.
    pub checks: Vec<CheckState>,
    /// Whether DNS answers with it now (passing on at least one live agent).
    pub healthy: bool,
}

/// `services`: every service instance and check the endpoints know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct ServiceListing {
    /// Every instance, by name then address.
    pub services: Vec<ServiceInstance>,
    /// The endpoint that answered.
    pub endpoint: String,
    /// Drift: services flockport published that Consul does not hold (ad-hoc
    /// ones: the next change, or the endpoints' watchers, put them back;
    /// containers' of running containers: their server's agent is down or
    /// its hook did not run).
    pub missing: Vec<String>,
    /// Drift: registrations in Consul of containers that are gone or
    /// stopped, or whose services are no longer defined.
    pub stale: Vec<String>,
}

/// How long reading the catalog through one endpoint may take before the
/// next endpoint is tried.
const ENDPOINT_LIMIT: std::time::Duration = std::time::Duration::from_secs(4);

/// What one endpoint told of the catalog (and of raft and gossip).
#[derive(Debug, Clone)]
pub(crate) struct CatalogView {
    /// Every service instance.
    pub instances: Vec<ServiceInstance>,
    /// The leader, peers and members, when asked.
    pub raft: Option<RaftView>,
}

/// Raft and gossip as one endpoint sees them.
#[derive(Debug, Clone, Default)]
pub(crate) struct RaftView {
    /// The leader's `IP:8300` (empty: none).
    pub leader: String,
    /// The raft peers' `IP:8300`.
    pub peers: Vec<String>,
    /// The gossip members.
    pub members: Vec<crate::consul::Member>,
}

/// Folds the catalog's entries of one service into instances (an ad-hoc
/// instance is held by every endpoint's agent: one instance, many nodes).
fn fold(entries: &[ServiceEntry]) -> Vec<ServiceInstance> {
    let mut by_id: BTreeMap<(String, String, u16), Vec<&ServiceEntry>> = BTreeMap::new();
    for e in entries {
        let addr = if e.service.address.is_empty() { e.node.address.clone() } else { e.service.address.clone() };
        by_id.entry((e.service.id.clone(), addr, e.service.port)).or_default().push(e);
    }
    by_id
        .into_iter()
        .map(|((id, address, port), es)| {
            let first = &es[0].service;
            let tags = first.tags.clone().unwrap_or_default();
            let meta = first.meta.clone().unwrap_or_default();
            let container = (meta.get("flockport").map(String::as_str) == Some("container"))
                .then(|| meta.get("flockport-container").cloned())
                .flatten();
            let origin = if tags.iter().any(|t| t == catalog::TAG) {
                "pubservice"
            } else if container.is_some() {
                "container"
            } else if first.service == "consul" {
                "consul"
            } else {
                "other"
            };
            let node_alive =
                |e: &ServiceEntry| e.checks.iter().all(|c| !c.service_id.is_empty() || c.status == "passing");
            let healthy = es.iter().any(|e| node_alive(e) && e.checks.iter().all(|c| c.status != "critical"));
            let mut checks: BTreeMap<String, CheckState> = BTreeMap::new();
            for e in es.iter().filter(|e| node_alive(e)) {
                for c in e.checks.iter().filter(|c| !c.service_id.is_empty()) {
                    let s = checks.entry(c.name.clone()).or_insert_with(|| CheckState {
                        name: c.name.clone(),
                        status: String::new(),
                        passing: 0,
                        runs: 0,
                        output: String::new(),
                    });
                    s.runs += 1;
                    if c.status == "passing" {
                        s.passing += 1;
                    } else if s.output.is_empty() {
                        s.output = c.output.trim().chars().take(200).collect();
                    }
                }
            }
            let checks = checks
                .into_values()
                .map(|mut c| {
                    c.status = match (c.passing, c.runs) {
                        (p, r) if p == r => "passing",
                        (0, _) => "critical",
                        _ => "warning",
                    }
                    .into();
                    c
                })
                .collect();
            ServiceInstance {
                name: first.service.clone(),
                id,
                address,
                port,
                origin: origin.into(),
                server: container.as_ref().and_then(|_| meta.get("flockport-server").cloned()),
                container,
                nodes: es.iter().map(|e| e.node.node.clone()).collect(),
                checks,
                healthy,
            }
        })
        .collect()
}

impl Cluster {
    /// `pubservice NAME IP:PORT`: an ad-hoc service instance, registered by
    /// every endpoint's agent. Another address under the same name is a
    /// further instance (DNS answers with each healthy one).
    pub async fn pub_service(&self, name: &str, address: &str, opts: ApplyOptions) -> Result<Applied<AdhocService>> {
        catalog::check_label("service name", name)?;
        let (ip, port) = catalog::parse_addr_port("service address", address)?;
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        need_endpoints(&state, "pubservice")?;
        let rec = AdhocService { name: name.into(), address: ip, port, checks: Vec::new() };
        let id = rec.id();
        if state.adhoc.contains_key(&id) {
            return Err(Error::exists(
                "service",
                format!("{name} at {ip}:{port}"),
                "; flockport services shows it (unpubservice removes it)",
            ));
        }
        let mut next = state.adhoc.clone();
        next.insert(id.clone(), rec.clone());
        let plan = self.catalog_plan(&state, &next, format!("pubservice {name} {ip}:{port}")).await?;
        self.finish_catalog(plan, txn, rec, next, opts).await
    }

    /// `pubcheck NAME tcp IP:PORT | http URL`: a check of the ad-hoc service
    /// instance it targets (the one at that address and port, or the one
    /// instance of `service`), run by every endpoint's agent every
    /// `interval_secs` (default [`catalog::DEFAULT_INTERVAL_SECS`]).
    pub async fn pub_check(
        &self,
        name: &str,
        kind: &str,
        target: &str,
        service: Option<&str>,
        interval_secs: Option<u32>,
        opts: ApplyOptions,
    ) -> Result<Applied<AdhocService>> {
        catalog::check_label("check name", name)?;
        let kind = catalog::parse_kind(kind)?;
        let (host, port) = match kind {
            CheckKind::Tcp => {
                let (ip, port) = catalog::parse_addr_port("check target", target)?;
                (ip.to_string(), port)
            }
            CheckKind::Http => catalog::parse_check_url(target)?,
        };
        // The seed's `NAME.consul` in a URL is Consul's `NAME.service.consul`
        // (the endpoints resolve it through their server's forwarder).
        let target = match (kind, catalog::consul_host(&host)) {
            (CheckKind::Http, Some(h)) if h != host => target.replacen(&host, &h, 1),
            _ => target.to_string(),
        };
        let target = target.as_str();
        if let Some(s) = service {
            catalog::check_label("service name", s)?;
        }
        let interval = interval_secs.unwrap_or(catalog::DEFAULT_INTERVAL_SECS);
        if !(1..=3600).contains(&interval) {
            return Err(Error::invalid("check interval", interval.to_string(), "give 1 to 3600 seconds"));
        }
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        need_endpoints(&state, "pubcheck")?;
        if let Some(owner) = state.adhoc.values().find(|s| s.checks.iter().any(|c| c.name == name)) {
            return Err(Error::exists(
                "check",
                name,
                format!(" (on service {}); unpubcheck {name} first, or choose another name", owner.name),
            ));
        }
        let candidates: Vec<&AdhocService> = match service {
            Some(s) => state.adhoc.values().filter(|a| a.name == s).collect(),
            None => state.adhoc.values().filter(|a| a.address.to_string() == host && a.port == port).collect(),
        };
        let owner = match candidates.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return Err(match service {
                    Some(s) => Error::not_found("service", s, "; publish it first (flockport pubservice NAME IP:PORT)"),
                    None => Error::invalid(
                        "check target",
                        target,
                        format!("no published service at {host}:{port}; publish it first (flockport pubservice NAME {host}:{port}) or name it with --service"),
                    ),
                })
            }
            many => {
                let here: Vec<&&AdhocService> =
                    many.iter().filter(|a| a.address.to_string() == host && a.port == port).collect();
                match here.as_slice() {
                    [one] => (**one).clone(),
                    _ => {
                        return Err(Error::invalid(
                            "check target",
                            target,
                            format!(
                                "service {} has {} instances and none at {host}:{port}; target one instance's address",
                                many[0].name,
                                many.len()
                            ),
                        ))
                    }
                }
            }
        };
        let mut rec = owner.clone();
        rec.checks.push(AdhocCheck { name: name.into(), kind, target: target.into(), interval_secs: interval });
        let mut next = state.adhoc.clone();
        next.insert(rec.id(), rec.clone());
        let kind_word = if kind == CheckKind::Tcp { "tcp" } else { "http" };
        let plan = self.catalog_plan(&state, &next, format!("pubcheck {name} {kind_word} {target}")).await?;
        self.finish_catalog(plan, txn, rec, next, opts).await
    }

    /// `unpubservice NAME [IP:PORT]`: withdraws the ad-hoc service (every
    /// instance, or the one at IP:PORT) and its checks. Returns what went.
    pub async fn unpub_service(
        &self,
        name: &str,
        address: Option<&str>,
        opts: ApplyOptions,
    ) -> Result<Applied<Vec<AdhocService>>> {
        catalog::check_label("service name", name)?;
        let at = address.map(|a| catalog::parse_addr_port("service address", a)).transpose()?;
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let gone: Vec<AdhocService> = state
            .adhoc
            .values()
            .filter(|s| s.name == name && at.map_or(true, |(ip, port)| s.address == ip && s.port == port))
            .cloned()
            .collect();
        if gone.is_empty() {
            let what = match address {
                Some(a) => format!("{name} at {a}"),
                None => name.to_string(),
            };
            return Err(Error::not_found("service", what, "; flockport services lists the published ones"));
        }
        let mut next = state.adhoc.clone();
        for g in &gone {
            next.remove(&g.id());
        }
        let op = format!("unpubservice {name}{}", address.map(|a| format!(" {a}")).unwrap_or_default());
        let plan = self.catalog_plan(&state, &next, op).await?;
        self.finish_catalog(plan, txn, gone, next, opts).await
    }

    /// `unpubcheck NAME`: withdraws an ad-hoc check. Returns its service.
    pub async fn unpub_check(&self, name: &str, opts: ApplyOptions) -> Result<Applied<AdhocService>> {
        catalog::check_label("check name", name)?;
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let owner = state
            .adhoc
            .values()
            .find(|s| s.checks.iter().any(|c| c.name == name))
            .cloned()
            .ok_or_else(|| Error::not_found("check", name, "; flockport services lists the checks"))?;
        let mut rec = owner;
        rec.checks.retain(|c| c.name != name);
        let mut next = state.adhoc.clone();
        next.insert(rec.id(), rec.clone());
        let plan = self.catalog_plan(&state, &next, format!("unpubcheck {name}")).await?;
        self.finish_catalog(plan, txn, rec, next, opts).await
    }

    /// `services`: every service instance and its checks as the endpoints
    /// hold them now (read from the first endpoint that answers, through
    /// its HTTP API), and ad-hoc services missing from Consul.
    pub async fn services(&self) -> Result<ServiceListing> {
        let state = self.store().load().await?;
        need_endpoints(&state, "services")?;
        let ((services, endpoint), facts) =
            futures::future::join(self.catalog_instances(&state), self.probe_for(&[])).await;
        Ok(listing_from(&state, services?, endpoint, &facts?))
    }

    /// Every service instance in the catalog, read through the first
    /// endpoint that answers, and that endpoint's name.
    pub(crate) async fn catalog_instances(&self, state: &State) -> (Result<Vec<ServiceInstance>>, String) {
        let (r, ep) = self.catalog_view(state, false).await;
        (r.map(|v| v.instances), ep)
    }

    /// [`Cluster::catalog_instances`] and, with `raft`, the leader, raft
    /// peers and gossip members the same endpoint knows (over the same
    /// tunnel, at once).
    pub(crate) async fn catalog_view(&self, state: &State, raft: bool) -> (Result<CatalogView>, String) {
        let mut errors = Vec::new();
        for ep in state.eps.values() {
            // An endpoint whose server is cut off (a live SSH master over a
            // dead link) is left for the next after ENDPOINT_LIMIT.
            let read = tokio::time::timeout(ENDPOINT_LIMIT, self.read_catalog(ep, raft)).await;
            match read.unwrap_or_else(|_| {
                Err(Error::Timeout {
                    server: ep.container.server.clone(),
                    command: format!("read Consul's catalog through {}", ep.container.name),
                    secs: ENDPOINT_LIMIT.as_secs(),
                })
            }) {
                Ok(v) => return (Ok(v), ep.container.name.clone()),
                Err(e) => errors.push(e),
            }
        }
        (Err(Error::Many(errors)), String::new())
    }

    /// A client of `ep`'s HTTP API through its server's tunnel.
    async fn consul_client(&self, ep: &EpRecord) -> Result<ConsulClient> {
        let server = self.server(&ep.container.server)?.clone();
        ConsulClient::connect(self.transport(&server)?, ep.container.address).await
    }

    /// The leader `ep` knows of (empty: none), read through its tunnel.
    async fn ep_leader(&self, ep: &EpRecord) -> Result<String> {
        let client = self.consul_client(ep).await?;
        let r = client.leader().await;
        client.finish(r).await
    }

    async fn read_catalog(&self, ep: &EpRecord, raft: bool) -> Result<CatalogView> {
        let client = self.consul_client(ep).await?;
        let instances = |all: BTreeMap<String, Vec<ServiceEntry>>| all.values().flat_map(|es| fold(es)).collect();
        let r = if raft {
            futures::try_join!(client.all_services(), client.leader(), client.peers(), client.members()).map(
                |(all, leader, peers, members)| CatalogView {
                    instances: instances(all),
                    raft: Some(RaftView { leader, peers, members }),
                },
            )
        } else {
            client.all_services().await.map(|all| CatalogView { instances: instances(all), raft: None })
        };
        client.finish(r).await
    }

    /// The plan of a change of the ad-hoc services to `next`: the document
    /// into KV through the first live endpoint, then each live endpoint
    /// awaited until its agent runs it.
    pub(crate) async fn catalog_plan(
        &self,
        state: &State,
        next: &BTreeMap<String, AdhocService>,
        operation: String,
    ) -> Result<Plan> {
        // Which endpoints answer, and whether the cluster has a leader:
        // Consul's `/v1/status/leader` through each one's tunnel, at once.
        let futs = state.eps.values().map(|ep| async move { (ep, self.ep_leader(ep).await) });
        let answers = futures::future::join_all(futs).await;
        let live: Vec<&EpRecord> =
            answers.iter().filter(|(_, r)| r.as_ref().is_ok_and(|l| !l.is_empty())).map(|(e, _)| *e).collect();
        let Some(writer) = live.first() else {
            let first = state.eps.values().next().map(|e| e.container.server.clone()).unwrap_or_default();
            let why: Vec<String> = answers
                .iter()
                .map(|(e, r)| match r {
                    Ok(_) => format!("{}: no leader", e.container.name),
                    Err(err) => format!("{}: {err}", e.container.name),
                })
                .collect();
            return Err(Error::Unreachable {
                server: first,
                reason: format!(
                    "the Consul endpoints have no leader ({} of {} answer with one), so no change can be stored; bring endpoints back (flockport listep shows them): {}",
                    live.len(),
                    state.eps.len(),
                    why.join("; ")
                ),
                source: None,
            });
        };
        let doc = catalog::agent_config(&next.values().collect::<Vec<_>>());
        // What the catalog must show from each live agent once it runs the change.
        let present: std::collections::BTreeSet<String> = next.values().map(|a| a.name.clone()).collect();
        let absent: Vec<String> =
            state.adhoc.values().map(|a| a.name.clone()).filter(|n| !present.contains(n)).collect();
        let present: Vec<String> = present.into_iter().collect();
        let mut plan = Plan::new(operation);
        for ep in &live {
            let server = self.server(&ep.container.server)?;
            plan.steps.push(steps::stage_step(server, ep, doc.clone()));
            if ep.container.name == writer.container.name {
                plan.steps.push(steps::kv_put_step(server, ep));
            }
            plan.steps.push(steps::wait_applied_step(server, ep, &present, &absent));
        }
        for ep in state.eps.values().filter(|e| !live.iter().any(|l| l.container.name == e.container.name)) {
            plan.state_changes.push(format!(
                "endpoint {} is down: its watcher applies the change when it returns",
                ep.container.name
            ));
        }
        plan.state_changes.push(format!("ad-hoc services: {}", next.len()));
        Ok(plan)
    }

    async fn finish_catalog<T>(
        &self,
        plan: Plan,
        txn: Box<dyn crate::state::StateTxn>,
        record: T,
        next: BTreeMap<String, AdhocService>,
        opts: ApplyOptions,
    ) -> Result<Applied<T>> {
        self.finish(plan, txn, record, opts, &NoProgress, |st| {
            st.adhoc = next;
            Ok(())
        })
        .await
    }
}

fn need_endpoints(state: &State, verb: &str) -> Result<()> {
    if state.eps.is_empty() {
        return Err(Error::invalid(
            "endpoints",
            "(none)",
            format!("{verb} needs a Consul endpoint and there is none yet: flockport addep SERVER IP first"),
        ));
    }
    Ok(())
}

/// `services`' answer from the catalog's instances (read through
/// `endpoint`) and the servers' probes: ad-hoc services and running
/// containers' services missing from Consul, instances of containers that
/// are gone, stopped or no longer define them (a server that did not answer
/// tells nothing).
pub(crate) fn listing_from(
    state: &State,
    services: Vec<ServiceInstance>,
    endpoint: String,
    facts: &BTreeMap<String, crate::lxc::ServerFacts>,
) -> ServiceListing {
    let mut missing: Vec<String> = state
        .adhoc
        .values()
        .filter(|a| !services.iter().any(|s| s.id == a.id()))
        .map(|a| format!("{} at {}:{}", a.name, a.address, a.port))
        .collect();
    let running = |server: &str, c: &str| {
        facts.get(server).and_then(|f| f.container(c)).map(|i| i.state == crate::lxc::ContainerState::Running)
    };
    for rec in state.container_services.values() {
        if running(&rec.server, &rec.container) != Some(true) {
            continue;
        }
        for s in &rec.services {
            if !services.iter().any(|i| i.id == rec.service_id(&s.name)) {
                missing.push(format!("{} of {} on {} (running)", s.name, rec.container, rec.server));
            }
        }
    }
    let stale = services
        .iter()
        .filter_map(|i| {
            let (c, srv) = (i.container.as_deref()?, i.server.as_deref().unwrap_or_default());
            let defined = state.container_services.get(c).is_some_and(|r| i.id == r.service_id(&i.name));
            // A server that did not answer tells nothing about its containers.
            let reachable = facts.contains_key(srv);
            let why = match running(srv, c) {
                _ if !reachable => return None,
                None => "the container is gone",
                Some(false) => "the container is stopped",
                Some(true) if !defined => "no longer defined",
                Some(true) => return None,
            };
            Some(format!("{} of {c} on {srv} ({why})", i.name))
        })
        .collect();
    ServiceListing { services, endpoint, missing, stale }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_held_by_three_agents_is_one_and_dns_healthy_while_one_passes() {
        let entry = |node: &str, serf: &str, check: &str| -> ServiceEntry {
            serde_json::from_value(serde_json::json!({
                "Node": {"Node": node, "Address": "10.0.4.10"},
                "Service": {"ID": "minio-10-0-7-20-9000", "Service": "minio", "Address": "10.0.7.20", "Port": 9000, "Tags": [catalog::TAG]},
                "Checks": [
                    {"Node": node, "CheckID": "serfHealth", "Name": "Serf Health Status", "Status": serf, "ServiceID": ""},
                    {"Node": node, "CheckID": "minio-check", "Name": "minio-check", "Status": check, "Output": "refused", "ServiceID": "minio-10-0-7-20-9000"}
                ]
            }))
            .unwrap()
        };
        let got = fold(&[
            entry("consul-10", "passing", "passing"),
            entry("consul-5-10", "passing", "critical"),
            entry("consul-7-10", "critical", "passing"),
        ]);
        assert_eq!(got.len(), 1);
        let i = &got[0];
        assert_eq!((i.origin.as_str(), i.nodes.len(), i.healthy), ("pubservice", 3, true));
        // The dead node's run does not count.
        assert_eq!((i.checks[0].passing, i.checks[0].runs, i.checks[0].status.as_str()), (1, 2, "warning"));
        let down = fold(&[entry("consul-10", "passing", "critical"), entry("consul-5-10", "critical", "passing")]);
        assert!(!down[0].healthy);
        assert_eq!(down[0].checks[0].status, "critical");
    }
}
