//! Service discovery, part 2, on the lab with a real Consul: containers'
//! services and checks (`addservice`, `listservice`, `delservice`,
//! `addcheck`, `delcheck`) following the containers' life through LXC's
//! hooks and each server's Consul client agent.
//!
//! A binary of its own: cargo runs test binaries one at a time, and this one
//! stops lab containers (c3, c5), kills an endpoint and cuts s3's LAN link,
//! which tests running beside it would feel. One test carries the flow (one
//! Consul cluster on the lab at a time).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, missing_docs)]

use flockport_tests::discovery::{consul_on_path, on_server, resolve_from, wait_for};
use flockport_tests::{cli, cli_json, cli_ok, lab, lab_inventory_copy, Cleanup};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const C1: &str = "10.0.4.20";
const C2: &str = "10.0.4.21";
const C3: &str = "10.0.5.20";
const C5: &str = "10.0.7.20";

/// `wordpress.service.consul` (or another name) as s1's containers see it.
fn resolve(name: &str) -> BTreeSet<String> {
    resolve_from("s1", "10.0.4.1", &format!("{name}.service.consul")).into_iter().collect()
}

fn set(addrs: &[&str]) -> BTreeSet<String> {
    addrs.iter().map(|a| a.to_string()).collect()
}

/// The container instances in `services --json`: (name, address, container,
/// server, healthy, check names and states).
fn container_instances(inv: &Path) -> Vec<serde_json::Value> {
    let out = cli(inv, &["services", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["services"].as_array().cloned().unwrap_or_default().into_iter().filter(|s| s["origin"] == "container").collect()
}

fn check_state(inv: &Path, address: &str, check: &str) -> Option<String> {
    container_instances(inv)
        .into_iter()
        .find(|s| s["address"] == address)?
        .get("checks")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == check)
        .map(|c| c["status"].as_str().unwrap_or_default().to_string())
}

fn state_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("flockport-state.json")).unwrap_or_default()
}

/// Puts back what the test stops or cuts, also when it fails: s3's link,
/// and containers c3, c5 and endpoint consul-10 running.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "set", "vlab-s3", "up"]).status();
        std::thread::sleep(Duration::from_secs(1));
        let _ = on_server("s2", "lxc-start -n c3 2>/dev/null; true");
        let _ = on_server("s3", "lxc-start -n c5 2>/dev/null; true");
        let _ = on_server("s1", "lxc-start -n consul-10 2>/dev/null; true");
    }
}

fn lxc(server: &str, cmd: &str, container: &str) {
    let out = on_server(server, &format!("lxc-{cmd} -n {container}"));
    assert!(out.status.success(), "lxc-{cmd} {container} on {server}: {}", String::from_utf8_lossy(&out.stderr));
}

