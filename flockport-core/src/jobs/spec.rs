//! The job scheduler's records and input: what `addjob` takes ([`JobSpec`]),
//! what state keeps ([`JobRecord`], [`Instance`], [`Rollout`]), what
//! `listjobs` returns ([`JobInfo`]), and the checks and parsing that need no
//! server (sizes, counts, `--lb LB:PORT`).

use crate::error::{Error, Result};
use crate::names;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

use super::placement::Size;

/// An instance's memory when neither `--memory` nor the base says (MiB).
pub const DEFAULT_MEMORY_MIB: u64 = 256;
/// An instance's CPU share when `--cpus` is not given (thousandths of a CPU).
pub const DEFAULT_CPU_MILLI: u64 = 250;
/// The disk an instance is counted for (MiB): a snapshot clone holds only
/// what it changes.
pub const DEFAULT_DISK_MIB: u64 = 512;

/// The prefix of a job's version snapshots (image containers, so
/// `listcontainers` leaves them out): `fp-img-job-BASE-vN`.
pub const SNAPSHOT_PREFIX: &str = "fp-img-job-";

/// The snapshot container of `base`'s version `version`.
pub fn snapshot_name(base: &str, version: u32) -> String {
    format!("{SNAPSHOT_PREFIX}{base}-v{version}")
}

/// The version of `name` when it is one of `base`'s snapshots.
pub fn snapshot_version(base: &str, name: &str) -> Option<u32> {
    let rest = name.strip_prefix(SNAPSHOT_PREFIX)?.strip_prefix(base)?.strip_prefix("-v")?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// What `addjob` takes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobSpec {
    /// The base container (the job's name).
    pub base: String,
    /// How many instances (`COUNT`, at least 1).
    pub count: u32,
    /// `-n`: the bridge every instance joins (default: each server's own).
    pub network: Option<String>,
    /// `-g`: the group whose jobs share one server.
    pub group: Option<String>,
    /// `-r`: instances per chosen server.
    pub replicas: Option<u32>,
    /// `-s`: `resource` (the only strategy).
    pub strategy: Option<String>,
    /// `--memory`: each instance's memory limit (`512M`, `1G`; MiB by default).
    pub memory: Option<String>,
    /// `--cpus`: each instance's CPU share (`0.5`, `2`).
    pub cpus: Option<String>,
    /// `--port`: the TCP port that says an instance is healthy.
    pub port: Option<u16>,
    /// `--lb LB:PORT`: the instances are that load balancer's backends on PORT.
    pub lb: Option<String>,
}

/// A job's load balancer: its instances are `lb`'s backends on `port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct JobLb {
    /// The load balancer's name.
    pub lb: String,
    /// The instances' port it sends to.
    pub port: u16,
}

/// One instance of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct Instance {
    /// Its container's name (`BASE-N`).
    pub name: String,
    /// Its server.
    pub server: String,
    /// Its static address.
    pub address: Ipv4Addr,
    /// The job version it was cloned from.
    pub version: u32,
    /// The group it was placed with, if any.
    #[serde(default)]
    pub group: Option<String>,
}

/// The last rollout of a job (`upgradejob`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct Rollout {
    /// The version replaced.
    pub from_version: u32,
    /// The version rolled out.
    pub to_version: u32,
    /// `done`, `rolled back` (an instance did not become healthy; it was put
    /// back on the old version and the rollout stopped) or `interrupted`.
    pub state: String,
    /// How many instances run the new version.
    pub replaced: u32,
    /// What stopped it, if anything.
    pub why: Option<String>,
}

/// A job as state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(base, version, count, instances))]
pub struct JobRecord {
    /// The base container (the job's name).
    pub base: String,
    /// The base container's server.
    pub base_server: String,
    /// The version new instances are cloned from.
    pub version: u32,
    /// Instances wanted.
    pub count: u32,
    /// `resource`.
    pub strategy: String,
    /// The bridge instances join (`None`: each server's own).
    pub network: Option<String>,
    /// The group new instances are placed with.
    pub group: Option<String>,
    /// Instances per chosen server.
    pub replicas: Option<u32>,
    /// Memory limit of each instance, MiB.
    pub memory_mib: u64,
    /// CPU share of each instance, thousandths of a CPU.
    pub cpu_milli: u64,
    /// Disk each instance is counted for, MiB.
    pub disk_mib: u64,
    /// The TCP port that says an instance is healthy.
    pub port: Option<u16>,
    /// The load balancer the instances are backends of.
    pub lb: Option<JobLb>,
    /// The number the next new instance's name takes.
    pub next_index: u32,
    /// Its instances.
    pub instances: Vec<Instance>,
    /// The last rollout.
    pub rollout: Option<Rollout>,
}

impl JobRecord {
    /// Each instance's size, for placement.
    pub fn size(&self) -> Size {
        Size { memory_mib: self.memory_mib, cpu_milli: self.cpu_milli, disk_mib: self.disk_mib }
    }
    /// The port health is read on: the load balancer's, else `--port`.
    pub fn health_port(&self) -> Option<u16> {
        self.lb.as_ref().map(|l| l.port).or(self.port)
    }
}

