//! Consul endpoints on the lab with a real Consul (built by
//! tests/consul/build-consul.sh and put on PATH by tests/run): the seed's
//! `addep s1 10.0.4.10` -> consul-10, the leader; three endpoints with fault
//! tolerance 1; the leader's container stopped -> another leads within 15 s;
//! delep down to two, and the last but one refused without --force; ACLs
//! (anonymous registration refused), secrets (files 0600, nothing in a
//! trace-level run's output); bad input that changes nothing.

use flockport_tests::{cli, cli_json, cli_ok, lab, lab_inventory_copy, server_lock, Cleanup};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn consul_on_path() -> bool {
    let found = std::env::var_os("PATH").iter().flat_map(std::env::split_paths).any(|d| d.join("consul").is_file());
    if !found {
        assert!(
            !flockport_tests::required(),
            "no `consul` on PATH: tests/run builds it with tests/consul/build-consul.sh"
        );
        println!("SKIP: no consul on PATH");
    }
    found
}

fn addep(inv: &Path, server: &str, ip: &str) -> String {
    let lock = server_lock(server);
    let a = cli_json(inv, &["addep", server, ip, "--json"]);
    drop(lock);
    a["record"]["name"].as_str().unwrap().to_string()
}

fn listing(inv: &Path) -> serde_json::Value {
    let out = cli(inv, &["listep", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

fn http(method: &str, url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-m", "5", "-X", method, "-d", r#"{"Name":"intruder","Port":1}"#, "-w", "\n%{http_code}", url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn endpoints_bootstrap_join_survive_the_leaders_loss_and_leave() {
    let Some(lab) = lab() else { return };
    if !consul_on_path() {
        return;
    }
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();

    // Bad input first: nothing is made.
    for (args, needle) in [
        (vec!["addep", "s1", "10.0.5.10"], "10.0.5.10"),
        (vec!["addep", "s1", "10.0.4.300"], "10.0.4.300"),
        (vec!["addep", "s1", "10.0.4.20"], "10.0.4.20"),
        (vec!["addep", "s9", "10.0.4.10"], "s9"),
        (vec!["addep", "s1", "10.0.4.10", "-n", "c1"], "c1"),
        (vec!["addep", "s1", "10.0.4.10", "-n", "a b"], "a b"),
        (vec!["delep", "nope"], "nope"),
    ] {
        let out = cli(inv, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(needle), "{args:?} does not name {needle}");
    }
    assert!(
        !dir.path().join("flockport-state.json").exists() || listing(inv)["endpoints"].as_array().unwrap().is_empty()
    );

    // The seed's example, with trace logging: the secrets appear nowhere.
    let lock = server_lock("s1");
    let out = Command::new(flockport_tests::flockport_bin())
        .arg("--config")
        .arg(inv)
        .args(["addep", "s1", "10.0.4.10", "-v"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    drop(lock);
    let _guards: Vec<Cleanup> = ["consul-10", "consul-5-10", "consul-7-10"]
        .iter()
        .map(|n| Cleanup::args(inv, &["delep", n, "--force"]))
        .collect();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("endpoint consul-10 ready on s1 at 10.0.4.10"), "{text}");
    let secrets = dir.path().join("flockport-secrets/consul");
    for f in ["management", "gossip"] {
        let p = secrets.join(f);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
        let secret = std::fs::read_to_string(&p).unwrap();
        assert!(secret.len() > 20 && !text.contains(&secret), "the {f} secret is in the output");
        assert!(!std::fs::read_to_string(dir.path().join("flockport-state.json")).unwrap().contains(&secret));
    }
    let modes = cli_ok(
        inv,
        &[
            "exec",
            "consul-10",
            "--",
            "stat",
            "-c",
            "%a %n",
            "/etc/consul.d/consul.hcl",
            "/etc/consul.d/flockport.token",
        ],
    );
    assert_eq!(modes.lines().filter(|l| l.starts_with("600 ")).count(), 2, "{modes}");
    let l = listing(inv);
    assert_eq!(l["leader"], "consul-10", "{l}");
    assert!(l["warning"].as_str().unwrap().contains("1 endpoint"), "{l}");
    // ACLs: an anonymous registration is refused; anonymous reads work.
    let (code, body) = http("PUT", "http://10.0.4.10:8500/v1/agent/service/register");
    assert_eq!(code, 403, "{body}");
    assert_eq!(http("GET", "http://10.0.4.10:8500/v1/catalog/services").0, 200);

    // Quorum: three endpoints, one leader, fault tolerance 1.
    assert_eq!(addep(inv, "s2", "10.0.5.10"), "consul-5-10");
    assert_eq!(addep(inv, "s3", "10.0.7.10"), "consul-7-10");
    let l = listing(inv);
    assert_eq!((l["peers"].as_u64(), l["fault_tolerance"].as_u64()), (Some(3), Some(1)), "{l}");
    let leaders: Vec<&serde_json::Value> =
        l["endpoints"].as_array().unwrap().iter().filter(|e| e["role"] == "leader").collect();
    assert_eq!(leaders.len(), 1, "{l}");
    assert!(l["warning"].is_null(), "{l}");

    // The leader's container stops: another endpoint leads within 15 s.
    let old = l["leader"].as_str().unwrap().to_string();
    cli_ok(inv, &["stopcontainer", &old]);
    let start = Instant::now();
    let new = loop {
        let l = listing(inv);
        if let Some(n) = l["leader"].as_str().filter(|n| *n != old) {
            break n.to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(15), "no new leader 15 s after {old} stopped: {l}");
        std::thread::sleep(Duration::from_millis(250));
    };
    println!("{new} leads {:.1} s after {old} stopped", start.elapsed().as_secs_f64());
    cli_ok(inv, &["startcontainer", &old]);
    let start = Instant::now();
    while listing(inv)["fault_tolerance"].as_u64() != Some(1) {
        assert!(start.elapsed() < Duration::from_secs(60), "{old} did not rejoin: {}", listing(inv));
        std::thread::sleep(Duration::from_millis(500));
    }

    // delep: two remain with a leader; the next is refused without --force.
    cli_ok(inv, &["delep", "consul-7-10"]);
    let l = listing(inv);
    assert_eq!(l["endpoints"].as_array().unwrap().len(), 2, "{l}");
    assert!(l["leader"].is_string(), "{l}");
    let out = cli(inv, &["delep", "consul-5-10"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    cli_ok(inv, &["delep", "consul-5-10", "--force"]);
    cli_ok(inv, &["delep", "consul-10", "--force"]);
    assert!(listing(inv)["endpoints"].as_array().unwrap().is_empty());
}