fn fault_tolerance(inv: &Path) -> i64 {
    let out = cli(inv, &["listep", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["fault_tolerance"].as_i64().unwrap_or(-1)
}

#[test]
fn containers_publish_their_services_while_they_run() {
    let Some(lab) = lab() else { return };
    if !consul_on_path() {
        return;
    }
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let _restore = Restore;
    // Clean-ups run last to first: services, then the endpoints.
    let _eps: Vec<Cleanup> = ["consul-10", "consul-5-10", "consul-7-10"]
        .iter()
        .map(|e| Cleanup::args(inv, &["delep", e, "--force"]))
        .collect();
    let _services: Vec<Cleanup> =
        ["c1", "c2", "c3", "c5"].iter().map(|c| Cleanup::args(inv, &["delservice", c])).collect();

    // Bad input: a clear error naming the value, and nothing changed.
    cli_ok(inv, &["addservice", "c3", "wordpress", "80"]);
    cli_ok(inv, &["addcheck", "c3", "mycheck", "http", "mywordpress.org"]);
    let before = state_bytes(dir.path());
    let defs = || on_server("s2", "cat /var/lib/flockport/consul/defs/c3.json").stdout;
    let defs_before = defs();
    for (args, needle) in [
        (vec!["addservice", "nosuch", "wordpress", "80"], "nosuch"),
        (vec!["addservice", "c3", "word.press", "80"], "word.press"),
        (vec!["addservice", "c3", "word press", "80"], "word press"),
        (vec!["addservice", "c3", "word'press", "80"], "word'press"),
        (vec!["addservice", "c3", "blog", "70000"], "70000"),
        (vec!["addservice", "c3", "blog", "0"], "0"),
        (vec!["addcheck", "c3", "udpcheck", "udp", "80"], "udp"),
        (vec!["addcheck", "c3", "mycheck", "tcp", "80"], "mycheck"),
        (vec!["addcheck", "c3", "portcheck", "tcp", "99999"], "99999"),
        (vec!["delcheck", "c3", "nocheck"], "nocheck"),
        (vec!["delservice", "c3", "nosuchservice"], "nosuchservice"),
        (vec!["delservice", "c4"], "c4"),
        (vec!["addservice", "c3", "wordpress", "80"], "wordpress"),
    ] {
        let out = cli(inv, &args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: the error does not name {needle}: {err}");
    }
    assert_eq!(state_bytes(dir.path()), before, "bad input changed the state");
    assert_eq!(defs(), defs_before, "bad input changed c3's definitions on s2");
    cli_ok(inv, &["delservice", "c3"]);
    assert!(on_server("s2", "test -e /var/lib/flockport/consul/defs/c3.json").status.code() == Some(1));

    // A service defined before any endpoint exists is published once the
    // first one does, the container not restarted.
    cli_ok(inv, &["addservice", "c1", "wordpress", "80"]);
    let listed = cli_json(inv, &["listservice", "c1", "--json"]);
    assert!(listed["note"].as_str().unwrap_or_default().contains("addep"), "{listed}");
    let c1_pid = on_server("s1", "lxc-info -n c1 -pH").stdout;
    for (server, ip) in [("s1", "10.0.4.10"), ("s2", "10.0.5.10"), ("s3", "10.0.7.10")] {
        let a = cli_json(inv, &["addep", server, ip, "--json"]);
        assert!(a["executed"].as_bool().unwrap_or(false), "{a}");
        if server == "s1" {
            wait_for(Duration::from_secs(5), "c1's service after the first addep", || {
                resolve("wordpress") == set(&[C1])
            });
        }
    }
    assert_eq!(on_server("s1", "lxc-info -n c1 -pH").stdout, c1_pid, "c1 was restarted");
    assert_eq!(fault_tolerance(inv), 1);

    // The seed's flow.
    cli_ok(inv, &["addservice", "c2", "wordpress2", "80"]);
    cli_ok(inv, &["addservice", "c3", "wordpress", "80"]);
    cli_ok(inv, &["addservice", "c5", "wordpress", "80"]);
    // The verb returns once the leader's catalog has the change; the
    // endpoints' DNS (stale reads) follows within milliseconds.
    let t = wait_for(Duration::from_secs(2), "the seed's services in the answers", || {
        resolve("wordpress") == set(&[C1, C3, C5]) && resolve("wordpress2") == set(&[C2])
    });
    println!("addservice c5: c5 in the answers {t:?} after the verb returned");
    let orders: BTreeSet<Vec<String>> =
        (0..20).map(|_| resolve_from("s2", "10.0.5.1", "wordpress.service.consul")).collect();
    assert!(orders.len() > 1, "one order only in 20 answers: {orders:?}");
    cli_ok(inv, &["addcheck", "c1", "mycheck", "tcp", "80"]);
    cli_ok(inv, &["addcheck", "c3", "mycheck", "http", "mywordpress.org"]);
    wait_for(Duration::from_secs(10), "both checks passing in services", || {
        check_state(inv, C1, "mycheck").as_deref() == Some("passing")
            && check_state(inv, C3, "mycheck").as_deref() == Some("passing")
    });
    let all = container_instances(inv);
    let c5 = all.iter().find(|s| s["address"] == C5).unwrap();
    assert_eq!((c5["container"].as_str(), c5["server"].as_str()), (Some("c5"), Some("s3")), "{c5}");
    let l = cli_json(inv, &["listservice", "c1", "--json"]);
    assert_eq!(l["record"]["services"][0]["name"], "wordpress", "{l}");
    assert_eq!(l["record"]["checks"][0]["name"], "mycheck", "{l}");
    assert_eq!(l["registered"][0]["checks"][0]["status"], "passing", "{l}");
    let table = cli_ok(inv, &["listservice", "c1"]);
    assert!(table.contains("wordpress") && table.contains("mycheck tcp 80 (passing)"), "{table}");
    cli_ok(inv, &["delcheck", "c1", "mycheck"]);
    assert_eq!(check_state(inv, C1, "mycheck"), None, "c1's check is gone");
    assert_eq!(check_state(inv, C3, "mycheck").as_deref(), Some("passing"), "c3's check stays");
    cli_ok(inv, &["delservice", "c1"]);
    wait_for(Duration::from_secs(2), "c1 out of the answers after delservice", || {
        resolve("wordpress") == set(&[C3, C5])
    });
    assert!(!cli(inv, &["listservice", "c1"]).status.success());
    let drift = cli_json(inv, &["services", "--json"]);
    assert_eq!(
        (drift["missing"].as_array().unwrap().len(), drift["stale"].as_array().unwrap().len()),
        (0, 0),
        "{drift}"
    );

    // Life cycle, with no flockport command: lxc-stop on s2, lxc-start.
    let t = Instant::now();
    lxc("s2", "stop", "c3");
    let gone =
        wait_for(Duration::from_secs(5), "c3 out of the answers after lxc-stop", || resolve("wordpress") == set(&[C5]));
    println!(
        "lxc-stop c3: out of the answers {:?} after the stop began ({gone:?} after lxc-stop returned)",
        t.elapsed()
    );
    if gone > Duration::from_millis(1500) {
        // Slower than the hook makes it: what s2's agent and hooks did.
        let o = on_server("s2", "tail -n 15 /var/lib/flockport/consul/consul.log; ls -l /var/lib/flockport/consul/hooked /var/lib/flockport/consul/waiters /var/lib/flockport/consul/services.d");
        println!("s2's agent and hooks:\n{}", String::from_utf8_lossy(&o.stdout));
    }
    let t = Instant::now();
    lxc("s2", "start", "c3");
    wait_for(Duration::from_secs(8), "c3 back after lxc-start (5 s + the 3 s interval)", || {
        resolve("wordpress") == set(&[C3, C5])
    });
    println!("lxc-start c3: back in the answers after {:?}", t.elapsed());
    // A shutdown from inside.
    let t = Instant::now();
    let _ = cli(inv, &["exec", "c3", "--", "poweroff"]);
    wait_for(Duration::from_secs(5), "c3 out of the answers after poweroff inside", || {
        resolve("wordpress") == set(&[C5])
    });
    println!("poweroff in c3: out of the answers after {:?}", t.elapsed());
    lxc("s2", "start", "c3");
    wait_for(Duration::from_secs(8), "c3 back after lxc-start", || resolve("wordpress") == set(&[C3, C5]));
    // A crash: the init of the run this test just started, killed by its pid.
    let pid = String::from_utf8_lossy(&on_server("s2", "lxc-info -n c3 -pH").stdout).trim().to_string();
    assert!(pid.parse::<u32>().is_ok_and(|p| p > 1), "c3's init pid: {pid:?}");
    let t = Instant::now();
    assert!(on_server("s2", &format!("kill -KILL {pid}")).status.success());
    wait_for(Duration::from_secs(5), "c3 out of the answers after its init crashed", || {
        resolve("wordpress") == set(&[C5])
    });
    println!("c3's init killed: out of the answers after {:?}", t.elapsed());
    lxc("s2", "start", "c3");
    wait_for(Duration::from_secs(8), "c3 back after lxc-start", || resolve("wordpress") == set(&[C3, C5]));

    // Endpoint loss: one endpoint's container killed; every service stays.
    lxc("s1", "stop -k", "consul-10");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(resolve("wordpress"), set(&[C3, C5]));
    assert_eq!(resolve("wordpress2"), set(&[C2]));
    wait_for(Duration::from_secs(15), "services readable and passing with consul-10 down", || {
        check_state(inv, C3, "mycheck").as_deref() == Some("passing")
    });
    let t = Instant::now();
    lxc("s3", "stop", "c5");
    wait_for(Duration::from_secs(10), "c5 out of the answers with an endpoint down", || {
        resolve("wordpress") == set(&[C3])
    });
    println!("lxc-stop c5 with consul-10 down: out of the answers after {:?}", t.elapsed());
    lxc("s3", "start", "c5");
    lxc("s1", "start", "consul-10");
    wait_for(Duration::from_secs(10), "c5 back", || resolve("wordpress") == set(&[C3, C5]));
    wait_for(Duration::from_secs(30), "three voting endpoints again", || fault_tolerance(inv) == 1);

    // An Nginx load balancer on wordpress.consul:80: c3 stopped under load.
    cli_ok(inv, &["addservice", "c1", "wordpress", "80"]);
    let lb =
        cli_json(inv, &["addlb", "nginx", "s1", "-n", "wplb", "-u", "wp.test", "-b", "wordpress.consul:80", "--json"]);
    let _lb = Cleanup::new(inv, "dellb", "wplb");
    let lb_addr = lb["record"]["address"].as_str().unwrap().to_string();
    let get = || {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                "s1",
                "curl",
                "-s",
                "-m",
                "5",
                "-H",
                "Host: wp.test",
                &format!("http://{lb_addr}/"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let seen: BTreeSet<String> = (0..30).map(|_| get()).collect();
    assert_eq!(seen, set(&["c1", "c3", "c5"]), "the load balancer serves every instance");
    let wrk = Command::new("ip")
        .args(["netns", "exec", "s1", "wrk", "-t1", "-c4", "-d6s", "--timeout", "3s", "-H", "Host: wp.test"])
        .arg(format!("http://{lb_addr}/"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    lxc("s2", "stop", "c3");
    let out = wrk.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    println!("wrk through wplb while c3 stopped:\n{report}");
    let count = |key: &str| -> u64 {
        report.lines().find_map(|l| l.trim().strip_prefix(key)).map_or(0, |rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .map(|n| n.parse::<u64>().unwrap_or(0))
                .sum()
        })
    };
    let requests = report
        .lines()
        .find_map(|l| l.split_once(" requests in "))
        .map_or(0, |(n, _)| n.trim().parse::<u64>().unwrap_or(0));
    let failed = count("Non-2xx or 3xx responses:") + count("Socket errors:");
    println!("requests {requests}, failed {failed} (at most the 4 in flight to c3)");
    assert!(requests > 100, "{report}");
    assert!(failed <= 4, "more than the in-flight requests failed: {report}");
    for _ in 0..20 {
        assert_ne!(get(), "c3", "a request went to the stopped c3");
    }
    lxc("s2", "start", "c3");

    // Server loss: s3's LAN link down; c5's service leaves within 5 s (it has
    // no check); back, it returns, and nothing is registered twice.
    wait_for(Duration::from_secs(8), "c3 back", || resolve("wordpress") == set(&[C1, C3, C5]));
    let t = Instant::now();
    assert!(Command::new("ip").args(["link", "set", "vlab-s3", "down"]).status().unwrap().success());
    wait_for(Duration::from_secs(8), "c5 out of the answers with s3 cut off", || {
        resolve("wordpress") == set(&[C1, C3])
    });
    println!("s3 cut off: c5 out of the answers after {:?}", t.elapsed());
    assert!(Command::new("ip").args(["link", "set", "vlab-s3", "up"]).status().unwrap().success());
    let t = Instant::now();
    wait_for(Duration::from_secs(60), "c5 back once s3 is", || resolve("wordpress") == set(&[C1, C3, C5]));
    println!("s3 back: c5 in the answers after {:?}", t.elapsed());
    wait_for(Duration::from_secs(30), "every endpoint voting again", || fault_tolerance(inv) == 1);
    let c5s: Vec<serde_json::Value> = container_instances(inv).into_iter().filter(|s| s["address"] == C5).collect();
    assert_eq!(c5s.len(), 1, "c5 registered once: {c5s:?}");
    assert_eq!(c5s[0]["nodes"], serde_json::json!(["s3"]), "{c5s:?}");
    wait_for(Duration::from_secs(60), "c5 in the answers once s3's agent is alive again", || {
        resolve("wordpress") == set(&[C1, C3, C5])
    });
    let drift = cli_json(inv, &["services", "--json"]);
    assert_eq!(
        (drift["missing"].as_array().unwrap().len(), drift["stale"].as_array().unwrap().len()),
        (0, 0),
        "{drift}"
    );
}