/// One instance as `listjobs` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
#[record(repr(name, server, address, state, health))]
pub struct InstanceInfo {
    /// Its record.
    #[serde(flatten)]
    #[record(nested)]
    pub instance: Instance,
    /// `running`, `stopped`, `lost` (its container is gone, or its server
    /// cannot be reached) or what LXC said.
    pub state: String,
    /// `up`, `down` (its port does not answer), `-` (no port to ask) or
    /// `unknown`.
    pub health: String,
    /// Why it is lost or unknown.
    pub why: Option<String>,
}

/// A job as `listjobs` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
#[record(repr(base, version, count, running))]
pub struct JobInfo {
    /// The base container.
    pub base: String,
    /// The version new instances get.
    pub version: u32,
    /// Instances wanted.
    pub count: u32,
    /// Instances running.
    pub running: u32,
    /// Instances lost.
    pub lost: u32,
    /// Its record.
    pub job: JobRecord,
    /// Each instance with what its server says.
    pub instances: Vec<InstanceInfo>,
}

/// Parses a size for `--memory`: `512`, `512M`, `512MiB`, `2G`, `2GiB` (MiB).
pub fn parse_memory(v: &str) -> Result<u64> {
    let t = v.trim();
    let fix = "give MiB as a number, or a number with M or G (e.g. 512M, 2G), at least 16M";
    let lower = t.to_ascii_lowercase();
    let (num, mult) = if let Some(n) =
        lower.strip_suffix("gib").or_else(|| lower.strip_suffix("gb")).or_else(|| lower.strip_suffix('g'))
    {
        (n.to_string(), 1024u64)
    } else if let Some(n) =
        lower.strip_suffix("mib").or_else(|| lower.strip_suffix("mb")).or_else(|| lower.strip_suffix('m'))
    {
        (n.to_string(), 1)
    } else {
        (lower.clone(), 1)
    };
    let n: u64 = num.trim().parse().map_err(|_| Error::invalid("memory", v, fix))?;
    let mib = n.checked_mul(mult).ok_or_else(|| Error::invalid("memory", v, fix))?;
    if mib < 16 {
        return Err(Error::invalid("memory", v, fix));
    }
    Ok(mib)
}

/// Parses `--cpus`: a positive number of CPUs, to thousandths (`0.25`, `2`).
pub fn parse_cpus(v: &str) -> Result<u64> {
    let fix = "give a number of CPUs above 0, e.g. 0.5 or 2 (thousandths at most)";
    let x: f64 = v.trim().parse().map_err(|_| Error::invalid("cpus", v, fix))?;
    if !x.is_finite() || x <= 0.0 || x > 100_000.0 {
        return Err(Error::invalid("cpus", v, fix));
    }
    let milli = (x * 1000.0).round();
    if milli < 1.0 {
        return Err(Error::invalid("cpus", v, fix));
    }
    Ok(milli as u64)
}

/// Parses `addjob`'s COUNT: a whole number from 1.
pub fn parse_count(v: &str) -> Result<u32> {
    let fix = "give a whole number of instances, at least 1 (e.g. 4)";
    let n: u32 = v.trim().parse().map_err(|_| Error::invalid("COUNT", v, fix))?;
    if n == 0 {
        return Err(Error::invalid("COUNT", v, fix));
    }
    Ok(n)
}

/// `scalejob`'s COUNT: an absolute count, or a change by `+N` / `-N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Exactly this many.
    To(u32),
    /// This many more (`+N`) or fewer (`-N`).
    By(i64),
}

impl Scale {
    /// Parses `6`, `+2` or `-3`.
    pub fn parse(v: &str) -> Result<Scale> {
        let t = v.trim();
        let fix = "give the new count (e.g. 6), or +N / -N to change it by N";
        let bad = || Error::invalid("COUNT", v, fix);
        if let Some(n) = t.strip_prefix('+').or_else(|| t.strip_prefix('-')) {
            let n: i64 = n.parse().map_err(|_| bad())?;
            if n == 0 || !n.is_positive() {
                return Err(bad());
            }
            return Ok(Scale::By(if t.starts_with('-') { -n } else { n }));
        }
        let n: u32 = t.parse().map_err(|_| bad())?;
        Ok(Scale::To(n))
    }
    /// The count this makes of `now`; a count below 0 is refused.
    pub fn apply(self, now: u32, shown: &str) -> Result<u32> {
        match self {
            Scale::To(n) => Ok(n),
            Scale::By(d) => {
                let n = i64::from(now) + d;
                u32::try_from(n).map_err(|_| {
                    Error::invalid("COUNT", shown, format!("the job has {now} instance(s); it cannot go below 0"))
                })
            }
        }
    }
}

/// Parses `--lb LB:PORT`.
pub fn parse_lb(v: &str) -> Result<JobLb> {
    let fix = "give the load balancer's name and the instances' port, e.g. ha1:80";
    let (lb, port) = v.rsplit_once(':').ok_or_else(|| Error::invalid("--lb", v, fix))?;
    names::check_name("load balancer name", lb)?;
    let port: u16 = port.parse().map_err(|_| Error::invalid("--lb", v, fix))?;
    if port == 0 {
        return Err(Error::invalid("--lb", v, fix));
    }
    Ok(JobLb { lb: lb.to_string(), port })
}

/// Checks `-s`: only `resource` exists.
pub fn check_strategy(s: Option<&str>) -> Result<String> {
    match s.unwrap_or("resource") {
        "resource" => Ok("resource".into()),
        other => Err(Error::invalid(
            "strategy",
            other,
            "the only strategy is `resource` (each instance on the feasible server with the most free capacity)",
        )),
    }
}
