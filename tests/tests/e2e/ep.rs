//! Consul endpoints on the lab with a real Consul (built by
//! tests/consul/build-consul.sh and put on PATH by tests/run): the seed's
//! `addep s1 10.0.4.10` -> consul-10, the leader; three endpoints with fault
//! tolerance 1; the leader's container stopped -> another leads within 15 s;
//! delep down to two, and the last but one refused without --force; ACLs
//! (anonymous registration refused), secrets (files 0600, nothing in a
//! trace-level run's output); bad input that changes nothing.
//!
//! The service catalog in the same cluster (one Consul cluster on the lab at
//! a time: every server's DNS forwarder follows one set of endpoints): the
//! seed's pubservice/pubcheck of minio at c5, `services`, DNS through the
//! servers' forwarders from a container, Consul's HTTP API; services and
//! DNS through the leader's loss and a pubservice made meanwhile that the
//! returning endpoint runs; a failing check leaving the answers within its
//! interval plus 2 s; two instances in varying order; an Nginx load
//! balancer on `minio.consul:9000` following a second instance with no
//! command on it.

use flockport_tests::discovery::{answers, consul_on_path, resolve_from, wait_for};
use flockport_tests::{cli, cli_json, cli_ok, lab, lab_inventory_copy, server_lock, Cleanup};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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

/// The instance `name` at `addr` in `services --json`, if listed.
fn instance(inv: &Path, name: &str, addr: &str) -> Option<serde_json::Value> {
    let v = cli_json(inv, &["services", "--json"]);
    v["services"].as_array()?.iter().find(|s| s["name"] == name && s["address"] == addr).cloned()
}

