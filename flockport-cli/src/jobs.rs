//! The job scheduler's verbs (Flockport's "Job scheduler" section):
//! `addjob`, `listjobs`, `upgradejob` (alias `upgradejobs`), `scalejob`,
//! `deljob` (alias `deljobs`). Kept apart from `main.rs`, which only
//! flattens [`JobCommand`] into its verbs.

use crate::output::StepProgress;
use crate::{ChangeOpts, ListOpts};
use clap::Subcommand;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use flockport_core::jobs::{parse_count, JobInfo, JobRecord, JobSpec};
use flockport_core::{Cluster, Error};

/// The job verbs.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Run COUNT instances of container BASE, placed across the servers by free capacity.
    Addjob {
        /// The base container (its root filesystem is the job's version; it keeps running).
        base: String,
        /// How many instances (named BASE-1, BASE-2, ...).
        #[arg(allow_hyphen_values = true)]
        count: String,
        /// The bridge (network) every instance joins; servers without it are not used.
        #[arg(short = 'n', long = "network")]
        network: Option<String>,
        /// Group: jobs of one group run on one server.
        #[arg(short = 'g', long = "group")]
        group: Option<String>,
        /// Instances on each server chosen (the last one takes the remainder).
        #[arg(short = 'r', long = "replicas", allow_hyphen_values = true)]
        replicas: Option<String>,
        /// Placement strategy: resource (the only one).
        #[arg(short = 's', long = "strategy")]
        strategy: Option<String>,
        /// Each instance's memory limit, e.g. 512M or 2G (default 256M).
        #[arg(long)]
        memory: Option<String>,
        /// Each instance's CPU share, e.g. 0.5 or 2 (default 0.25).
        #[arg(long)]
        cpus: Option<String>,
        /// The TCP port that says an instance is healthy.
        #[arg(long)]
        port: Option<u16>,
        /// LB:PORT: the instances are backends of load balancer LB on PORT while they run.
        #[arg(long)]
        lb: Option<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// List jobs: version, count wanted and running, and each instance's server, address, state,
    /// version and health (lost when its container or server is gone).
    Listjobs(ListOpts),
    /// Take a new version from the base and replace the instances one at a time.
    #[command(alias = "upgradejobs")]
    Upgradejob {
        /// The job (its base container).
        base: String,
        /// Seconds to wait between instances.
        #[arg(short = 'i', long = "interval")]
        interval: Option<u32>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Set a job's instance count: N, or +N / -N to change it by N.
    Scalejob {
        /// The job (its base container).
        base: String,
        /// The new count, or +N / -N.
        #[arg(allow_hyphen_values = true)]
        count: String,
        /// The group new instances join.
        #[arg(short = 'g', long = "group")]
        group: Option<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Remove a job: its instances (drained out of its load balancer first) and snapshots.
    #[command(alias = "deljobs")]
    Deljob {
        /// The job (its base container).
        base: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
}

fn summary(j: &JobRecord) -> String {
    let mut by_server: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for i in &j.instances {
        by_server.entry(i.server.as_str()).or_default().push(i.name.as_str());
    }
    let placed: Vec<String> = by_server.iter().map(|(s, ns)| format!("{s}: {}", ns.join(" "))).collect();
    format!("job {} version {}: {} instance(s) ({})", j.base, j.version, j.instances.len(), placed.join("; "))
}

/// Runs a job verb; the exit code.
pub async fn run(cluster: &Cluster, cmd: JobCommand, progress: &StepProgress) -> Result<u8, Error> {
    match cmd {
        JobCommand::Addjob { base, count, network, group, replicas, strategy, memory, cpus, port, lb, change } => {
            let count = parse_count(&count)?;
            let replicas = replicas
                .map(|r| {
                    r.parse::<u32>().map_err(|_| {
                        Error::invalid("replicas", &r, "-r is how many instances go on each server chosen: at least 1")
                    })
                })
                .transpose()?;
            let spec = JobSpec { base, count, network, group, replicas, strategy, memory, cpus, port, lb };
            let a = cluster.add_job(spec, change.apply(), progress).await?;
            crate::output::applied(&a, change.json, summary)?;
        }
        JobCommand::Listjobs(o) => {
            let rows = cluster.jobs().await?;
            print_jobs(&rows, o.json)?;
        }
        JobCommand::Upgradejob { base, interval, change } => {
            let a = cluster.upgrade_job(&base, interval, change.apply(), progress).await?;
            crate::output::applied(&a, change.json, summary)?;
        }
        JobCommand::Scalejob { base, count, group, change } => {
            let a = cluster.scale_job(&base, &count, group, change.apply(), progress).await?;
            crate::output::applied(&a, change.json, summary)?;
        }
        JobCommand::Deljob { base, change } => {
            let a = cluster.del_job(&base, change.apply()).await?;
            crate::output::applied(&a, change.json, |j| {
                format!(
                    "removed job {} ({} instance(s) and its snapshots); {} itself is untouched",
                    j.base,
                    j.instances.len(),
                    j.base
                )
            })?;
        }
    }
    Ok(0)
}

fn print_jobs(rows: &[JobInfo], as_json: bool) -> Result<(), Error> {
    if as_json {
        return crate::output::json(rows);
    }
    if rows.is_empty() {
        println!("no jobs; add one with `flockport addjob BASE COUNT`");
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(vec!["JOB", "VERSION", "WANTED", "RUNNING", "STRATEGY", "GROUP", "REPLICAS", "LB", "ROLLOUT"]);
    for j in rows {
        let r = &j.job;
        t.add_row(vec![
            j.base.clone(),
            j.version.to_string(),
            j.count.to_string(),
            if j.lost > 0 { format!("{} ({} lost)", j.running, j.lost) } else { j.running.to_string() },
            r.strategy.clone(),
            r.group.clone().unwrap_or_else(|| "-".into()),
            r.replicas.map_or_else(|| "-".into(), |n| n.to_string()),
            r.lb.as_ref().map_or_else(|| "-".into(), |l| format!("{}:{}", l.lb, l.port)),
            r.rollout.as_ref().map_or_else(
                || "-".into(),
                |o| format!("v{} -> v{}: {} ({} replaced)", o.from_version, o.to_version, o.state, o.replaced),
            ),
        ]);
    }
    println!("{t}");
    let mut i = Table::new();
    i.load_preset(UTF8_FULL_CONDENSED)
        .set_header(vec!["INSTANCE", "JOB", "SERVER", "ADDRESS", "VERSION", "STATE", "HEALTH"]);
    for j in rows {
        for x in &j.instances {
            let state = match &x.why {
                Some(w) => format!("{} ({w})", x.state),
                None => x.state.clone(),
            };
            i.add_row(vec![
                x.instance.name.clone(),
                j.base.clone(),
                x.instance.server.clone(),
                x.instance.address.to_string(),
                x.instance.version.to_string(),
                state,
                x.health.clone(),
            ]);
        }
    }
    println!("{i}");
    Ok(())
}
