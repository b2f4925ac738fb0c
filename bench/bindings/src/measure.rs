//! `measure DIR`: the Rust arms, timed in interleaved batches.
//!
//! Every arm is first called `warmup_batches` batches untimed. Then, `batches`
//! times over, each arm runs one batch of `iters` calls (state) or
//! `cheap_iters` calls (server), timed with [`Instant`], the arms taking turns
//! (the first arm rotating from one pass to the next) so that a drift of the
//! machine's speed hits all arms alike. A sample is one batch's time divided
//! by its calls. The JSON gives every sample, their median and p90, and the
//! CPU time and context switches of the whole process (all threads) per call
//! over the arm's timed batches (read around each batch, less what reading
//! them twice in a row counts).
//!
//! The arms (see bench/README.md for what each binding arm includes):
//!
//! * `server`: `Cluster::server("s1")`, the borrow a Rust caller gets (no
//!   I/O: what crossing into a binding costs, in absolute terms);
//! * `server_cloned`: the same, `.cloned()`: the owned `ServerConfig` every
//!   binding has to build before converting it;
//! * `list_servers`: `rt.block_on(cluster.list_servers())`, the `listservers`
//!   verb: the cheapest call that reaches a server (one local server, one
//!   probe script run);
//! * `lbs`: `rt.block_on(cluster.lbs())`, the `listlbs` verb over the 50
//!   load balancers: each one's health check is run in its container with
//!   `lxc-attach` (on the bench host the containers do not exist: each check
//!   fails at once and the health is `unknown`, so the call is shorter than
//!   on a real cluster and the bindings' share larger);
//! * `state`: `rt.block_on(cluster.state())` on a multi-thread runtime built
//!   as flockport-py builds its own (`new_multi_thread().enable_all()`, one
//!   worker per CPU): a Rust program awaiting the call; the file is read on
//!   tokio's blocking pool, one hop there and back, as Node's `await state()`
//!   reads it on libuv's pool;
//! * `state_blocking`: `cluster.state_blocking()`, the file read and parsed
//!   on the calling thread: what Python's `state()` and Node's
//!   `stateBlocking()` call.

use crate::setup::{LBS, SERVER};
use flockport_core::{Cluster, State};
use serde_json::{json, Value};
use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// The arms, in the order of the first pass.
pub const ARMS: [&str; 6] = ["server", "server_cloned", "list_servers", "lbs", "state", "state_blocking"];

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// Calls per batch of the `state` arms.
    pub iters: usize,
    /// Calls per batch of the `server` arms.
    pub cheap_iters: usize,
    /// Calls per batch of the `list_servers` arm.
    pub op_iters: usize,
    /// Calls per batch of the `lbs` arm.
    pub list_iters: usize,
    /// Timed batches per arm.
    pub batches: usize,
    /// Untimed batches before them.
    pub warmup_batches: usize,
    /// Only these arms (all when empty): for profiling one arm.
    pub only: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            iters: 100,
            cheap_iters: 10_000,
            op_iters: 4,
            list_iters: 2,
            batches: 25,
            warmup_batches: 3,
            only: Vec::new(),
        }
    }
}

/// Median and p90 (nearest rank) of `xs`.
fn median_p90(xs: &[f64]) -> (f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    let rank = (0.9 * n as f64).ceil() as usize;
    (median, v[rank.clamp(1, n) - 1])
}

/// CPU time (ns on a CPU, from `schedstat`) and context switches (voluntary
/// and not) of all threads of this process, from `/proc/self/task`; `None`
/// where `/proc` does not tell. The Python and Node measurements read the
/// same files, so the three are counted alike. A running thread's
/// `schedstat` lags until it leaves the CPU: a 1 ms sleep first brings the
/// calling thread's up to date.
fn process_counters() -> Option<(u64, u64)> {
    std::thread::sleep(Duration::from_millis(1));
    let mut cpu = 0;
    let mut switches = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let dir = task.path();
        // A thread may have exited since the listing: skip it.
        let Ok(sched) = std::fs::read_to_string(dir.join("schedstat")) else { continue };
        cpu += sched.split_whitespace().next()?.parse::<u64>().ok()?;
        let Ok(status) = std::fs::read_to_string(dir.join("status")) else { continue };
        for line in status.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                switches += v.trim().parse::<u64>().ok()?;
            }
        }
    }
    Some((cpu, switches))
}

/// What reading [`process_counters`] twice in a row counts: the CPU the
/// reading itself spends between the two snapshots, subtracted from every
/// timed batch (median of a few tries).
fn counters_overhead() -> (u64, u64) {
    let mut cpu = Vec::new();
    let mut switches = Vec::new();
    for _ in 0..7 {
        if let (Some((c0, s0)), Some((c1, s1))) = (process_counters(), process_counters()) {
            cpu.push(c1.saturating_sub(c0));
            switches.push(s1.saturating_sub(s0));
        }
    }
    cpu.sort_unstable();
    switches.sort_unstable();
    (cpu.get(cpu.len() / 2).copied().unwrap_or(0), switches.get(switches.len() / 2).copied().unwrap_or(0))
}

/// Rounds to one decimal.
fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Consumes a call's result so the optimiser cannot drop the call.
fn done<T>(value: T) -> Result<(), Box<dyn Error>> {
    black_box(value);
    Ok(())
}

/// One call, made once.
type Call<'a> = Box<dyn FnMut() -> Result<(), Box<dyn Error>> + 'a>;

/// An arm being measured.
struct Arm<'a> {
    name: &'static str,
    iters: usize,
    call: Call<'a>,
    samples: Vec<f64>,
    /// CPU ns and context switches over the timed batches, while `/proc` tells.
    counters: Option<(u64, u64)>,
}