/// The published ad-hoc services in the state file.
fn adhoc_in_state(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("flockport-state.json")).unwrap_or_else(|_| "{}".into());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.get("adhoc").cloned().unwrap_or(serde_json::json!({}))
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
        (vec!["pubservice", "minio", "10.0.7.20:9000"], "addep"),
        (vec!["pubcheck", "minio-check", "tcp", "10.0.7.20:9000"], "addep"),
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

    // The service catalog: bad input first, each naming the value; nothing changes.
    for (args, needle) in [
        (vec!["pubservice", "mi.nio", "10.0.7.20:9000"], "mi.nio"),
        (vec!["pubservice", "mi nio", "10.0.7.20:9000"], "mi nio"),
        (vec!["pubservice", "mi'nio", "10.0.7.20:9000"], "mi'nio"),
        (vec!["pubservice", "minio", "10.0.7.20:70000"], "10.0.7.20:70000"),
        (vec!["pubservice", "minio", "10.0.7.20"], "10.0.7.20"),
        (vec!["pubcheck", "minio-check", "udp", "10.0.7.20:9000"], "udp"),
        (vec!["pubcheck", "minio-check", "http", "ftp://10.0.7.20/"], "ftp://10.0.7.20/"),
        (vec!["pubcheck", "minio-check", "tcp", "10.0.7.20:9000"], "no published service at 10.0.7.20:9000"),
        (vec!["unpubservice", "nope"], "nope"),
        (vec!["unpubcheck", "nope"], "nope"),
    ] {
        let out = cli(inv, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(needle), "{args:?} does not name {needle}");
    }
    assert_eq!(adhoc_in_state(dir.path()), serde_json::json!({}));

    // The seed's pubservice and pubcheck (traced: the token appears nowhere).
    let token = std::fs::read_to_string(dir.path().join("flockport-secrets/consul/management")).unwrap();
    cli_ok(inv, &["pubservice", "minio", "10.0.7.20:9000"]);
    let out = Command::new(flockport_tests::flockport_bin())
        .arg("--config")
        .arg(inv)
        .args(["pubcheck", "minio-check", "tcp", "10.0.7.20:9000", "-v"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(!text.contains(token.trim()), "the management token is in a traced pubcheck's output");
    let took = wait_for(Duration::from_secs(15), "minio-check passing in `services`", || {
        instance(inv, "minio", "10.0.7.20").is_some_and(|i| {
            i["healthy"] == true
                && i["checks"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["name"] == "minio-check" && c["status"] == "passing"))
        })
    });
    println!("minio-check passing in `services` {:.1} s after pubcheck", took.as_secs_f64());
    let table = cli_ok(inv, &["services"]);
    assert!(table.contains("minio") && table.contains("minio-check passing (3/3)"), "{table}");
    // From a container on s2, through its server's forwarder.
    let out = cli_ok(inv, &["exec", "c3", "--", "busybox", "nslookup", "-type=A", "minio.service.consul", "10.0.5.1"]);
    assert_eq!(answers(&out), ["10.0.7.20"], "{out}");
    let body = cli_ok(inv, &["exec", "c3", "--", "busybox", "wget", "-qO-", "http://10.0.7.20:9000/"]);
    assert!(body.contains("c5"), "{body}");
    // Every server forwards the consul domain.
    for (s, gw) in [("s1", "10.0.4.1"), ("s2", "10.0.5.1"), ("s3", "10.0.7.1")] {
        assert_eq!(resolve_from(s, gw, "minio.service.consul"), ["10.0.7.20"], "{s}");
    }
    // SRV records carry the port.
    let out = Command::new("ip")
        .args(["netns", "exec", "s2", "busybox", "nslookup", "-type=SRV", "minio.service.consul", "10.0.5.1"])
        .output()
        .unwrap();
    let srv = String::from_utf8_lossy(&out.stdout);
    assert!(srv.contains(" 9000 "), "{srv}");
    let (code, body) = flockport_tests::http_get("http://10.0.4.10:8500/v1/catalog/services", &[]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"minio\""), "{body}");

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
    // Services and DNS still answer; a pubservice made now is there after the endpoint returns.
    assert!(instance(inv, "minio", "10.0.7.20").is_some_and(|i| i["healthy"] == true));
    wait_for(Duration::from_secs(10), "minio resolving through s2 with the leader down", || {
        resolve_from("s2", "10.0.5.1", "minio.service.consul") == ["10.0.7.20"]
    });
    cli_ok(inv, &["pubservice", "late", "10.0.5.21:9000"]);
    cli_ok(inv, &["startcontainer", &old]);
    let start = Instant::now();
    while listing(inv)["fault_tolerance"].as_u64() != Some(1) {
        assert!(start.elapsed() < Duration::from_secs(60), "{old} did not rejoin: {}", listing(inv));
        std::thread::sleep(Duration::from_millis(500));
    }
    // The returned endpoint's own agent runs it too (its watcher read the KV store).
    wait_for(Duration::from_secs(30), "the returned endpoint running `late`", || {
        instance(inv, "late", "10.0.5.21")
            .is_some_and(|i| i["nodes"].as_array().is_some_and(|n| n.iter().any(|n| n == old.as_str())))
    });
    assert_eq!(resolve_from("s1", "10.0.4.1", "late.service.consul"), ["10.0.5.21"]);
    cli_ok(inv, &["unpubservice", "late"]);
    wait_for(Duration::from_secs(5), "late leaving the answers", || {
        resolve_from("s1", "10.0.4.1", "late.service.consul").is_empty()
    });

    // A check that fails: a listener of this test's own in c5 (its pid recorded), checked every second.
    let start_listener = |inv: &Path| -> String {
        cli_ok(
            inv,
            &["exec", "c5", "--", "sh", "-c", "busybox httpd -f -p 9100 -h /tmp </dev/null >/dev/null 2>&1 & echo $!"],
        )
        .trim()
        .to_string()
    };
    let pid = start_listener(inv);
    cli_ok(inv, &["pubservice", "flaky", "10.0.7.20:9100"]);
    cli_ok(inv, &["pubcheck", "flaky-check", "tcp", "10.0.7.20:9100", "--interval", "1"]);
    wait_for(Duration::from_secs(10), "flaky resolving", || {
        resolve_from("s2", "10.0.5.1", "flaky.service.consul") == ["10.0.7.20"]
    });
    cli_ok(inv, &["exec", "c5", "--", "kill", &pid]);
    let gone = wait_for(Duration::from_secs(10), "flaky leaving the answers", || {
        resolve_from("s2", "10.0.5.1", "flaky.service.consul").is_empty()
    });
    println!("flaky left the answers {:.2} s after its listener stopped (interval 1 s)", gone.as_secs_f64());
    assert!(gone <= Duration::from_millis(3000), "the check interval (1 s) plus 2 s passed: {gone:?}");
    let pid = start_listener(inv);
    wait_for(Duration::from_secs(10), "flaky back in the answers", || {
        resolve_from("s2", "10.0.5.1", "flaky.service.consul") == ["10.0.7.20"]
    });
    cli_ok(inv, &["exec", "c5", "--", "kill", &pid]);
    cli_ok(inv, &["unpubservice", "flaky"]);

    // `addbackends LB minio.consul:9000` on an Nginx load balancer (with c4 as its first
    // backend): requests reach c5 through the name; once c4 is removed, only c5.
    let lock = server_lock("s2");
    let lb = cli_json(
        inv,
        &["addlb", "nginx", "s2", "-n", "consullb", "-u", "minio.test", "-b", "10.0.5.21:9000", "--json"],
    );
    drop(lock);
    let _lb = Cleanup::new(inv, "dellb", "consullb");
    let lb_addr = lb["record"]["address"].as_str().unwrap().to_string();
    let get = || {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                "s2",
                "curl",
                "-s",
                "-m",
                "5",
                "-H",
                "Host: minio.test",
                &format!("http://{lb_addr}/"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    cli_ok(inv, &["addbackends", "consullb", "minio.consul:9000"]);
    let mixed: std::collections::BTreeSet<String> = (0..30).map(|_| get()).collect();
    assert_eq!(mixed, ["c4".to_string(), "c5".to_string()].into(), "both the address and the Consul name serve");
    let lbs = cli_ok(inv, &["listlbs"]);
    assert!(lbs.contains("minio.service.consul:9000 (UP (1 healthy in Consul))"), "{lbs}");
    cli_ok(inv, &["delbackends", "consullb", "10.0.5.21:9000"]);
    for _ in 0..5 {
        assert_eq!(get(), "c5");
    }
    // A second instance under the same name (c3).
    cli_ok(inv, &["pubservice", "minio", "10.0.5.20:9000"]);
    let mut seen = std::collections::BTreeSet::new();
    wait_for(Duration::from_secs(15), "the load balancer reaching the second instance", || {
        seen.insert(get());
        std::thread::sleep(Duration::from_millis(200));
        seen.contains("c3")
    });
    assert!(seen.iter().all(|b| b == "c3" || b == "c5"), "{seen:?}");
    // Both instances in the DNS answers, in varying order.
    let mut orders = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let a = resolve_from("s1", "10.0.4.1", "minio.service.consul");
        assert_eq!(a.len(), 2, "{a:?}");
        orders.insert(a);
    }
    assert_eq!(orders.len(), 2, "one order only in 20 answers: {orders:?}");
    cli_ok(inv, &["unpubcheck", "minio-check"]);
    assert!(instance(inv, "minio", "10.0.7.20").is_some_and(|i| i["checks"].as_array().is_some_and(|c| c.is_empty())));

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
