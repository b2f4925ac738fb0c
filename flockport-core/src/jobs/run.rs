//! The mechanics the job verbs share: what the probes say (capacities,
//! what is placed, lost instances), placing and addressing new instances,
//! making a version's snapshot present on the servers that need it
//! (streamed once per server and version), the plans that create and
//! remove instances, and the load balancer's part.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::cluster::{pick_free_address, Cluster};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::lb::{Backend, LbKind, LbRecord};
use crate::lxc::{self, ServerFacts};
use crate::plan::{Plan, Progress, Step};
use crate::state::State;

use super::placement::{Capacity, Placed, Request, Scheduler, Strategy, DEFAULT_POLICY};
use super::spec::{snapshot_name, snapshot_version, Instance, JobRecord};
use super::steps::{self, Slot};

/// The servers' capacities as their probes read them.
pub(crate) fn capacities(facts: &BTreeMap<String, ServerFacts>) -> Vec<Capacity> {
    facts
        .iter()
        .filter_map(|(name, f)| {
            f.host.as_ref().map(|h| Capacity {
                server: name.clone(),
                memory_mib: h.memory_mib,
                cpu_milli: u64::from(h.cpus) * 1000,
                disk_mib: h.disk_mib,
                networks: h.networks.iter().map(|b| b.name.clone()).collect(),
            })
        })
        .collect()
}

/// Every job instance in `state` on a server in `facts`, as the engine
/// counts it.
pub(crate) fn placed(state: &State, facts: &BTreeMap<String, ServerFacts>) -> Vec<Placed> {
    state
        .jobs
        .values()
        .flat_map(|j| j.instances.iter().map(move |i| (j, i)))
        .filter(|(_, i)| facts.contains_key(&i.server))
        .map(|(j, i)| Placed { server: i.server.clone(), size: j.size(), group: i.group.clone() })
        .collect()
}

/// Why `i` is lost, if it is: its server was not read, or its container
/// is not there.
pub(crate) fn lost_why(i: &Instance, facts: &BTreeMap<String, ServerFacts>) -> Option<String> {
    match facts.get(&i.server) {
        None => Some(format!("server {} could not be reached", i.server)),
        Some(f) if f.container(&i.name).is_none() => Some(format!("its container is gone from {}", i.server)),
        Some(_) => None,
    }
}

impl Cluster {
    /// Places `count` new instances of `job` (group `group`), names and
    /// addresses them; nothing is touched. `job.next_index` advances.
    pub(crate) fn place_new(
        &self,
        state: &State,
        facts: &BTreeMap<String, ServerFacts>,
        job: &mut JobRecord,
        count: u32,
        group: Option<String>,
    ) -> Result<Vec<(Instance, Slot)>> {
        let caps = capacities(facts);
        let mut engine = Scheduler::new(&caps, &placed(state, facts), DEFAULT_POLICY);
        let req = Request {
            count,
            size: job.size(),
            network: job.network.clone(),
            group: group.clone(),
            replicas: job.replicas,
            strategy: Strategy::Resource,
        };
        let servers = engine.place(&req).map_err(|e| match &e {
            super::placement::PlacementError::Invalid(r) => Error::invalid("COUNT", count.to_string(), r.clone()),
            super::placement::PlacementError::NoRoom { reason, fits } => {
                Error::NoRoom { reason: reason.clone(), fits: *fits, source: e.clone() }
            }
        })?;
        let mut used: BTreeMap<String, Vec<Ipv4Addr>> = BTreeMap::new();
        let mut taken: BTreeSet<String> = BTreeSet::new();
        let mut out = Vec::new();
        for server in servers {
            let f = facts.get(&server).ok_or_else(|| Error::not_found("server", &server, "it was not probed"))?;
            let s = self.server(&server)?.clone();
            let used = used
                .entry(server.clone())
                .or_insert_with(|| f.used_addresses().chain(state.addresses_on(&server)).collect());
            let name = loop {
                let n = format!("{}-{}", job.base, job.next_index);
                job.next_index += 1;
                if !state.name_taken(&n) && !taken.contains(&n) && !facts.values().any(|f| f.container(&n).is_some()) {
                    break n;
                }
            };
            taken.insert(name.clone());
            let slot = slot_on(&s, f, job.network.as_deref(), used, &name)?;
            used.push(slot.address);
            let inst = Instance {
                name,
                server: server.clone(),
                address: slot.address,
                version: job.version,
                group: group.clone(),
            };
            out.push((inst, slot));
        }
        Ok(out)
    }

