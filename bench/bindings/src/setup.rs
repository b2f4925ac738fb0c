//! `setup DIR`: the cluster every arm of the benchmark reads.
//!
//! * `DIR/flockport.toml`: one server `s1` with the local transport (nothing
//!   is ever contacted: the benchmark only reads the inventory and state);
//! * `DIR/flockport-state.json`: [`LBS`] load balancers as `addlb`,
//!   `addbackends`, `setlb` and `pub` leave them (HAProxy and Nginx, 3 to 5
//!   backends each, published ports, some with TLS, workers, resolvers), plus
//!   each LB's container record and the name counters. It is a serialised
//!   [`State`], written as the state store writes it (pretty JSON, mode 0600),
//!   so its format is the one the core reads.
//!
//! Both are read back through [`Cluster`] before `setup` returns.

use flockport_core::fsutil::atomic_write;
use flockport_core::image::ImageSpec;
use flockport_core::state::SCHEMA_VERSION;
use flockport_core::{Backend, Cluster, Inventory, LbKind, LbRecord, ServerConfig, State};
use serde_json::{json, Value};
use std::error::Error;
use std::net::Ipv4Addr;
use std::path::Path;

/// How many load balancers the state holds.
pub const LBS: u32 = 50;
/// Of which HAProxy (the rest are Nginx).
pub const HAPROXY_LBS: u32 = 30;
/// The inventory's one server.
pub const SERVER: &str = "s1";

/// The inventory: one local server.
pub const INVENTORY: &str = r#"# Written by `flockport-bench-bindings setup` (bench/bindings): one server
# with the local transport. The benchmark only reads this file and the state.
state = "flockport-state.json"

[[server]]
name = "s1"
transport = "local"
subnet = "10.0.4.0/24"
"#;

/// A 64-hex-digit certificate fingerprint, deterministic per LB (the shape
/// `setlb ssl` records; no certificate exists).
fn fingerprint(i: u32) -> String {
    let mut x = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03;
    let mut out = String::with_capacity(64);
    for _ in 0..4 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 29;
        out.push_str(&format!("{x:016x}"));
    }
    out
}

/// Backend `k` (0-based) of LB `i` (1-based); `seq` numbers all backends.
fn backend(kind: LbKind, i: u32, k: u32, seq: u32) -> Backend {
    // Backends live in the app subnet 10.0.5.0/24 (and on, past 245 of them), not in the LBs' /24.
    let host = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 5, 10)) + seq);
    let port = if k % 2 == 0 { 80 } else { 8080 };
    match kind {
        LbKind::Haproxy => Backend { name: Some(format!("web{i}-{}", k + 1)), host: host.to_string(), port },
        // Every fourth Nginx LB reaches its backends by DNS name.
        LbKind::Nginx if i % 4 == 0 => Backend { name: None, host: format!("app{i}-{}.service.consul", k + 1), port },
        LbKind::Nginx => Backend { name: None, host: host.to_string(), port },
    }
}

/// The `i`-th load balancer (1-based) and its container record.
fn lb(server: &ServerConfig, i: u32, seq: &mut u32) -> Result<LbRecord, Box<dyn Error>> {
    let (kind, name) = if i <= HAPROXY_LBS {
        (LbKind::Haproxy, format!("{}{i}", LbKind::Haproxy.name_prefix()))
    } else {
        (LbKind::Nginx, format!("{}{}", LbKind::Nginx.name_prefix(), i - HAPROXY_LBS))
    };
    let address = Ipv4Addr::new(10, 0, 4, u8::try_from(10 + i)?);
    let backends = (0..3 + i % 3)
        .map(|k| {
            *seq += 1;
            backend(kind, i, k, *seq)
        })
        .collect();
    let url = match kind {
        LbKind::Nginx => Some(format!("site{i}.example.org")),
        LbKind::Haproxy if i % 2 == 0 => Some(format!("shop{i}.example.com")),
        LbKind::Haproxy => None,
    };
    let modes = kind.modes();
    let fw = |p: u16| flockport_core::service::Forward { host_port: p, port: p };
    let mut published = vec![fw(u16::try_from(10_000 + i)?)];
    if i % 5 == 0 {
        published.push(fw(u16::try_from(20_000 + i)?));
    }
    let image = ImageSpec::with_packages(kind.packages())?.template_name(server);
    let rec = LbRecord {
        container: flockport_core::service::ServiceContainer {
            family: flockport_core::service::Family::Lb,
            name: name.clone(),
            server: server.name.clone(),
            address,
            image: image.clone(),
            published,
        },
        kind,
        mode: modes[i as usize % modes.len()].to_string(),
        url,
        backends,
        tls: (i % 3 == 0).then(|| fingerprint(i)),
        workers: (i % 4 == 0).then_some(if kind == LbKind::Nginx { 4 } else { 2 }),
        resolvers: if kind == LbKind::Nginx && i % 4 == 0 { vec![server.gateway()] } else { Vec::new() },
    };
    Ok(rec)
}

