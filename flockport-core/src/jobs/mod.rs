//! The job scheduler (Flockport's "Job scheduler" section): `addjob`,
//! `listjobs`, `upgradejob`, `scalejob`, `deljob`. A job is COUNT
//! instances of a base container: each a snapshot clone of the job's
//! version snapshot (the base's root filesystem, taken by flockport, copied
//! once per server and version), placed by the pure engine in
//! [`placement`], with its own static address and cgroup limits, and,
//! with `--lb`, a backend of a load balancer while it runs.
//!
//! `spec.rs`: the records and the input checks; `steps.rs`: the pure steps
//! (snapshot, transfer, instance, health wait); `run.rs`: the mechanics
//! the verbs share; this file: the verbs.

pub mod placement;
pub(crate) mod run;
pub mod spec;
pub mod steps;

pub use spec::*;

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::lxc::ServerFacts;
use crate::names;
use crate::plan::{NoProgress, Plan, Progress, Step};
use crate::state::State;

use run::lost_why;

fn find_job<'a>(state: &'a State, base: &str) -> Result<&'a JobRecord> {
    crate::state::find(&state.jobs, "job", base, "flockport addjob BASE COUNT")
}

impl Cluster {
    /// `addjob`: COUNT instances of the base container placed across the
    /// servers by free capacity.
    pub async fn add_job(
        &self,
        spec: JobSpec,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<JobRecord>> {
        // Everything given is checked before anything is contacted.
        let base = spec.base.clone();
        names::check_name("base container", &base)?;
        let count = parse_count(&spec.count.to_string())?;
        let strategy = check_strategy(spec.strategy.as_deref())?;
        if spec.replicas == Some(0) {
            return Err(Error::invalid(
                "replicas",
                "0",
                "-r is how many instances go on each server chosen: at least 1",
            ));
        }
        if let Some(g) = &spec.group {
            names::check_name("group", g)?;
        }
        if let Some(n) = &spec.network {
            names::check_name("network", n)?;
        }
        if spec.port == Some(0) {
            return Err(Error::invalid("port", "0", "give the TCP port (1-65535) the instances answer on"));
        }
        let memory_mib = spec.memory.as_deref().map(parse_memory).transpose()?.unwrap_or(DEFAULT_MEMORY_MIB);
        let cpu_milli = spec.cpus.as_deref().map(parse_cpus).transpose()?.unwrap_or(DEFAULT_CPU_MILLI);
        let lb = spec.lb.as_deref().map(parse_lb).transpose()?;

        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        if state.jobs.contains_key(&base) {
            return Err(Error::exists(
                "job",
                &base,
                "change it with `flockport scalejob` or `flockport upgradejob`, or remove it with `flockport deljob`",
            ));
        }
        if let Some((j, _)) = state.job_instance(&base) {
            return Err(Error::invalid(
                "base container",
                &base,
                format!("it is an instance of job {}; give a base container", j.base),
            ));
        }
        if let Some(l) = &lb {
            crate::lb::find_lb(&state, &l.lb)?;
        }
        let facts = self.probe_for(&[]).await?;
        let base_server = facts
            .iter()
            .find_map(|(s, f)| f.container(&base).filter(|c| !c.is_image()).map(|_| s.clone()))
            .ok_or_else(|| {
                let unread: Vec<&str> =
                    self.servers().iter().map(|s| s.name.as_str()).filter(|s| !facts.contains_key(*s)).collect();
                let also = if unread.is_empty() {
                    String::new()
                } else {
                    format!(" ({} could not be read)", unread.join(", "))
                };
                Error::not_found(
                    "base container",
                    &base,
                    format!("no server has a container of that name{also}; see `flockport listcontainers`"),
                )
            })?;
        let mut job = JobRecord {
            base: base.clone(),
            base_server: base_server.clone(),
            version: 1,
            count,
            strategy,
            network: spec.network.clone(),
            group: spec.group.clone(),
            replicas: spec.replicas,
            memory_mib,
            cpu_milli,
            disk_mib: DEFAULT_DISK_MIB,
            port: spec.port,
            lb,
            next_index: 1,
            instances: Vec::new(),
            rollout: None,
        };
        let group = job.group.clone();
        let new = self.place_new(&state, &facts, &mut job, count, group)?;
        let mut shown = Plan::new(format!("addjob {base} {count}"));
        let snap = snapshot_name(&base, 1);
        let bs = self.server(&base_server)?.clone();
        let snap_plan = {
            let mut p = Plan::new(format!("snapshot {base}"));
            if !facts.get(&base_server).is_some_and(|f| f.image_ready(&snap)) {
                p.steps.push(steps::snapshot_step(&bs, &base, &snap));
                p.rollback = steps::remove_snapshot_steps(&bs, &snap);
            }
            p
        };
        shown.steps.extend(snap_plan.steps.iter().cloned());
        shown.steps.extend(self.transfer_shown(&job, 1, &new, &facts)?);
        let create = self.create_plan(format!("addjob {base} {count}"), &job, &new, &facts)?;
        shown.steps.extend(create.steps.iter().cloned());
        shown.state_changes.extend(create.state_changes.iter().cloned());
        job.instances = new.iter().map(|(i, _)| i.clone()).collect();
        let (lb_plan, lb_next) = self.lb_change(&state, &job, &job.instances, &[])?;
        shown.steps.extend(lb_plan.steps.iter().cloned());
        shown.state_changes.extend(lb_plan.state_changes.iter().cloned());
        shown.state_changes.push(format!("add job {base} (version 1, {count} instance(s))"));
        if opts.dry_run {
            return Ok(Applied { plan: shown, executed: false, record: job });
        }

        // Snapshot, spread, create: anything failing undoes what this run made.
        let mut made_snaps: Vec<(String, String)> = Vec::new();
        let result = async {
            if !snap_plan.steps.is_empty() {
                snap_plan.execute(&self.transports_for([base_server.as_str()])?, progress).await?;
                made_snaps.push((base_server.clone(), snap.clone()));
            }
            let targets: BTreeSet<String> = job.instances.iter().map(|i| i.server.clone()).collect();
            let mut have = with_snapshot(&facts, &snap);
            have.insert(base_server.clone());
            for s in self.spread_snapshot(&job, 1, &targets, &have, &facts, progress).await? {
                made_snaps.push((s, snap.clone()));
            }
            create.execute(&self.transports_for(create.servers())?, progress).await?;
            if !lb_plan.steps.is_empty() {
                if let Err(e) = lb_plan.execute(&self.transports_for(lb_plan.servers())?, progress).await {
                    let gone: Vec<&Instance> = job.instances.iter().collect();
                    let undo = self.destroy_plan(format!("undo addjob {base}"), &job, &gone)?;
                    let _ = undo.execute(&self.transports_for(undo.servers())?, &NoProgress).await;
                    return Err(e);
                }
            }
            Ok::<(), Error>(())
        }
        .await;
        if let Err(e) = result {
            self.remove_snapshots(&made_snaps).await;
            return Err(e);
        }
        let mut st = txn.state().clone();
        if let Some(l) = lb_next {
            st.lbs.insert(l.container.name.clone(), l);
        }
        st.jobs.insert(base.clone(), job.clone());
        txn.commit(st).await?;
        Ok(Applied { plan: shown, executed: true, record: job })
    }

    /// `listjobs`: every job with each instance's state and health, read
    /// from every server at once (one round trip each); an instance whose
    /// server cannot be read or whose container is gone is `lost`.
    pub async fn jobs(&self) -> Result<Vec<JobInfo>> {
        let state = self.state().await?;
        if state.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let facts = self.probe_for(&[]).await?;
        // Health: one TCP try per instance with a port, from its server.
        let mut asks: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for j in state.jobs.values() {
            if let Some(p) = j.health_port() {
                for i in j.instances.iter().filter(|i| lost_why(i, &facts).is_none()) {
                    asks.entry(i.server.clone()).or_default().push(format!("{}:{p}", i.address));
                }
            }
        }
        let reads = asks.iter().map(|(server, targets)| async move {
            let s = self.server(server)?;
            let argv = crate::service::container::tcp_health_argv(targets.iter().map(String::as_str));
            let out = self.transport(s)?.exec(argv.clone(), None).await?.check(server, &argv)?;
            Ok::<(String, String), Error>((server.clone(), out.stdout_str()))
        });
        let health: BTreeMap<String, String> =
            futures::future::join_all(reads).await.into_iter().filter_map(|r| r.ok()).collect();
        Ok(state.jobs.values().map(|j| job_info(j, &facts, &health)).collect())
    }

    /// `deljob`: drains the instances out of the job's load balancer,
    /// removes them and the job's snapshots from every server, and forgets
    /// the job. The base container is untouched. Every server holding an
    /// instance must answer (a retry finishes what a failure left).
    pub async fn del_job(&self, base: &str, opts: ApplyOptions) -> Result<Applied<JobRecord>> {
        names::check_name("job", base)?;
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let job = find_job(&state, base)?.clone();
        let needed: Vec<&str> = job.instances.iter().map(|i| i.server.as_str()).collect();
        let facts = self.probe_for(&needed).await?;
        let all: Vec<&Instance> = job.instances.iter().collect();
        let (lb_plan, lb_next) = self.lb_change(&state, &job, &[], &job.instances)?;
        let mut plan = Plan::new(format!("deljob {base}"));
        plan.steps.extend(lb_plan.steps.iter().cloned());
        plan.state_changes.extend(lb_plan.state_changes.iter().cloned());
        let destroy = self.destroy_plan(format!("deljob {base}"), &job, &all)?;
        plan.steps.extend(destroy.steps);
        plan.steps.extend(self.snapshot_cleanup(&job, &[], &facts, true)?);
        plan.state_changes.extend(destroy.state_changes);
        plan.state_changes.push(format!("remove job {base} and its snapshots"));
        if opts.dry_run {
            return Ok(Applied { plan, executed: false, record: job });
        }
        if !lb_plan.steps.is_empty() {
            lb_plan.execute(&self.transports_for(lb_plan.servers())?, &NoProgress).await?;
        }
        let rest = Plan { steps: plan.steps[lb_plan.steps.len()..].to_vec(), ..Plan::new(format!("deljob {base}")) };
        rest.execute(&self.transports_for(rest.servers())?, &NoProgress).await?;
        let mut st = txn.state().clone();
        if let Some(l) = lb_next {
            st.lbs.insert(l.container.name.clone(), l);
        }
        st.jobs.remove(base);
        txn.commit(st).await?;
        Ok(Applied { plan, executed: true, record: job })
    }

    /// `scalejob`: sets the job to COUNT instances (`+N`/`-N` change it by
    /// N). Lost instances are replaced first; scaling down removes
    /// instances from the fullest servers first (drained out of the load
    /// balancer before they stop).
    pub async fn scale_job(
        &self,
        base: &str,
        count: &str,
        group: Option<String>,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<JobRecord>> {
        names::check_name("job", base)?;
        let scale = Scale::parse(count)?;
        if let Some(g) = &group {
            names::check_name("group", g)?;
        }
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let mut job = find_job(&state, base)?.clone();
        let target = scale.apply(job.count, count)?;
        let facts = self.probe_for(&[job.base_server.as_str()]).await?;
        let lost: Vec<Instance> = job.instances.iter().filter(|i| lost_why(i, &facts).is_some()).cloned().collect();
        let live: Vec<Instance> = job.instances.iter().filter(|i| lost_why(i, &facts).is_none()).cloned().collect();
        // The state without the lost ones: they hold no room.
        let mut base_state = state.clone();
        if let Some(j) = base_state.jobs.get_mut(base) {
            j.instances.clone_from(&live);
        }
        let mut plan = Plan::new(format!("scalejob {base} {count}"));
        for i in &lost {
            plan.state_changes.push(format!(
                "{base}: forget lost instance {} ({})",
                i.name,
                lost_why(i, &facts).unwrap_or_default()
            ));
        }
        let mut next = job.clone();
        next.instances.clone_from(&live);
        next.count = target;
        let now = live.len() as u32;
        let mut new = Vec::new();
        let mut gone: Vec<Instance> = Vec::new();
        if target > now {
            let g = group.clone().or_else(|| job.group.clone());
            new = self.place_new(&base_state, &facts, &mut next, target - now, g)?;
        } else if target < now {
            gone = fullest_first(&base_state, &facts, &live, (now - target) as usize);
        }
        let new_instances: Vec<Instance> = new.iter().map(|(i, _)| i.clone()).collect();
        // The load balancer forgets lost and removed instances, learns new ones.
        let mut leaving = lost.clone();
        leaving.extend(gone.iter().cloned());
        let (lb_plan, lb_next) = self.lb_change(&state, &job, &new_instances, &leaving)?;
        let create = self.create_plan(format!("scalejob {base} {count}"), &next, &new, &facts)?;
        let gone_refs: Vec<&Instance> = gone.iter().collect();
        let destroy = self.destroy_plan(format!("scalejob {base} {count}"), &next, &gone_refs)?;
        let snap = snapshot_name(base, next.version);
        plan.steps.extend(self.transfer_shown(&next, next.version, &new, &facts)?);
        plan.steps.extend(create.steps.iter().cloned());
        plan.steps.extend(lb_plan.steps.iter().cloned());
        plan.steps.extend(destroy.steps.iter().cloned());
        for p in [&create, &lb_plan, &destroy] {
            plan.state_changes.extend(p.state_changes.iter().cloned());
        }
        next.instances.retain(|i| !gone.iter().any(|g| g.name == i.name));
        next.instances.extend(new_instances.iter().cloned());
        let cleanup = self.snapshot_cleanup(&next, &next.instances, &facts, false)?;
        plan.steps.extend(cleanup.iter().cloned());
        if opts.dry_run {
            return Ok(Applied { plan, executed: false, record: next });
        }
        if !new.is_empty() {
            let targets: BTreeSet<String> = new_instances.iter().map(|i| i.server.clone()).collect();
            let have = with_snapshot(&facts, &snap);
            if !have.contains(&job.base_server) {
                return Err(Error::not_found(
                    "snapshot",
                    &snap,
                    format!("it is gone from {}; `flockport upgradejob {base}` takes a new one", job.base_server),
                ));
            }
            self.spread_snapshot(&next, next.version, &targets, &have, &facts, progress).await?;
            create.execute(&self.transports_for(create.servers())?, progress).await?;
        }
        if !lb_plan.steps.is_empty() {
            if let Err(e) = lb_plan.execute(&self.transports_for(lb_plan.servers())?, progress).await {
                let refs: Vec<&Instance> = new_instances.iter().collect();
                let undo = self.destroy_plan(format!("undo scalejob {base}"), &next, &refs)?;
                let _ = undo.execute(&self.transports_for(undo.servers())?, &NoProgress).await;
                return Err(e);
            }
        }
        let mut after = Plan { steps: destroy.steps.clone(), ..Plan::new(format!("scalejob {base} {count}")) };
        after.steps.extend(cleanup);
        if !after.steps.is_empty() {
            after.execute(&self.transports_for(after.servers())?, progress).await?;
        }
        job = next;
        let mut st = txn.state().clone();
        if let Some(l) = lb_next {
            st.lbs.insert(l.container.name.clone(), l);
        }
        st.jobs.insert(base.to_string(), job.clone());
        txn.commit(st).await?;
        Ok(Applied { plan, executed: true, record: job })
    }

    /// The steps that would put snapshot `version` on the servers of `new`
    /// lacking it, for the plan shown (the transfer itself is a stream
    /// through this machine, not a step).
    fn transfer_shown(
        &self,
        job: &JobRecord,
        version: u32,
        new: &[(Instance, steps::Slot)],
        facts: &BTreeMap<String, ServerFacts>,
    ) -> Result<Vec<Step>> {
        let snap = snapshot_name(&job.base, version);
        let have = with_snapshot(facts, &snap);
        let targets: BTreeSet<&str> = new.iter().map(|(i, _)| i.server.as_str()).collect();
        let mut out = Vec::new();
        for t in targets.into_iter().filter(|t| *t != job.base_server && !have.contains(*t)) {
            let s = self.server(t)?;
            out.push(Step::run(
                t,
                format!("receive snapshot {snap} from {} (a compressed tar through this machine)", job.base_server),
                steps::write_snapshot_argv(s, &snap, run::transfer_compressor(facts, &job.base_server, [t])),
            ));
        }
        Ok(out)
    }

    /// The load balancer's part of a change: `join` become backends,
    /// `leave` are drained and removed; the plan (empty without `--lb`)
    /// and the LB's record after.
    fn lb_change(
        &self,
        state: &State,
        job: &JobRecord,
        join: &[Instance],
        leave: &[Instance],
    ) -> Result<(Plan, Option<crate::lb::LbRecord>)> {
        let mut plan = Plan::new(format!("load balancer of {}", job.base));
        let Some(l) = &job.lb else { return Ok((plan, None)) };
        let rec = crate::lb::find_lb(state, &l.lb)?.clone();
        let server = self.server(rec.server())?.clone();
        let gone: Vec<crate::lb::Backend> = leave
            .iter()
            .map(|i| run::backend_of(&rec, i, l.port))
            .filter(|b| rec.backends.iter().any(|x| x == b))
            .collect();
        let mut next = rec.clone();
        if !join.is_empty() {
            let add: Vec<crate::lb::Backend> = join.iter().map(|i| run::backend_of(&rec, i, l.port)).collect();
            next = crate::lb::add_backends_plan(&server, &next, &add, &mut plan)?;
        }
        if !gone.is_empty() {
            next = crate::lb::del_backends_plan(&server, &next, &gone, &mut plan)?;
        }
        Ok((plan, Some(next)))
    }

    /// Removes snapshots this run made, best effort (after a failure).
    async fn remove_snapshots(&self, made: &[(String, String)]) {
        for (server, snap) in made {
            let Ok(s) = self.server(server) else { continue };
            let mut p = Plan::new(format!("remove {snap}"));
            p.steps = steps::remove_snapshot_steps(s, snap);
            if let Ok(t) = self.transports_for([server.as_str()]) {
                let _ = p.execute(&t, &NoProgress).await;
            }
        }
    }
}

/// The servers in `facts` holding a complete `snap`.
fn with_snapshot(facts: &BTreeMap<String, ServerFacts>, snap: &str) -> BTreeSet<String> {
    facts.iter().filter(|(_, f)| f.image_ready(snap)).map(|(s, _)| s.clone()).collect()
}

/// `n` of `live` to remove, each from the server whose placed memory is
/// the largest share of its memory at that moment.
fn fullest_first(state: &State, facts: &BTreeMap<String, ServerFacts>, live: &[Instance], n: usize) -> Vec<Instance> {
    let caps: BTreeMap<String, u64> =
        run::capacities(facts).into_iter().map(|c| (c.server, c.memory_mib.max(1))).collect();
    let mut used: BTreeMap<String, u64> = BTreeMap::new();
    for p in run::placed(state, facts) {
        *used.entry(p.server).or_default() += p.size.memory_mib;
    }
    let size = |i: &Instance| {
        state.jobs.values().find(|j| j.instances.iter().any(|x| x.name == i.name)).map_or(0, |j| j.memory_mib)
    };
    let mut left: Vec<Instance> = live.to_vec();
    let mut out = Vec::new();
    for _ in 0..n {
        // Fullest server (ties: the later name), then its newest instance.
        let pick = left
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| {
                let fa =
                    used.get(&a.server).copied().unwrap_or(0) as f64 / caps.get(&a.server).copied().unwrap_or(1) as f64;
                let fb =
                    used.get(&b.server).copied().unwrap_or(0) as f64 / caps.get(&b.server).copied().unwrap_or(1) as f64;
                fa.partial_cmp(&fb).unwrap_or(std::cmp::Ordering::Equal).then_with(|| index_of(a).cmp(&index_of(b)))
            })
            .map(|(k, _)| k);
        let Some(k) = pick else { break };
        let i = left.remove(k);
        if let Some(u) = used.get_mut(&i.server) {
            *u = u.saturating_sub(size(&i));
        }
        out.push(i);
    }
    out
}

/// The number in an instance's name (`c1-7` -> 7).
fn index_of(i: &Instance) -> u32 {
    i.name.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// A job as `listjobs` shows it, from the probes and the health answers
/// (`server` -> `TCP_HEALTH` output).
fn job_info(j: &JobRecord, facts: &BTreeMap<String, ServerFacts>, health: &BTreeMap<String, String>) -> JobInfo {
    let instances: Vec<InstanceInfo> = j
        .instances
        .iter()
        .map(|i| {
            if let Some(why) = lost_why(i, facts) {
                return InstanceInfo {
                    instance: i.clone(),
                    state: "lost".into(),
                    health: "unknown".into(),
                    why: Some(why),
                };
            }
            let state = facts
                .get(&i.server)
                .and_then(|f| f.container(&i.name))
                .map_or_else(|| "lost".to_string(), |c| c.state.to_string());
            let health = match j.health_port() {
                None => "-".to_string(),
                Some(p) => match health.get(&i.server) {
                    Some(text) => {
                        let h = crate::service::container::tcp_health_of(text, &format!("{}:{p}", i.address));
                        h.to_lowercase()
                    }
                    None => "unknown".into(),
                },
            };
            InstanceInfo { instance: i.clone(), state, health, why: None }
        })
        .collect();
    JobInfo {
        base: j.base.clone(),
        version: j.version,
        count: j.count,
        running: instances.iter().filter(|i| i.state == "running").count() as u32,
        lost: instances.iter().filter(|i| i.state == "lost").count() as u32,
        job: j.clone(),
        instances,
    }
}

mod upgrade;

#[cfg(test)]
mod tests;