impl Arm<'_> {
    fn batch(&mut self) -> Result<(), Box<dyn Error>> {
        for _ in 0..self.iters {
            (self.call)()?;
        }
        Ok(())
    }

    fn timed_batch(&mut self, overhead: (u64, u64)) -> Result<(), Box<dyn Error>> {
        let before = process_counters();
        let t0 = Instant::now();
        self.batch()?;
        let elapsed = t0.elapsed();
        let after = process_counters();
        self.samples.push(elapsed.as_nanos() as f64 / self.iters as f64);
        self.counters = match (self.counters, before, after) {
            (Some((cpu, sw)), Some((c0, s0)), Some((c1, s1))) => {
                let cpu_delta = c1.saturating_sub(c0).saturating_sub(overhead.0);
                Some((cpu + cpu_delta, sw + s1.saturating_sub(s0).saturating_sub(overhead.1)))
            }
            _ => None,
        };
        Ok(())
    }

    fn summary(&self) -> Value {
        let (median, p90) = median_p90(&self.samples);
        let calls = (self.samples.len() * self.iters) as f64;
        let (cpu, switches) = match self.counters {
            Some((cpu, sw)) => (Some(r1(cpu as f64 / calls)), Some(r1(sw as f64 / calls * 1000.0))),
            None => (None, None),
        };
        json!({
            "iters_per_batch": self.iters,
            "batches": self.samples.len(),
            "ns_per_call": self.samples.iter().copied().map(r1).collect::<Vec<f64>>(),
            "median_ns": r1(median),
            "p90_ns": r1(p90),
            "cpu_ns_per_call": cpu,
            "ctx_switches_per_1000_calls": switches,
        })
    }
}

/// Fails unless `st` is the benchmark's state.
fn check(st: &State) -> Result<(), String> {
    if st.lbs.len() == LBS as usize {
        Ok(())
    } else {
        Err(format!("state() returned {} load balancers, expected {LBS}: run `setup` first", st.lbs.len()))
    }
}

/// The runtime flockport-py builds (`runtime::runtime`); napi-rs's default
/// (`Runtime::new()`) is the same multi-thread runtime with every driver.
fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("flockport").build()
}

/// The call of arm `name`.
fn call<'a>(name: &str, cluster: &'a Arc<Cluster>, rt: &'a Runtime) -> Call<'a> {
    match name {
        "server" => Box::new(move || done(cluster.server(black_box(SERVER))?)),
        "server_cloned" => Box::new(move || done(cluster.server(black_box(SERVER))?.clone())),
        "list_servers" => Box::new(move || {
            let statuses = rt.block_on(cluster.list_servers());
            if statuses.len() != 1 {
                return Err(format!("list_servers() gave {} servers, expected 1", statuses.len()).into());
            }
            done(statuses)
        }),
        "lbs" => Box::new(move || {
            let infos = rt.block_on(cluster.lbs())?;
            if infos.len() != LBS as usize {
                return Err(format!("lbs() gave {} load balancers, expected {LBS}", infos.len()).into());
            }
            done(infos)
        }),
        "state" => Box::new(move || done(rt.block_on(cluster.state())?)),
        _ => Box::new(move || done(cluster.state_blocking()?)),
    }
}

/// Runs every arm on the cluster in `dir`; returns the JSON report.
pub fn run(dir: &Path, opts: &Options) -> Result<Value, Box<dyn Error>> {
    if let Some(bad) = opts.only.iter().find(|a| !ARMS.contains(&a.as_str())) {
        return Err(format!("unknown arm {bad:?}; the arms are {}", ARMS.join(", ")).into());
    }
    let inv = dir.join("flockport.toml");
    if !inv.is_file() {
        let (inv, dir) = (inv.display(), dir.display());
        return Err(format!("{inv} is missing: run `flockport-bench-bindings setup {dir}` first").into());
    }
    let cluster = Arc::new(Cluster::open(Some(&inv))?);
    let rt = runtime()?;
    check(&rt.block_on(cluster.state())?)?;
    cluster.server(SERVER)?;

    let mut arms: Vec<Arm<'_>> = ARMS
        .iter()
        .filter(|name| opts.only.is_empty() || opts.only.iter().any(|a| a == *name))
        .map(|&name| Arm {
            name,
            iters: match name {
                "server" | "server_cloned" => opts.cheap_iters,
                "list_servers" => opts.op_iters,
                "lbs" => opts.list_iters,
                _ => opts.iters,
            },
            call: call(name, &cluster, &rt),
            samples: Vec::with_capacity(opts.batches),
            counters: Some((0, 0)),
        })
        .collect();
    for arm in &mut arms {
        for _ in 0..opts.warmup_batches {
            arm.batch()?;
        }
    }
    let overhead = counters_overhead();
    for pass in 0..opts.batches {
        let n = arms.len();
        for k in 0..n {
            arms[(pass + k) % n].timed_batch(overhead)?;
        }
    }

    let calls: serde_json::Map<String, Value> = arms.iter().map(|a| (a.name.to_string(), a.summary())).collect();
    Ok(json!({
        "lang": "rust",
        "runtime": {
            "flavor": "multi_thread",
            "workers": std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        },
        "options": {
            "iters": opts.iters,
            "cheap_iters": opts.cheap_iters,
            "op_iters": opts.op_iters,
            "list_iters": opts.list_iters,
            "batches": opts.batches,
            "warmup_batches": opts.warmup_batches,
        },
        "counters_overhead": {"cpu_ns": overhead.0, "ctx_switches": overhead.1},
        "calls": calls,
    }))
}
