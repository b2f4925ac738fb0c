//! `upgradejob`: a new version from the base container, rolled out one
//! instance at a time. Each new instance is created on its old one's
//! server, started and must answer (its port) before it joins the load
//! balancer and the old one is drained out and removed; `-i` waits between
//! instances. One that does not answer is destroyed again, the rollout
//! stops there (`rolled back`), and the other instances keep the old
//! version, whose snapshot stays until a rollout completes.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::names;
use crate::plan::{NoProgress, Plan, Progress};

use super::run::{self, lost_why};
use super::spec::{snapshot_name, Instance, JobRecord, Rollout};
use super::steps;

/// The longest `-i` taken (an hour).
pub const MAX_INTERVAL_SECS: u32 = 3600;

impl Cluster {
    /// `upgradejob` (alias `upgradejobs`): see the module's documentation.
    pub async fn upgrade_job(
        &self,
        base: &str,
        interval: Option<u32>,
        opts: ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<Applied<JobRecord>> {
        names::check_name("job", base)?;
        let interval = interval.unwrap_or(0);
        if interval > MAX_INTERVAL_SECS {
            return Err(Error::invalid(
                "interval",
                interval.to_string(),
                format!("-i is the seconds between instances, at most {MAX_INTERVAL_SECS}"),
            ));
        }
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let job = super::find_job(&state, base)?.clone();
        let facts = self.probe_for(&[job.base_server.as_str()]).await?;
        if facts.get(&job.base_server).and_then(|f| f.container(base)).is_none() {
            return Err(Error::not_found(
                "base container",
                base,
                format!("it is gone from {}; a new version is taken from it", job.base_server),
            ));
        }
        let from = job.version;
        let to = from + 1;
        let snap = snapshot_name(base, to);
        let bs = self.server(&job.base_server)?.clone();
        let live: Vec<Instance> = job.instances.iter().filter(|i| lost_why(i, &facts).is_none()).cloned().collect();
        let lost: Vec<Instance> = job.instances.iter().filter(|i| lost_why(i, &facts).is_some()).cloned().collect();

        let mut shown = Plan::new(format!("upgradejob {base} (version {from} -> {to})"));
        shown.steps.push(steps::snapshot_step(&bs, base, &snap));
        for i in &live {
            shown.state_changes.push(format!(
                "{base}: replace {} on {} by a new instance of version {to} (created, answering, {}then {} removed)",
                i.name,
                i.server,
                if job.lb.is_some() { "in the load balancer, " } else { "" },
                i.name
            ));
        }
        for i in &lost {
            shown.state_changes.push(format!("{base}: replace lost instance {} by a new one of version {to}", i.name));
        }
        if interval > 0 {
            shown.state_changes.push(format!("wait {interval} s between instances"));
        }
        let mut next = job.clone();
        next.version = to;
        if opts.dry_run {
            return Ok(Applied { plan: shown, executed: false, record: next });
        }

        let mut snap_plan = Plan::new(format!("snapshot {base} as version {to}"));
        snap_plan.steps.push(steps::snapshot_step(&bs, base, &snap));
        snap_plan.execute(&self.transports_for([bs.name.as_str()])?, progress).await?;
        progress.note(&format!("{base}: version {to} taken from {base} on {}", bs.name));

        // The job as it goes; the state's other records as they go (the LB's).
        let mut work = state.clone();
        let mut cur = job.clone();
        cur.instances.clone_from(&live);
        cur.version = to;
        let mut have: BTreeSet<String> = [bs.name.clone()].into();
        let mut failure: Option<Error> = None;
        let mut replaced = 0u32;
        for (k, old) in live.iter().enumerate() {
            if k > 0 && interval > 0 {
                progress.note(&format!("{base}: waiting {interval} s before the next instance"));
                tokio::time::sleep(Duration::from_secs(u64::from(interval))).await;
            }
            if progress.interrupted() {
                progress.honoured_interrupt();
                failure = Some(Error::Interrupted { operation: format!("upgradejob {base}"), rolled_back: Vec::new() });
                break;
            }
            match self.replace_one(&mut work, &mut cur, old, &facts, &mut have, progress).await {
                Ok(new) => {
                    replaced += 1;
                    progress.note(&format!(
                        "{base}: {} replaced by {} on {} (version {to}, {replaced}/{})",
                        old.name,
                        new.name,
                        new.server,
                        live.len()
                    ));
                }
                Err(e) => {
                    progress.note(&format!("{base}: {} kept (version {from}): the new instance failed: {e}", old.name));
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_none() && !lost.is_empty() {
            // Lost instances come back at the new version, placed afresh.
            let mut st = work.clone();
            st.jobs.insert(base.to_string(), cur.clone());
            let r = async {
                let group = cur.group.clone();
                let new = self.place_new(&st, &facts, &mut cur, lost.len() as u32, group)?;
                let targets: BTreeSet<String> = new.iter().map(|(i, _)| i.server.clone()).collect();
                self.spread_snapshot(&cur, to, &targets, &have, &facts, progress).await?;
                let create = self.create_plan(format!("upgradejob {base}"), &cur, &new, &facts)?;
                create.execute(&self.transports_for(create.servers())?, progress).await?;
                let joined: Vec<Instance> = new.into_iter().map(|(i, _)| i).collect();
                let (lb_plan, lb_next) = self.lb_change(&work, &cur, &joined, &lost)?;
                if !lb_plan.steps.is_empty() {
                    lb_plan.execute(&self.transports_for(lb_plan.servers())?, progress).await?;
                }
                if let Some(l) = lb_next {
                    work.lbs.insert(l.container.name.clone(), l);
                }
                cur.instances.extend(joined);
                Ok::<(), Error>(())
            }
            .await;
            if let Err(e) = r {
                failure = Some(e);
            }
        }
        let done = failure.is_none();
        if !done {
            // The instances still on the old version keep it.
            cur.version = from;
        }
        cur.rollout = Some(Rollout {
            from_version: from,
            to_version: to,
            state: match &failure {
                None => "done".into(),
                Some(Error::Interrupted { .. }) => "interrupted".into(),
                Some(_) => "rolled back".into(),
            },
            replaced,
            why: failure.as_ref().map(ToString::to_string),
        });
        // Snapshots no instance uses go (the new one too, when nothing took it).
        let cleanup = self.snapshot_cleanup(&cur, &cur.instances, &facts, false)?;
        if !cleanup.is_empty() {
            let p = Plan { steps: cleanup, ..Plan::new(format!("upgradejob {base}: old snapshots")) };
            if let Ok(t) = self.transports_for(p.servers()) {
                let _ = p.execute(&t, &NoProgress).await;
            }
        }
        let mut st = txn.state().clone();
        st.lbs = work.lbs.clone();
        st.jobs.insert(base.to_string(), cur.clone());
        txn.commit(st).await?;
        match failure {
            None => Ok(Applied { plan: shown, executed: true, record: cur }),
            Some(e) => Err(e),
        }
    }

    /// Replaces `old` by a new instance of `cur.version` on its server:
    /// created, answering, in the LB, then `old` drained and destroyed.
    /// On an error the new instance is destroyed again and `cur` is as it was.
    async fn replace_one(
        &self,
        work: &mut crate::state::State,
        cur: &mut JobRecord,
        old: &Instance,
        facts: &std::collections::BTreeMap<String, crate::lxc::ServerFacts>,
        have: &mut BTreeSet<String>,
        progress: &dyn Progress,
    ) -> Result<Instance> {
        let s = self.server(&old.server)?.clone();
        let f = facts.get(&s.name).ok_or_else(|| Error::not_found("server", &s.name, "it was not probed"))?;
        let mut st = work.clone();
        st.jobs.insert(cur.base.clone(), cur.clone());
        let used: Vec<std::net::Ipv4Addr> = f.used_addresses().chain(st.addresses_on(&s.name)).collect();
        let name = loop {
            let n = format!("{}-{}", cur.base, cur.next_index);
            cur.next_index += 1;
            if !st.name_taken(&n) && !facts.values().any(|f| f.container(&n).is_some()) {
                break n;
            }
        };
        let slot = run::slot_on(&s, f, cur.network.as_deref(), &used, &name)?;
        let new = Instance {
            name,
            server: s.name.clone(),
            address: slot.address,
            version: cur.version,
            group: old.group.clone(),
        };
        let one: BTreeSet<String> = [s.name.clone()].into();
        for w in self.spread_snapshot(cur, cur.version, &one, have, facts, progress).await? {
            have.insert(w);
        }
        have.insert(s.name.clone());
        let create = self.create_plan(format!("upgradejob {}", cur.base), cur, &[(new.clone(), slot)], facts)?;
        create.execute(&self.transports_for([s.name.as_str()])?, progress).await?;
        let (lb_plan, lb_next) = self.lb_change(work, cur, std::slice::from_ref(&new), std::slice::from_ref(old))?;
        if !lb_plan.steps.is_empty() {
            if let Err(e) = lb_plan.execute(&self.transports_for(lb_plan.servers())?, progress).await {
                let undo = self.destroy_plan(format!("undo {}", new.name), cur, &[&new])?;
                let _ = undo.execute(&self.transports_for(undo.servers())?, &NoProgress).await;
                return Err(e);
            }
        }
        if let Some(l) = lb_next {
            work.lbs.insert(l.container.name.clone(), l);
        }
        if let Some(slot) = cur.instances.iter_mut().find(|i| i.name == old.name) {
            *slot = new.clone();
        }
        let destroy = self.destroy_plan(format!("upgradejob {}", cur.base), cur, &[old])?;
        if let Err(e) = destroy.execute(&self.transports_for(destroy.servers())?, progress).await {
            // Both are kept in the record: a retry (or deljob) removes the old one.
            cur.instances.push(old.clone());
            return Err(e);
        }
        Ok(new)
    }
}
