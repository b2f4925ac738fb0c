//! Service discovery, part 1: Consul endpoints (`addep`, `listep`,
//! `delep`), Consul server agents each in its own service container, one
//! cluster per flockport cluster.
//!
//! Security from the first endpoint: gossip encryption and ACLs with default
//! deny; the gossip key and the management token are secrets of this
//! machine's `SecretStore` (0600), written into the endpoints' config (0600)
//! and token file, never in argv, plans or logs; the anonymous token may
//! read services and nodes only. The first endpoint bootstraps the cluster;
//! every endpoint's config lists all the others (`retry_join`), so a
//! restart rejoins. The Consul binary is the user's (`consul_binary` in the
//! inventory, or `consul` on PATH), copied into each endpoint.

pub mod agents;
pub mod catalog;
mod containers;
pub mod dns;
pub(crate) mod services;
pub mod spec;
pub mod steps;

pub use catalog::{AdhocCheck, AdhocService, CheckKind};
pub use containers::{
    forget_container_services_step, ContainerCheck, ContainerService, ContainerServiceListing, ContainerServices,
};
pub use services::{CheckState, ServiceInstance, ServiceListing};
pub use spec::{EpInfo, EpListing, EpRecord};

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::lxc;
use crate::names;
use crate::plan::{NoProgress, Plan, Progress};
use crate::secrets::Secret;
use crate::service::container::{removal_steps, ProvisionSpec};
use crate::service::Family;
use crate::state::State;
use crate::transport::Transport;
use std::path::PathBuf;

fn find_ep<'a>(state: &'a State, name: &str) -> Result<&'a EpRecord> {
    crate::state::find(&state.eps, "endpoint", name, "flockport addep SERVER IP")
}

/// The default name of the endpoint at `ip`: `consul-` and its last octet
/// (the seed's `consul-10`); when `taken`, the last two (`consul-5-10`),
/// then a counter after them.
pub fn default_name(ip: std::net::Ipv4Addr, taken: impl Fn(&str) -> bool) -> String {
    let o = ip.octets();
    let short = format!("consul-{}", o[3]);
    if !taken(&short) {
        return short;
    }
    let longer = format!("consul-{}-{}", o[2], o[3]);
    (1..).map(|i| if i == 1 { longer.clone() } else { format!("{longer}-{i}") }).find(|n| !taken(n)).unwrap_or(longer)
}

/// A UUID (version 4) from the CSPRNG: Consul's token format.
fn new_token() -> Result<Secret> {
    let mut b = crate::secrets::random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(Secret::new(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])))
}

/// A gossip encryption key (32 random bytes, base64: `consul keygen`'s form).
fn new_gossip_key() -> Result<Secret> {
    Ok(Secret::new(openssl::base64::encode_block(&crate::secrets::random_bytes::<32>()?)))
}

