//! bench/state's measuring half: given an inventory whose `[state]` is the
//! Consul store, times no-op changes (lock, read, check-and-set write of the
//! same state, unlock) one after another, and 20 concurrent writers each
//! adding to a counter, with that store and with a file store holding the
//! same state; prints every sample as JSON on stdout (`bench/state/run.py`
//! sets up the endpoints, runs this, writes the results).
//!
//! Usage: flockport-bench-state INVENTORY [ROUNDS]

#![allow(clippy::print_stdout, clippy::print_stderr)]

use flockport_core::state::consul::ConsulStateStore;
use flockport_core::state::{FileStateStore, StateStore};
use flockport_core::transport::{DefaultTransportFactory, TransportPool};
use flockport_core::Inventory;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// `rounds` no-op changes one after another: each one's seconds.
async fn sequential(store: &dyn StateStore, rounds: usize) -> flockport_core::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let txn = store.begin().await?;
        let same = txn.state().clone();
        txn.commit(same).await?;
        out.push(t.elapsed().as_secs_f64());
    }
    Ok(out)
}

/// `writers` concurrent changes, each its own store (as separate runs are),
/// each adding one to counter `key`: the wall time and the final count.
async fn concurrent(
    stores: Vec<Arc<dyn StateStore>>,
    key: &'static str,
) -> flockport_core::Result<(f64, u64, Vec<f64>)> {
    let before = stores[0].load().await?.counters.get(key).copied().unwrap_or(0);
    let t = Instant::now();
    let tasks: Vec<_> = stores
        .into_iter()
        .map(|s| {
            tokio::spawn(async move {
                let t = Instant::now();
                let txn = s.begin().await?;
                let mut st = txn.state().clone();
                *st.counters.entry(key.into()).or_insert(0) += 1;
                txn.commit(st).await?;
                flockport_core::Result::Ok((t.elapsed().as_secs_f64(), s))
            })
        })
        .collect();
    let mut each = Vec::new();
    let mut last = None;
    for task in tasks {
        let (secs, s) = task.await.map_err(|e| {
            flockport_core::Error::io("joining a writer", "bench", std::io::Error::other(e.to_string()))
        })??;
        each.push(secs);
        last = Some(s);
    }
    let wall = t.elapsed().as_secs_f64();
    let after = match last {
        Some(s) => s.load().await?.counters.get(key).copied().unwrap_or(0),
        None => before,
    };
    Ok((wall, after - before, each))
}

#[tokio::main]
async fn main() -> flockport_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let inv_path = PathBuf::from(args.next().unwrap_or_else(|| "flockport.toml".into()));
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(50);
    let inv = Inventory::load(&inv_path)?;
    let cfg = inv.state_config();
    let pool = Arc::new(TransportPool::new(Arc::new(DefaultTransportFactory)));
    let open = || ConsulStateStore::open(&cfg, &inv, &inv_path, pool.clone());
    let consul = open()?;

    // The file store: the same state, in a scratch file next to the inventory.
    let scratch = inv_path.with_file_name("bench-state.json");
    let file = FileStateStore::new(&scratch);
    let state = consul.load().await?;
    file.begin().await?.commit(state).await?;

    // Warm-up (the SSH connection and tunnel, the file's page cache), not counted.
    sequential(&consul, 3).await?;
    sequential(&file, 3).await?;
    // Cold: a store with connections of its own, as a CLI run starts (SSH
    // connection and tunnel to the endpoint included).
    let mut cold = Vec::new();
    for _ in 0..5 {
        let fresh_pool = Arc::new(TransportPool::new(Arc::new(DefaultTransportFactory)));
        let fresh = ConsulStateStore::open(&cfg, &inv, &inv_path, fresh_pool)?;
        let t = Instant::now();
        sequential(&fresh, 1).await?;
        cold.push(t.elapsed().as_secs_f64());
    }

    // Interleaved in blocks of 10 so both see the same load.
    let (mut c_seq, mut f_seq) = (Vec::new(), Vec::new());
    for _ in 0..rounds.div_ceil(10) {
        c_seq.extend(sequential(&consul, 10).await?);
        f_seq.extend(sequential(&file, 10).await?);
    }
    let writers = 20;
    let c_stores: Vec<Arc<dyn StateStore>> =
        (0..writers).map(|_| open().map(|s| Arc::new(s) as Arc<dyn StateStore>)).collect::<Result<_, _>>()?;
    let (c_wall, c_count, c_each) = concurrent(c_stores, "bench-consul").await?;
    let f_stores: Vec<Arc<dyn StateStore>> =
        (0..writers).map(|_| Arc::new(FileStateStore::new(&scratch)) as Arc<dyn StateStore>).collect();
    let (f_wall, f_count, f_each) = concurrent(f_stores, "bench-file").await?;
    let _ = std::fs::remove_file(&scratch);
    let out = serde_json::json!({
        "rounds": rounds,
        "consul_noop_s": c_seq,
        "file_noop_s": f_seq,
        "consul_cold_noop_s": cold,
        "writers": writers,
        "consul_concurrent": {"wall_s": c_wall, "committed": c_count, "each_s": c_each},
        "file_concurrent": {"wall_s": f_wall, "committed": f_count, "each_s": f_each},
    });
    println!("{out}");
    Ok(())
}
