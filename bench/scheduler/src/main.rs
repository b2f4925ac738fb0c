//! bench/scheduler's measuring binary (run by `bench/scheduler/run.py`):
//!
//! - `stream SERVERS INSTANCES SEED`: a simulated cluster of SERVERS
//!   (memory 8-64 GiB, 4-32 CPUs, 0.5-2 TiB disk; one in ten with a second
//!   network) takes a stream of `addjob` requests (1-20 instances of one of
//!   a few sizes; one in ten on the second network, one in twenty in one of
//!   100 groups, one in ten with 2-4 replicas) through one
//!   `jobs::placement::Scheduler` until INSTANCES are placed. Prints JSON:
//!   placements per second, time per request (p50, p99, max), requests
//!   refused, and the hard-rule violations of the end state (must be none).
//! - `pack SERVERS JOBS SEED`: JOBS requests (1-5 instances of a size) on
//!   SERVERS, placed by the engine in order; prints the servers, each
//!   instance's size and server, for run.py to compare the largest server
//!   load with the exact optimum (an ILP).

use flockport_core::jobs::placement::{
    violations, Capacity, Placed, Request, Scheduler, Size, Strategy, DEFAULT_POLICY,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Instant;

fn cluster(rng: &mut StdRng, n: usize) -> Vec<Capacity> {
    (0..n)
        .map(|i| {
            let mut networks = BTreeSet::from(["lxcbr0".to_string()]);
            if rng.gen_ratio(1, 10) {
                networks.insert("br1".into());
            }
            Capacity {
                server: format!("s{i:05}"),
                memory_mib: [8u64, 16, 32, 64][rng.gen_range(0..4)] * 1024,
                cpu_milli: [4u64, 8, 16, 32][rng.gen_range(0..4)] * 1000,
                disk_mib: rng.gen_range(512..2048) * 1024,
                networks,
            }
        })
        .collect()
}

fn size(rng: &mut StdRng) -> Size {
    Size {
        memory_mib: [256u64, 512, 1024, 2048][rng.gen_range(0..4)],
        cpu_milli: [250u64, 500, 1000][rng.gen_range(0..3)],
        disk_mib: [1u64, 5, 10][rng.gen_range(0..3)] * 1024,
    }
}

fn pct(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((p / 100.0) * (xs.len() - 1) as f64).round() as usize]
}

fn stream(servers: usize, instances: usize, seed: u64) -> serde_json::Value {
    let mut rng = StdRng::seed_from_u64(seed);
    let caps = cluster(&mut rng, servers);
    let mut s = Scheduler::new(&caps, &[], DEFAULT_POLICY);
    let mut placed: Vec<Placed> = Vec::with_capacity(instances);
    let mut times = Vec::new();
    let (mut refused, mut requests) = (0u64, 0u64);
    let started = Instant::now();
    while placed.len() < instances && refused < 1000 {
        let req = Request {
            count: rng.gen_range(1..=20),
            size: size(&mut rng),
            network: rng.gen_ratio(1, 10).then(|| "br1".to_string()),
            group: rng.gen_ratio(1, 20).then(|| format!("g{}", rng.gen_range(0..100))),
            replicas: rng.gen_ratio(1, 10).then(|| rng.gen_range(2..=4)),
            strategy: Strategy::Resource,
        };
        requests += 1;
        let t = Instant::now();
        let r = s.place(&req);
        times.push(t.elapsed().as_secs_f64() * 1e6);
        match r {
            Ok(out) => {
                placed.extend(out.into_iter().map(|server| Placed { server, size: req.size, group: req.group.clone() }))
            }
            Err(_) => refused += 1,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let v = violations(&caps, &placed, &[], DEFAULT_POLICY);
    let max = times.iter().copied().fold(0.0, f64::max);
    json!({
        "servers": servers, "instances": placed.len(), "requests": requests, "refused": refused,
        "secs": secs, "placements_per_s": placed.len() as f64 / secs,
        "addjob_us_p50": pct(&mut times, 50.0), "addjob_us_p99": pct(&mut times, 99.0), "addjob_us_max": max,
        "violations": v.len(),
    })
}

fn pack(servers: usize, jobs: usize, seed: u64) -> serde_json::Value {
    let mut rng = StdRng::seed_from_u64(seed);
    // Small servers, so a few instances fill them and packing matters.
    let caps: Vec<Capacity> = (0..servers)
        .map(|i| Capacity {
            server: format!("s{i:03}"),
            memory_mib: [8u64, 16][rng.gen_range(0..2)] * 1024,
            cpu_milli: [4u64, 8][rng.gen_range(0..2)] * 1000,
            disk_mib: 200 * 1024,
            networks: BTreeSet::from(["lxcbr0".to_string()]),
        })
        .collect();
    let mut s = Scheduler::new(&caps, &[], DEFAULT_POLICY);
    let mut items = Vec::new();
    for _ in 0..jobs {
        let req = Request {
            count: rng.gen_range(1..=5),
            size: size(&mut rng),
            network: None,
            group: None,
            replicas: None,
            strategy: Strategy::Resource,
        };
        if let Ok(out) = s.place(&req) {
            for server in out {
                let at = caps.iter().position(|c| c.server == server).unwrap_or(usize::MAX);
                items.push(json!({"memory": req.size.memory_mib, "cpu": req.size.cpu_milli, "disk": req.size.disk_mib, "server": at}));
            }
        }
    }
    let cpu_factor = DEFAULT_POLICY.cpu_overcommit;
    let servers: Vec<_> = caps
        .iter()
        .map(|c| json!({"memory": c.memory_mib, "cpu": (c.cpu_milli as f64 * cpu_factor).floor() as u64, "disk": c.disk_mib}))
        .collect();
    json!({"servers": servers, "items": items})
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let out = match (args.get(1).map(String::as_str), num(2), num(3), num(4)) {
        (Some("stream"), Some(n), Some(m), Some(seed)) => stream(n as usize, m as usize, seed),
        (Some("pack"), Some(n), Some(j), Some(seed)) => pack(n as usize, j as usize, seed),
        _ => {
            eprintln!("usage: flockport-bench-scheduler stream SERVERS INSTANCES SEED | pack SERVERS JOBS SEED");
            std::process::exit(2);
        }
    };
    println!("{out}");
}