impl Cluster {
    /// The Consul binary: the inventory's `consul_binary`, else `consul` on PATH.
    pub(crate) fn consul_binary(&self) -> Result<PathBuf> {
        if let Some(p) = &self.inventory().consul_binary {
            let p = if p.is_relative() {
                self.inventory_path().parent().unwrap_or(std::path::Path::new(".")).join(p)
            } else {
                p.clone()
            };
            return if p.is_file() {
                Ok(p)
            } else {
                Err(Error::invalid(
                    "consul_binary",
                    p.display().to_string(),
                    "the inventory's consul_binary is not a file; point it at a Consul 1.14 binary",
                ))
            };
        }
        let found = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join("consul"))
            .find(|p| p.is_file());
        found.ok_or_else(|| {
            Error::invalid(
                "consul_binary",
                "consul",
                "no `consul` on PATH and no consul_binary in the inventory: install Consul 1.14 (or build it with tests/consul/build-consul.sh) and put it on PATH or set consul_binary = \"/path/to/consul\"",
            )
        })
    }

    /// The cluster's gossip key and management token: kept ones, or new ones.
    fn consul_secrets(&self) -> Result<(Secret, Secret, bool)> {
        let store = self.secrets();
        match (store.get(&["consul", "gossip"])?, store.get(&["consul", "management"])?) {
            (Some(g), Some(t)) => Ok((g, t, false)),
            _ => Ok((new_gossip_key()?, new_token()?, true)),
        }
    }

    /// The token of the servers' client agents: the kept one, or a new one.
    fn agent_token(&self) -> Result<(Secret, bool)> {
        match self.secrets().get(&["consul", "agent"])? {
            Some(t) => Ok((t, false)),
            None => Ok((new_token()?, true)),
        }
    }

    /// The steps that give every server of the inventory a client agent
    /// joining `members` (installed where `state` has none; elsewhere its
    /// config rewritten, read at its next start), its token created first
    /// through endpoint `via` when an agent is new.
    fn agent_steps(
        &self,
        state: &State,
        via: (&crate::inventory::ServerConfig, &EpRecord),
        members: &[&EpRecord],
        binary: &[u8],
        gossip: &Secret,
        token: &Secret,
    ) -> Vec<crate::plan::Step> {
        let servers = &self.inventory().servers;
        let mut out = Vec::new();
        if servers.iter().any(|s| !state.agents.contains(&s.name)) {
            out.extend(agents::token_steps(via.0, via.1, token));
        }
        for s in servers {
            if state.agents.contains(&s.name) {
                out.push(agents::config_step(s, members, gossip, token));
            } else {
                out.extend(agents::install_steps(s, members, binary, gossip, token));
            }
        }
        out
    }

    /// `addep SERVER IP [-n NAME]`: a Consul server agent in a container on
    /// SERVER at IP (in its subnet, free). The first endpoint bootstraps the
    /// cluster (`bootstrap_expect = 1`, only in its first config: a rewritten
    /// config of an endpoint that has raft data never bootstraps); a further
    /// one joins the others, and every endpoint's config then lists all the
    /// others. Returns once the endpoint votes in a
    /// cluster that has a leader.
    pub async fn add_ep(
        &self,
        server: &str,
        ip: &str,
        name: Option<&str>,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<EpRecord>> {
        let server = self.server(server)?.clone();
        let addr = names::parse_ipv4("endpoint address", ip)?;
        names::check_in_subnet("endpoint address", addr, server.subnet, server.gateway())?;
        if let Some(n) = name {
            names::check_name("endpoint", n)?;
            if self.inventory().servers.iter().any(|s| s.name == n) {
                return Err(Error::invalid(
                    "endpoint",
                    n,
                    "a server has this name, and each server's Consul agent is a node of that name; choose another (-n)",
                ));
            }
        }
        let binary_path = self.consul_binary()?;
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let facts = self.probe_for(&[&server.name]).await?;
        let name = match name {
            Some(n) => n.to_string(),
            None => default_name(addr, |n| state.name_taken(n) || facts.values().any(|f| f.container(n).is_some())),
        };
        let pspec = ProvisionSpec {
            family: Family::Ep,
            kind: "endpoint",
            server: &server,
            name: Some(&name),
            prefix: "consul-",
            packages: Vec::new(),
            role: "consul-endpoint".into(),
            address: Some(addr.to_string()),
        };
        let (mut plan, container, _st) = self.plan_service_container(&pspec, &state, &facts)?;
        let rec = EpRecord { container };
        let (gossip, token, fresh) = self.consul_secrets()?;
        let others: Vec<&EpRecord> = state.eps.values().collect();
        let bootstrap = others.is_empty();
        let join: Vec<String> = others.iter().map(|e| e.container.address.to_string()).collect();
        let binary =
            std::fs::read(&binary_path).map_err(|e| Error::io("reading the Consul binary", &binary_path, e))?;
        let config = steps::render_config(&rec, bootstrap, &join, &gossip, &token)?;
        let (agent_token, fresh_agent) = self.agent_token()?;
        let agent_binary = binary.clone();
        plan.steps.extend(steps::install_steps(&server, &rec, binary, config, &token)?);
        if !state.adhoc.is_empty() {
            // The ad-hoc services go (back) into the KV store (a new cluster
            // after the last endpoint went has an empty one), and its
            // watcher applies them.
            let doc = catalog::agent_config(&state.adhoc.values().collect::<Vec<_>>());
            plan.steps.push(steps::stage_step(&server, &rec, doc));
            plan.steps.push(steps::kv_put_step(&server, &rec));
            let names: Vec<String> = state.adhoc.values().map(|a| a.name.clone()).collect();
            plan.steps.push(steps::wait_applied_step(&server, &rec, &names, &[]));
        }
        if bootstrap {
            plan.steps.push(crate::service::container::attach(
                &server,
                &name,
                "anonymous requests may read services and nodes, nothing else".into(),
                &["sh", "-c", &steps::anonymous_policy_script()],
            ));
        }
        plan.steps.push(steps::wait_in_catalog_step(&server, &rec));
        // Every other endpoint's config lists the new one (read at its next start).
        let mut members: Vec<&EpRecord> = others.clone();
        members.push(&rec);
        // Every server's client agent (containers' services) joins them.
        plan.steps.extend(self.agent_steps(&state, (&server, &rec), &members, &agent_binary, &gossip, &agent_token));
        let new_agents: Vec<String> =
            self.inventory().servers.iter().map(|s| s.name.clone()).filter(|s| !state.agents.contains(s)).collect();
        if !new_agents.is_empty() {
            plan.state_changes.push(format!(
                "a Consul client agent on {} (containers' services register with it)",
                new_agents.join(", ")
            ));
        }
        plan.steps.extend(self.rejoin_config_steps(&others, &members, &gossip, &token)?);
        plan.steps.extend(self.dns_steps(&members));
        plan.operation = format!("addep {} {addr} -n {name}", server.name);
        plan.state_changes.push(format!(
            "add endpoint {name} (Consul at {addr} on {}{})",
            server.name,
            if bootstrap { ", bootstrapping the cluster" } else { "" }
        ));
        let record = rec.clone();
        let store = self.secrets();
        self.finish(plan, txn, rec, opts, progress, |st| {
            if fresh {
                store.put(&["consul", "gossip"], &gossip)?;
                store.put(&["consul", "management"], &token)?;
            }
            if fresh_agent {
                store.put(&["consul", "agent"], &agent_token)?;
            }
            st.agents.extend(new_agents);
            st.agents.sort();
            st.agents.dedup();
            st.eps.insert(record.container.name.clone(), record);
            Ok(())
        })
        .await
    }

    /// `listep`: every endpoint with its raft role and gossip status read
    /// from Consul now, the peer count, fault tolerance and a warning below
    /// three endpoints.
    pub async fn endpoints(&self) -> Result<EpListing> {
        let state = self.store().load().await?;
        self.endpoints_in(&state).await
    }

    /// [`Cluster::endpoints`] of the endpoints in `state`.
    pub(crate) async fn endpoints_in(&self, state: &State) -> Result<EpListing> {
        let futs = state.eps.values().map(|rec| async move { (rec, self.ep_probe(rec).await) });
        Ok(listing_from(futures::future::join_all(futs).await))
    }

    /// The configs of endpoints `rewrite` rewritten so that each lists every
    /// other endpoint of `members` to join (read at its next start). They
    /// have raft data, so a rewritten config never bootstraps.
    fn rejoin_config_steps(
        &self,
        rewrite: &[&EpRecord],
        members: &[&EpRecord],
        gossip: &Secret,
        token: &Secret,
    ) -> Result<Vec<crate::plan::Step>> {
        rewrite
            .iter()
            .map(|ep| {
                let server = self.server(&ep.container.server)?;
                let join: Vec<String> = members
                    .iter()
                    .filter(|m| m.container.name != ep.container.name)
                    .map(|m| m.container.address.to_string())
                    .collect();
                let text = steps::render_config(ep, false, &join, gossip, token)?;
                Ok(steps::config_step(server, ep, text))
            })
            .collect()
    }

    /// Every server of the inventory forwards `consul` to `eps`.
    fn dns_steps(&self, eps: &[&EpRecord]) -> Vec<crate::plan::Step> {
        self.inventory().servers.iter().flat_map(|s| dns::steps(s, eps)).collect()
    }

    async fn ep_probe(&self, rec: &EpRecord) -> Result<String> {
        let server = self.server(&rec.container.server)?.clone();
        let t = self.transport(&server)?;
        let t: &dyn Transport = t.as_ref();
        let argv = steps::probe_argv();
        let out = lxc::exec(t, &server, &rec.container.name, &argv).await?.check(&server.name, &argv)?;
        Ok(out.stdout_str().to_string())
    }

    /// `delep NAME [--force]`: the endpoint leaves the cluster (`consul
    /// leave`), then its container and forwards go, and the others' configs
    /// no longer list it. Without `force`, refused when fewer than two
    /// endpoints would remain or when those that would remain are not all
    /// alive (they could not form a quorum).
    pub async fn del_ep(&self, name: &str, force: bool, opts: ApplyOptions) -> Result<Applied<EpRecord>> {
        // The lock first: the quorum check below holds for the state it removes from.
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let rec = find_ep(&state, name)?.clone();
        let remaining: Vec<EpRecord> = state.eps.values().filter(|e| e.container.name != name).cloned().collect();
        if remaining.is_empty() && self.inventory().state_config().backend == crate::inventory::StateBackend::Consul {
            // Even with --force: the state itself lives on these endpoints.
            return Err(Error::invalid(
                "endpoint",
                name,
                "it is the last endpoint and the cluster's state is kept in Consul on it: move the state out first \
                 with `flockport state migrate --to file`",
            ));
        }
        if !force {
            if remaining.len() < 2 {
                return Err(Error::invalid(
                    "endpoint",
                    name,
                    format!(
                        "only {} endpoint(s) would remain, and one endpoint is a single point of failure; add another first, or pass --force",
                        remaining.len()
                    ),
                ));
            }
            let listing = self.endpoints_in(&state).await?;
            let down: Vec<String> = listing
                .endpoints
                .iter()
                .filter(|e| e.record.container.name != name && (!e.answers || e.status != "alive"))
                .map(|e| e.record.container.name.clone())
                .collect();
            if !down.is_empty() {
                return Err(Error::invalid(
                    "endpoint",
                    name,
                    format!(
                        "the endpoints that would remain are not all alive ({} down): they may not form a quorum; bring them back first, or pass --force",
                        down.join(", ")
                    ),
                ));
            }
        }
        let server = self.server(&rec.container.server)?.clone();
        let (gossip, token, _) = self.consul_secrets()?;
        let mut plan = Plan::new(format!("delep {name}{}", if force { " --force" } else { "" }));
        plan.steps.push(steps::leave_step(&server, &rec, force));
        plan.steps.extend(removal_steps(&server, &rec.container));
        let kept: Vec<&EpRecord> = remaining.iter().collect();
        if let Some(via) = kept.first() {
            plan.steps.push(steps::forget_step(self.server(&via.container.server)?, via, &rec, force));
        }
        plan.steps.extend(self.rejoin_config_steps(&kept, &kept, &gossip, &token)?);
        plan.steps.extend(self.dns_steps(&kept));
        plan.state_changes.push(format!("remove endpoint {name} and its container"));
        let last = remaining.is_empty();
        let agent_servers: Vec<&crate::inventory::ServerConfig> =
            state.agents.iter().filter_map(|s| self.server(s).ok()).collect();
        if last {
            // No cluster left to join: the servers' agents go (a new cluster has
            // new secrets); containers' definitions stay for the next one.
            for s in &agent_servers {
                plan.steps.extend(agents::remove_steps(s));
            }
            if !agent_servers.is_empty() {
                plan.state_changes.push(format!(
                    "the Consul client agents of {} go; containers' services stay defined for the next endpoint",
                    state.agents.join(", ")
                ));
            }
        } else if let Some(agent_token) = self.secrets().get(&["consul", "agent"])? {
            for s in &agent_servers {
                plan.steps.push(agents::config_step(s, &kept, &gossip, &agent_token));
            }
        }
        if last {
            plan.state_changes.push(
                "the last endpoint: the cluster's gossip key and management token are forgotten (a new cluster gets new ones)"
                    .into(),
            );
            if !state.adhoc.is_empty() {
                plan.state_changes.push(format!(
                    "{} ad-hoc service(s) stay in the state: the next addep publishes them again (unpubservice removes them)",
                    state.adhoc.len()
                ));
            }
        }
        let store = self.secrets();
        self.finish(plan, txn, rec, opts, &NoProgress, |st| {
            st.eps.remove(name);
            if last {
                store.remove(&["consul", "gossip"])?;
                store.remove(&["consul", "management"])?;
                store.remove(&["consul", "agent"])?;
                st.agents.clear();
            }
            Ok(())
        })
        .await
    }
}