    /// Makes snapshot version `version` of `job` present on each of
    /// `servers` that lacks it: read once from the base's server (gzip'd
    /// tar) and written on every such server at once. The servers written.
    pub(crate) async fn spread_snapshot(
        &self,
        job: &JobRecord,
        version: u32,
        servers: &BTreeSet<String>,
        have: &BTreeSet<String>,
        facts: &BTreeMap<String, ServerFacts>,
        progress: &dyn Progress,
    ) -> Result<Vec<String>> {
        let snap = snapshot_name(&job.base, version);
        let need: Vec<&String> = servers.iter().filter(|s| !have.contains(*s)).collect();
        if need.is_empty() {
            return Ok(Vec::new());
        }
        let src = self.server(&job.base_server)?.clone();
        let z = transfer_compressor(facts, &job.base_server, need.iter().map(|s| s.as_str()));
        let argv = steps::read_snapshot_argv(&src, &snap, z);
        let t = self.transport(&src)?;
        let bytes = t.exec(argv.clone(), None).await?.check(&src.name, &argv)?.stdout;
        progress.note(&format!(
            "snapshot {snap}: {:.1} MiB ({z}) read from {}, writing to {}",
            bytes.len() as f64 / 1_048_576.0,
            src.name,
            need.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
        let snap = &snap;
        let writes = need.iter().map(|name| {
            let bytes = bytes.clone();
            async move {
                let s = self.server(name)?.clone();
                let argv = steps::write_snapshot_argv(&s, snap, z);
                let t = self.transport(&s)?;
                t.exec(argv.clone(), Some(bytes)).await?.check(&s.name, &argv)?;
                Ok::<String, Error>(s.name.clone())
            }
        });
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for r in futures::future::join_all(writes).await {
            match r {
                Ok(s) => done.push(s),
                Err(e) => errors.push(e),
            }
        }
        match errors.len() {
            0 => Ok(done),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }

    /// The plan that creates and starts `new` instances of `job` (and,
    /// with a health port, waits until each answers); its rollback destroys
    /// them.
    pub(crate) fn create_plan(
        &self,
        operation: String,
        job: &JobRecord,
        new: &[(Instance, Slot)],
        facts: &BTreeMap<String, ServerFacts>,
    ) -> Result<Plan> {
        let mut plan = Plan::new(operation);
        let mut hooked = BTreeSet::new();
        for (i, slot) in new {
            let s = self.server(&i.server)?.clone();
            let cgroup = facts.get(&s.name).and_then(|f| f.host.as_ref()).map_or("v2", |h| h.cgroup.as_str());
            if hooked.insert(s.name.clone()) {
                plan.steps.extend(crate::service::hook_steps(&s));
            }
            plan.steps.extend(steps::instance_steps(&s, job, &snapshot_name(&job.base, i.version), slot, cgroup));
            if let Some(port) = job.health_port() {
                plan.steps.push(steps::wait_healthy_step(&s, &i.name, i.address, port));
            }
            plan.rollback.extend(lxc::destroy_steps(&s, &i.name));
            plan.state_changes.push(format!("{}: add instance {} ({} on {})", job.base, i.name, i.address, i.server));
        }
        Ok(plan)
    }

    /// Steps that destroy `gone` instances.
    pub(crate) fn destroy_plan(&self, operation: String, job: &JobRecord, gone: &[&Instance]) -> Result<Plan> {
        let mut plan = Plan::new(operation);
        for i in gone {
            let s = self.server(&i.server)?.clone();
            plan.steps.extend(lxc::destroy_steps(&s, &i.name));
            plan.state_changes.push(format!("{}: remove instance {} from {}", job.base, i.name, i.server));
        }
        Ok(plan)
    }

    /// The steps that remove `job`'s snapshots no instance in `keep` uses
    /// (and, unless `all`, not its current version) from every server in
    /// `facts`.
    pub(crate) fn snapshot_cleanup(
        &self,
        job: &JobRecord,
        keep: &[Instance],
        facts: &BTreeMap<String, ServerFacts>,
        all: bool,
    ) -> Result<Vec<Step>> {
        let mut out = Vec::new();
        for (server, f) in facts {
            for c in &f.containers {
                let Some(v) = snapshot_version(&job.base, &c.name) else { continue };
                let used = keep.iter().any(|i| i.server == *server && i.version == v);
                let current_on_base = !all && v == job.version && *server == job.base_server;
                if !used && !current_on_base {
                    out.extend(steps::remove_snapshot_steps(self.server(server)?, &c.name));
                }
            }
        }
        Ok(out)
    }
}

/// How a snapshot travels from `src` to `targets`: zstd when every one of
/// them has it, else gzip.
pub(crate) fn transfer_compressor<'a>(
    facts: &BTreeMap<String, ServerFacts>,
    src: &str,
    targets: impl IntoIterator<Item = &'a str>,
) -> &'static str {
    let has = |s: &str| facts.get(s).and_then(|f| f.host.as_ref()).is_some_and(|h| h.zstd);
    steps::compressor(has(src) && targets.into_iter().all(has))
}

/// The bridge, address and subnet of instance `name` on server `s`.
pub(crate) fn slot_on(
    s: &ServerConfig,
    f: &ServerFacts,
    network: Option<&str>,
    used: &[Ipv4Addr],
    name: &str,
) -> Result<Slot> {
    let bridge = network.unwrap_or(&s.bridge);
    let (subnet, gateway) = if bridge == s.bridge {
        (s.subnet, s.gateway())
    } else {
        let b = f.host.as_ref().and_then(|h| h.networks.iter().find(|b| b.name == bridge));
        let net: ipnet::Ipv4Net = b.and_then(|b| b.address.parse().ok()).ok_or_else(|| {
            Error::invalid(
                "network",
                bridge,
                format!(
                    "server {} has no IPv4 address on bridge {bridge}, so it has no subnet to take addresses from",
                    s.name
                ),
            )
        })?;
        (net.trunc(), net.addr())
    };
    let address = pick_free_address(&s.name, subnet, gateway, used)?;
    Ok(Slot { name: name.to_string(), address, bridge: bridge.to_string(), prefix: subnet.prefix_len(), gateway })
}

/// Instance `i` as a backend of `rec` on `port`.
pub(crate) fn backend_of(rec: &LbRecord, i: &Instance, port: u16) -> Backend {
    Backend { name: (rec.kind == LbKind::Haproxy).then(|| i.name.clone()), host: i.address.to_string(), port }
}
