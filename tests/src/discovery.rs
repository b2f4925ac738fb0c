//! Helpers of the service discovery tests (Consul on the lab): Consul on
//! PATH, waiting, DNS answers from a server's namespace, commands on a lab
//! server as its own (its mount namespace, through its sshd).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Whether `consul` is on PATH (tests/run puts the built one there); a
/// failure under `FLOCKPORT_LAB=required`, else a skip.
pub fn consul_on_path() -> bool {
    let found = std::env::var_os("PATH").iter().flat_map(std::env::split_paths).any(|d| d.join("consul").is_file());
    if !found {
        assert!(!crate::required(), "no `consul` on PATH: tests/run builds it with tests/consul/build-consul.sh");
        println!("SKIP: no consul on PATH");
    }
    found
}

/// Waits (at most `limit`) until `f` holds; the time it took.
pub fn wait_for(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

/// The A records of `name` from server `server`'s namespace through the
/// DNS server `dns` (lab addresses only).
pub fn resolve_from(server: &str, dns: &str, name: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "exec", server, "busybox", "nslookup", "-type=A", name, dns])
        .output()
        .expect("ip netns exec");
    answers(&String::from_utf8_lossy(&out.stdout))
}

/// The addresses busybox nslookup printed after the `Name:` line.
pub fn answers(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Name:"))
        .filter_map(|l| l.strip_prefix("Address:"))
        .map(|a| a.trim().to_string())
        .collect()
}

/// Runs `script` with `sh -c` on lab server `server` (s1, s2, s3) through
/// its sshd, so it sees the server's containers as the server does.
pub fn on_server(server: &str, script: &str) -> Output {
    let host = match server {
        "s1" => "192.168.122.11",
        "s2" => "192.168.122.12",
        "s3" => "192.168.122.13",
        other => panic!("not a lab server: {other}"),
    };
    let out = crate::workspace_root().join("tests/lab/out");
    Command::new("ssh")
        .arg("-i")
        .arg(out.join("id_ed25519"))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", out.join("known_hosts").display()))
        .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", &format!("root@{host}"), script])
        .output()
        .expect("ssh")
}