/// `listep`'s answer from each endpoint's probe ([`steps::probe_argv`] run
/// in its container): the first that answered tells the raft peers and
/// gossip members.
pub(crate) fn listing_from(probed: Vec<(&EpRecord, Result<String>)>) -> EpListing {
    let view = probed.iter().find_map(|(_, r)| r.as_ref().ok()).cloned().unwrap_or_default();
    let peers = spec::parse_peers(&view);
    let members = spec::parse_members(&view);
    let leader = peers.iter().find(|p| p.1 == "leader").map(|p| p.0.clone());
    let voters = peers.iter().filter(|p| p.2).count() as u32;
    let healthy_voters =
        peers.iter().filter(|p| p.2 && members.iter().any(|m| m.0 == p.0 && m.1 == "alive")).count() as u32;
    let endpoints: Vec<EpInfo> = probed
        .iter()
        .map(|(rec, r)| {
            let n = &rec.container.name;
            let peer = peers.iter().find(|p| &p.0 == n);
            EpInfo {
                record: (*rec).clone(),
                role: peer.map(|p| p.1.clone()),
                voter: peer.is_some_and(|p| p.2),
                status: members.iter().find(|m| &m.0 == n).map_or("unknown".into(), |m| m.1.clone()),
                answers: r.is_ok(),
                error: r.as_ref().err().map(|e| e.to_string()),
            }
        })
        .collect();
    let ft = spec::fault_tolerance(voters, healthy_voters);
    let down = endpoints.iter().filter(|e| !e.answers || e.status != "alive").count();
    let warning = if endpoints.is_empty() {
        None
    } else if leader.is_none() {
        Some("no leader: the endpoints cannot serve writes (too few of them answer)".to_string())
    } else if endpoints.len() < 3 {
        Some(format!(
            "{} endpoint(s): losing one stops the cluster; three or more tolerate a failure (flockport addep)",
            endpoints.len()
        ))
    } else if down > 0 {
        Some(format!("{down} endpoint(s) down; fault tolerance now {ft}"))
    } else {
        None
    };
    EpListing {
        ui: endpoints.iter().map(|e| format!("http://{}:8500/ui/", e.record.container.address)).collect(),
        dns: endpoints.iter().map(|e| format!("{}:8600", e.record.container.address)).collect(),
        endpoints,
        leader,
        peers: peers.len() as u32,
        fault_tolerance: ft,
        warning,
    }
}

#[cfg(test)]
mod tests;