/// The benchmark's state: [`LBS`] load balancers on `server`.
pub fn state(server: &ServerConfig) -> Result<State, Box<dyn Error>> {
    let mut st = State { schema: SCHEMA_VERSION, ..State::default() };
    let mut seq = 0;
    for i in 1..=LBS {
        let rec = lb(server, i, &mut seq)?;
        st.lbs.insert(rec.name().to_string(), rec);
    }
    st.counters.insert(LbKind::Haproxy.name_prefix().to_string(), u64::from(HAPROXY_LBS));
    st.counters.insert(LbKind::Nginx.name_prefix().to_string(), u64::from(LBS - HAPROXY_LBS));
    Ok(st)
}

/// Writes the inventory and the state into `dir` (created if missing),
/// reads both back through [`Cluster`], and returns a summary.
pub fn write(dir: &Path) -> Result<Value, Box<dyn Error>> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let inv_path = dir.join("flockport.toml");
    let inventory = Inventory::parse(&inv_path, INVENTORY)?;
    let server = inventory.server(SERVER)?;
    let st = state(server)?;
    let state_path = inventory.state_path(&inv_path);
    let bytes = serde_json::to_vec_pretty(&st)?;
    atomic_write(&inv_path, INVENTORY.as_bytes(), 0o600)?;
    atomic_write(&state_path, &bytes, 0o600)?;

    // Read back exactly as the bindings will.
    let cluster = Cluster::open(Some(&inv_path))?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let read = rt.block_on(cluster.state())?;
    if read != st {
        return Err(format!("{} does not read back as written", state_path.display()).into());
    }
    let backends: usize = read.lbs.values().map(|r| r.backends.len()).sum();
    Ok(json!({
        "inventory": inv_path.display().to_string(),
        "state": state_path.display().to_string(),
        "state_bytes": bytes.len(),
        "lbs": read.lbs.len(),
        "backends": backends,
        "containers": read.containers.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_state_is_what_the_core_would_record() {
        let inv = Inventory::parse(Path::new("flockport.toml"), INVENTORY).unwrap();
        let st = state(inv.server(SERVER).unwrap()).unwrap();
        assert_eq!(st.lbs.len(), LBS as usize);
        let mut ports = BTreeSet::new();
        for (name, lb) in &st.lbs {
            assert_eq!(lb.name(), name);
            assert!((3..=5).contains(&lb.backends.len()), "{name}");
            lb.kind.check_mode(&lb.mode).unwrap();
            for b in &lb.backends {
                assert_eq!(&Backend::parse(lb.kind, &b.to_string()).unwrap(), b, "{name}: {b}");
            }
            for p in lb.container.host_ports() {
                assert!(ports.insert(p), "port {p} published twice on {SERVER}");
            }
            assert!(!st.containers.contains_key(name), "an LB's container is the LB's record");
        }
        let json = serde_json::to_vec(&st).unwrap();
        assert_eq!(serde_json::from_slice::<State>(&json).unwrap(), st);
    }
}
