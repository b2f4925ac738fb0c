//! The documentation's load-balancer walk-through, from Rust, against the lab
//! (`tests/lab/lab up`): an HAProxy load balancer on s1 in front of c1, c3
//! and c5 (one app container on each server), requests through it in
//! round-robin and in source mode, a backend removed, the balancer published
//! on s1's host address, and everything removed again.
//!
//! ```text
//! cargo run -p flockport-examples --bin lb-walkthrough -- [INVENTORY] [LB_NAME]
//! ```
//!
//! INVENTORY defaults to `tests/lab/out/flockport.toml`, LB_NAME to
//! `ha-rs-<pid>`. Exits non-zero, after removing the load balancer, when any
//! step does not do what the documentation says. `lb_walkthrough.py` and
//! `lb_walkthrough.js` are the same walk-through from Python and Node.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::Duration;

use flockport_core::plan::NoProgress;
use flockport_core::{ApplyOptions, Cluster, LbSetting, LbSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The backends of the walk-through: one app container on each lab server.
const BACKENDS: [&str; 3] = ["web1:10.0.4.20:80", "web2:10.0.5.20:80", "web3:10.0.7.20:80"];

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let inventory = args.next().unwrap_or_else(|| "tests/lab/out/flockport.toml".into());
    let name = args.next().unwrap_or_else(|| format!("ha-rs-{}", std::process::id()));
    let cluster = match Cluster::open(Some(inventory.as_ref())) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lb-walkthrough: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = walkthrough(&cluster, &name).await;
    // Whatever happened, the load balancer goes (when it was created).
    let cleanup = match cluster.state().await {
        Ok(state) if state.lbs.contains_key(&name) => cluster.del_lb(&name, ApplyOptions::default()).await.map(|_| ()),
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    };
    match (outcome, cleanup) {
        (Ok(()), Ok(())) => {
            println!("dellb {name}: removed\nwalk-through passed");
            ExitCode::SUCCESS
        }
        (Err(e), _) => {
            eprintln!("lb-walkthrough: {e}");
            ExitCode::FAILURE
        }
        (Ok(()), Err(e)) => {
            eprintln!("lb-walkthrough: removing {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn walkthrough(cluster: &Cluster, name: &str) -> Res<()> {
    let opts = ApplyOptions::default;
    // flockport addlb haproxy s1 -n NAME
    let spec = LbSpec { kind: "haproxy".into(), server: "s1".into(), name: Some(name.into()), ..Default::default() };
    let lb = cluster.add_lb(spec, opts(), &NoProgress).await?.record;
    println!("addlb haproxy s1 -n {name}: {} at {}", lb.kind, lb.container.address);

    // flockport addbackends NAME web1:10.0.4.20:80 web2:10.0.5.20:80 web3:10.0.7.20:80
    let backends = BACKENDS.iter().map(|b| b.to_string()).collect();
    cluster.add_backends(name, backends, opts()).await?;
    for info in cluster.lbs().await?.iter().filter(|i| i.record.name() == name) {
        let health: Vec<String> = info.health.iter().map(|h| format!("{}={}", h.backend, h.health)).collect();
        println!("listlbs: {} mode={} backends: {}", info.record.name(), info.record.mode, health.join(" "));
    }

    // 30 requests reach all three backends.
    let counts = tally(lb.container.address, 80, 30).await?;
    println!("30 requests (roundrobin): {counts:?}");
    check(["c1", "c3", "c5"].iter().all(|c| counts.get(*c).is_some_and(|n| *n >= 5)), "roundrobin spreads requests")?;

    // flockport setlb NAME mode source: one client, one backend.
    cluster.set_lb(name, LbSetting::Mode("source".into()), opts()).await?;
    let counts = tally(lb.container.address, 80, 10).await?;
    println!("10 requests (source): {counts:?}");
    check(counts.len() == 1, "source mode keeps a client on one backend")?;

    // flockport delbackends NAME web2: c3 gets nothing more.
    cluster.set_lb(name, LbSetting::Mode("roundrobin".into()), opts()).await?;
    cluster.del_backends(name, vec!["web2".into()], opts()).await?;
    let counts = tally(lb.container.address, 80, 12).await?;
    println!("12 requests after delbackends web2: {counts:?}");
    check(!counts.contains_key("c3") && counts.len() == 2, "web2 (c3) is out of rotation")?;

    // flockport pub s1:NAME 80: s1's host address answers for the balancer.
    let rec = cluster.publish(&format!("s1:{name}"), "80", opts()).await?.record;
    let host: Ipv4Addr = cluster.server("s1")?.host.as_deref().ok_or("s1 has no host address")?.parse()?;
    let counts = tally(host, 80, 4).await?;
    println!("pub s1:{name} 80 -> published {:?}; 4 requests to {host}:80: {counts:?}", rec.published);
    check(counts.len() == 2, "the published port reaches the backends")?;
    Ok(())
}

fn check(ok: bool, what: &str) -> Res<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("failed: {what}").into())
    }
}

/// `n` HTTP requests to addr:port, counted by the answering container's name (the body).
async fn tally(addr: Ipv4Addr, port: u16, n: usize) -> Res<BTreeMap<String, usize>> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        *counts.entry(get(addr, port).await?).or_insert(0) += 1;
    }
    Ok(counts)
}

/// One HTTP/1.0 GET; the body, trimmed. (A plain socket keeps the example's
/// dependencies to the core and tokio.)
async fn get(addr: Ipv4Addr, port: u16) -> Res<String> {
    let exchange = async {
        let mut s = TcpStream::connect((addr, port)).await?;
        s.write_all(b"GET / HTTP/1.0\r\nHost: walkthrough\r\n\r\n").await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(5), exchange).await??;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header in the answer")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("{addr}:{port} answered {:?}", head.lines().next().unwrap_or("")).into());
    }
    Ok(body.trim().to_string())
}
