//! Load balancers on the lab: the seed's walk-through with real HAProxy and
//! Nginx, changes under load, and bad input that must change nothing.

use flockport_tests::{cli, cli_json, cli_ok, http_get, lab, lab_inventory_copy, server_lock, Cleanup, TinyDns};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn lb_json(inv: &Path, name: &str) -> serde_json::Value {
    let all = cli_json(inv, &["listlbs", "--json"]);
    all.as_array().unwrap().iter().find(|l| l["name"] == name).cloned().unwrap_or(serde_json::Value::Null)
}

fn lb_address(inv: &Path, name: &str) -> String {
    lb_json(inv, name)["address"].as_str().unwrap().to_string()
}

/// Polls listlbs until every backend of `name` is UP (10 s at most).
fn wait_healthy(inv: &Path, name: &str) {
    let start = Instant::now();
    loop {
        let lb = lb_json(inv, name);
        let health = lb["health"].as_array().unwrap();
        if !health.is_empty() && health.iter().all(|h| h["health"] == "UP") {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "backends of {name} not UP: {lb}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn counts(url: &str, n: usize, extra: &[&str]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for _ in 0..n {
        let (code, body) = http_get(url, extra);
        assert_eq!(code, 200, "{url}: {body}");
        *m.entry(body).or_insert(0) += 1;
    }
    m
}

fn netns_curl(ns: &str, url: &str) -> String {
    let out = Command::new("ip").args(["netns", "exec", ns, "curl", "-sS", "--max-time", "5", url]).output().unwrap();
    assert!(out.status.success(), "curl from {ns} to {url}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn iptables_rules(ns: &str) -> String {
    let out = Command::new("ip").args(["netns", "exec", ns, "iptables", "-w", "-t", "nat", "-S"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn haproxy_seed_walkthrough() {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let lock = server_lock("s1");
    cli_ok(inv, &["addlb", "haproxy", "s1", "-n", "ha1"]);
    drop(lock);
    let _guard = Cleanup::new(inv, "dellb", "ha1");
    let lb = lb_json(inv, "ha1");
    assert_eq!(lb["kind"], "haproxy");
    assert_eq!(lb["server"], "s1");
    assert_eq!(lb["mode"], "roundrobin");
    let ip = lb_address(inv, "ha1");
    assert!(ip.starts_with("10.0.4."), "{ip}");

    cli_ok(inv, &["addbackends", "ha1", "web1:10.0.4.20:80", "web2:10.0.5.20:80", "web3:10.0.7.20:80"]);
    wait_healthy(inv, "ha1");
    let url = format!("http://{ip}/");
    let c = counts(&url, 30, &[]);
    assert_eq!(c.keys().cloned().collect::<Vec<_>>(), ["c1", "c3", "c5"], "{c:?}");
    assert!(c.values().all(|n| (6..=14).contains(n)), "about even: {c:?}");

    cli_ok(inv, &["setlb", "ha1", "mode", "source"]);
    let c = counts(&url, 10, &[]);
    assert_eq!(c.len(), 1, "one client, one backend: {c:?}");
    cli_ok(inv, &["setlb", "ha1", "mode", "leastconn"]);
    assert_eq!(lb_json(inv, "ha1")["mode"], "leastconn");
    let text = cli_ok(inv, &["listlbs"]);
    assert!(text.contains("leastconn") && text.contains("web1:10.0.4.20:80 (UP)"), "{text}");

    cli_ok(inv, &["delbackends", "ha1", "web2"]);
    let c = counts(&url, 20, &[]);
    assert!(!c.contains_key("c3"), "web2 (c3) still answers: {c:?}");
    // A restart keeps the runtime changes: they were written to the config.
    let cfg = cli_ok(inv, &["exec", "ha1", "--", "cat", "/etc/haproxy/haproxy.cfg"]);
    assert!(cfg.contains("server web1 10.0.4.20:80") && !cfg.contains("web2"), "{cfg}");

    cli_ok(inv, &["pub", "s1:ha1", "80"]);
    assert_eq!(lb_json(inv, "ha1")["published"], serde_json::json!([{"host_port": 80, "port": 80}]));
    let body = netns_curl("s2", "http://192.168.122.11:80/");
    assert!(body == "c1" || body == "c5", "via s1's host address from s2: {body}");
    let out = cli(inv, &["pub", "s1:ha1", "80"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("s1:80"));
    // unpub removes the forward (and its record); pub puts it back for dellb to remove.
    cli_ok(inv, &["unpub", "s1:ha1", "80"]);
    assert_eq!(lb_json(inv, "ha1")["published"], serde_json::json!([]));
    assert!(!iptables_rules("s1").contains("flockport:ha1:80"), "{}", iptables_rules("s1"));
    cli_ok(inv, &["pub", "s1:ha1", "80"]);
    assert!(iptables_rules("s1").contains("flockport:ha1:80"));
    // `listlb` is the documentation's alias of listlbs.
    assert!(cli_ok(inv, &["listlb"]).contains("ha1"));

    cli_ok(inv, &["dellb", "ha1"]);
    assert!(lb_json(inv, "ha1").is_null());
    let containers = cli_json(inv, &["listcontainers", "s1", "--json"]);
    assert!(containers.as_array().unwrap().iter().all(|c| c["name"] != "ha1"));
    assert!(!iptables_rules("s1").contains("flockport:ha1"), "forward left behind");
}

/// A self-signed certificate and its key, written to `dir`.
fn make_cert(dir: &Path, host: &str) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec![host.to_string()]).unwrap();
    let c = dir.join(format!("{host}.crt"));
    let k = dir.join(format!("{host}.key"));
    std::fs::write(&c, ck.cert.pem()).unwrap();
    std::fs::write(&k, ck.key_pair.serialize_pem()).unwrap();
    (c.display().to_string(), k.display().to_string())
}

#[test]
fn nginx_seed_walkthrough_with_tls() {
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let (cert, key) = make_cert(dir.path(), "mywordpress.org");
    let lock = server_lock("s1");
    cli_ok(
        inv,
        &[
            "addlb",
            "nginx",
            "s1",
            "-u",
            "mywordpress.org",
            "-b",
            "10.0.4.20:80",
            "-c",
            &cert,
            "-k",
            &key,
            "-n",
            "nginxlb-10",
        ],
    );
    drop(lock);
    let _guard = Cleanup::new(inv, "dellb", "nginxlb-10");
    let ip = lb_address(inv, "nginxlb-10");
    let resolve = format!("mywordpress.org:443:{ip}");
    let (code, body) = http_get("https://mywordpress.org/", &["-k", "--resolve", &resolve]);
    if code == 0 {
        let sh = |ns: &str, cmd: &str| {
            let o = Command::new("ip").args(["netns", "exec", ns, "sh", "-c", cmd]).output().unwrap();
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        };
        let diag = format!(
            "neigh:\n{}\nfdb:\n{}\ncontainers:\n{}\nconntrack:\n{}\nretry: {:?}",
            sh("s1", "ip neigh"),
            sh("s1", "bridge fdb show br lxcbr0 | grep -v permanent"),
            sh("s1", "lxc-ls -f"),
            sh("s1", &format!("cat /proc/net/nf_conntrack 2>/dev/null | grep {ip} | head")),
            http_get("https://mywordpress.org/", &["-k", "--resolve", &resolve]),
        );
        panic!("first HTTPS request to {ip} failed: {body}\n{diag}");
    }
    assert_eq!((code, body.as_str()), (200, "c1"));
    let host = ["-H", "Host: mywordpress.org"];
    let url = format!("http://{ip}/");

    cli_ok(inv, &["addbackends", "nginxlb-10", "10.0.5.20:80", "10.0.7.20:80"]);
    let c = counts(&url, 30, &host);
    assert_eq!(c.keys().cloned().collect::<Vec<_>>(), ["c1", "c3", "c5"], "{c:?}");
    cli_ok(inv, &["delbackends", "nginxlb-10", "10.0.4.20:80"]);
    let c = counts(&url, 20, &host);
    assert!(!c.contains_key("c1"), "{c:?}");

    cli_ok(inv, &["setlb", "nginxlb-10", "mode", "ip_hash"]);
    let c = counts(&url, 10, &host);
    assert_eq!(c.len(), 1, "ip_hash keeps a client on one backend: {c:?}");

    cli_ok(inv, &["setlb", "nginxlb-10", "url", "other.org"]);
    let (code, _) = http_get(&url, &["-H", "Host: other.org"]);
    assert_eq!(code, 200);
    let (code, _) = http_get(&url, &host);
    assert_eq!(code, 404, "the old name is no longer served");
    let lb = lb_json(inv, "nginxlb-10");
    assert_eq!(lb["url"], "other.org");
    assert!(lb["health"].as_array().unwrap().iter().all(|h| h["health"] == "UP"), "{lb}");

    // setlb ssl: the new certificate is the one served (curl verifies it against it).
    let (cert2, key2) = make_cert(dir.path(), "other.org");
    cli_ok(inv, &["setlb", "nginxlb-10", "ssl", &cert2, &key2]);
    let resolve = format!("other.org:443:{ip}");
    let (code, _) = http_get("https://other.org/", &["--cacert", &cert2, "--resolve", &resolve]);
    assert_eq!(code, 200, "the new certificate is served for other.org");
    // Only the current certificate's material stays in the container: the old key is gone.
    let fp = lb_json(inv, "nginxlb-10")["tls"].as_str().unwrap().to_string();
    let files = cli_ok(inv, &["exec", "nginxlb-10", "--", "ls", "/etc/nginx/ssl"]);
    let mut files: Vec<&str> = files.split_whitespace().collect();
    files.sort();
    assert_eq!(files, [format!("{fp}.crt"), format!("{fp}.key")], "old TLS files left behind");
    // setlb workers: Nginx runs that many worker processes.
    cli_ok(inv, &["setlb", "nginxlb-10", "workers", "2"]);
    let conf = cli_ok(inv, &["exec", "nginxlb-10", "--", "cat", "/etc/nginx/nginx.conf"]);
    assert!(conf.contains("worker_processes 2;"), "{conf}");
    assert_eq!(lb_json(inv, "nginxlb-10")["workers"], 2);
    let (code, _) = http_get(&url, &["-H", "Host: other.org"]);
    assert_eq!(code, 200);
    cli_ok(inv, &["dellb", "nginxlb-10"]);
}

/// wrk for `secs` against `url`; returns (requests, non-2xx, socket errors).
fn wrk(url: &str, secs: u32) -> std::process::Child {
    Command::new("wrk")
        .args(["-t2", "-c16", "--timeout", "10s", &format!("-d{secs}s"), "--latency", url])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn wrk_result(child: std::process::Child) -> (u64, u64, u64, String) {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let num = |prefix: &str| -> u64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().parse().unwrap_or(u64::MAX)))
            .unwrap_or(0)
    };
    let requests = text
        .lines()
        .find_map(|l| {
            l.split_whitespace().next().and_then(|n| l.contains("requests in").then(|| n.parse().ok()).flatten())
        })
        .unwrap_or(0);
    let non2xx = num("Non-2xx or 3xx responses:");
    let socket = text
        .lines()
        .find(|l| l.contains("Socket errors:"))
        .map(|l| l.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    (requests, non2xx, socket, text)
}

#[test]
fn haproxy_changes_under_load() {
    let Some(lab) = lab() else { return };
    if Command::new("wrk").arg("-v").output().is_err() {
        assert!(!flockport_tests::required(), "wrk is missing (apt-get install wrk)");
        println!("SKIP: wrk is not installed");
        return;
    }
    let (_dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let lb = format!("ha-load-{}", std::process::id());
    let lb = lb.as_str();
    let lock = server_lock("s2");
    cli_ok(inv, &["addlb", "haproxy", "s2", "-n", lb, "-b", "base:10.0.5.20:80"]);
    drop(lock);
    let _guard = Cleanup::new(inv, "dellb", lb);
    wait_healthy(inv, lb);
    let url = format!("http://{}/", lb_address(inv, lb));
    let apps = ["10.0.4.20", "10.0.4.21", "10.0.5.21", "10.0.7.20"];

    // 20 backends added and removed through the runtime API while wrk runs.
    let load = wrk(&url, 12);
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..20 {
        let b = format!("b{i}:{}:{}", apps[i % apps.len()], if i % 2 == 0 { 80 } else { 9000 });
        cli_ok(inv, &["addbackends", lb, &b]);
    }
    for i in 0..10 {
        cli_ok(inv, &["delbackends", lb, &format!("b{i}")]);
    }
    // The other ten in one call: drained together, one wait for all.
    let rest: Vec<String> = (10..20).map(|i| format!("b{i}")).collect();
    let mut args = vec!["delbackends", lb];
    args.extend(rest.iter().map(String::as_str));
    let t0 = std::time::Instant::now();
    cli_ok(inv, &args);
    println!("delbackends of 10 backends in one call: {:?}", t0.elapsed());
    let (requests, non2xx, socket, text) = wrk_result(load);
    println!("{text}");
    assert!(requests > 100, "wrk made too few requests: {text}");
    assert_eq!((non2xx, socket), (0, 0), "runtime API changes under load: {text}");
    // Gone from the state and from the running HAProxy (its own server list).
    let backends = lb_json(inv, lb)["backends"].clone();
    assert_eq!(backends.as_array().map(Vec::len), Some(1), "only base is left: {backends}");
    let stat = cli_ok(
        inv,
        &[
            "exec",
            lb,
            "--",
            "sh",
            "-c",
            "printf 'show stat\\n' | socat -t 5 stdio unix-connect:/run/haproxy/admin.sock",
        ],
    );
    assert!(stat.contains(",base,"), "show stat lists the remaining backend: {stat}");
    assert!(!stat.lines().any(|l| l.split(',').nth(1).is_some_and(|n| n.starts_with('b') && n != "base")), "{stat}");

    // Mode changes (setlb mode) under load: a run-time switch, no reload.
    let load = wrk(&url, 8);
    std::thread::sleep(Duration::from_millis(500));
    for mode in ["leastconn", "source", "roundrobin", "leastconn", "source", "roundrobin"] {
        cli_ok(inv, &["setlb", lb, "mode", mode]);
        assert_eq!(lb_json(inv, lb)["mode"], mode);
        std::thread::sleep(Duration::from_millis(300));
    }
    let (requests, non2xx, socket, text) = wrk_result(load);
    println!("{text}");
    assert!(requests > 100, "{text}");
    assert_eq!((non2xx, socket), (0, 0), "setlb mode under load: {text}");

    // A change that needs a real reload (workers): checked first, then a
    // master-worker reload with the listeners handed over; the old worker
    // answers its keep-alive connections' next request with "Connection:
    // close" (option idle-close-on-response) rather than closing them idle.
    let load = wrk(&url, 8);
    std::thread::sleep(Duration::from_millis(500));
    for n in [2, 1, 2, 1] {
        cli_ok(inv, &["setlb", lb, "workers", &n.to_string()]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let (requests, non2xx, socket, text) = wrk_result(load);
    println!("{text}");
    assert!(requests > 100, "{text}");
    assert_eq!((non2xx, socket), (0, 0), "reloads under load: {text}");
}

#[test]
fn nginx_dns_backend_through_resolvers() {
    let Some(lab) = lab() else { return };
    // The lab's resolver: the host's end of lab0 answers app3.lab -> c3.
    let dns = match TinyDns::start("192.168.122.1:53", &[("app3.lab", std::net::Ipv4Addr::new(10, 0, 5, 20))]) {
        Ok(d) => d,
        Err(e) => {
            assert!(!flockport_tests::required(), "cannot serve DNS on 192.168.122.1:53 for the test: {e}");
            println!("SKIP: cannot serve DNS on 192.168.122.1:53: {e}");
            return;
        }
    };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let lb = format!("nginx-dns-{}", std::process::id());
    let lb = lb.as_str();
    let lock = server_lock("s1");
    cli_ok(inv, &["addlb", "nginx", "s1", "-u", "dns.example", "-b", "10.0.4.20:80", "-n", lb]);
    drop(lock);
    let _guard = Cleanup::new(inv, "dellb", lb);
    cli_ok(inv, &["setlb", lb, "resolvers", "192.168.122.1"]);
    assert_eq!(lb_json(inv, lb)["resolvers"], serde_json::json!(["192.168.122.1"]));

    // A backend given by name is resolved through the LB's resolvers.
    cli_ok(inv, &["addbackends", lb, "app3.lab:80"]);
    assert!(dns.answered.load(std::sync::atomic::Ordering::Relaxed) > 0, "nginx never asked the LB's resolver");
    let url = format!("http://{}/", lb_address(inv, lb));
    let host = ["-H", "Host: dns.example"];
    let c = counts(&url, 20, &host);
    assert_eq!(c.keys().cloned().collect::<Vec<_>>(), ["c1", "c3"], "{c:?}");

    // A name the resolvers do not know: nginx -t refuses the config, the old
    // one keeps running, the container's resolv.conf and the state are unchanged.
    let state = dir.path().join("flockport-state.json");
    let snapshot = || {
        (
            std::fs::read(&state).unwrap(),
            cli_ok(inv, &["exec", lb, "--", "cat", "/etc/nginx/flockport/lb.conf", "/etc/resolv.conf"]),
        )
    };
    let before = snapshot();
    let out = cli(inv, &["addbackends", lb, "nosuch.lab:80"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an unresolvable backend must be refused");
    assert!(err.contains("nosuch.lab"), "the error should name the backend: {err}");
    assert_eq!(snapshot(), before, "a refused config changed something");
    assert!(before.1.contains("nameserver 192.168.122.1"), "{}", before.1);
    // Resolvers that cannot resolve the backends (none listens on the container's
    // own loopback): refused, and the container keeps its previous resolv.conf.
    let out = cli(inv, &["setlb", lb, "resolvers", "127.0.0.1"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the new configuration"));
    assert_eq!(snapshot(), before, "a refused resolvers change changed something");
    let c = counts(&url, 10, &host);
    assert_eq!(c.keys().cloned().collect::<Vec<_>>(), ["c1", "c3"], "{c:?}");

    cli_ok(inv, &["delbackends", lb, "app3.lab:80"]);
    let c = counts(&url, 10, &host);
    assert_eq!(c.keys().cloned().collect::<Vec<_>>(), ["c1"], "{c:?}");
}

#[test]
fn lb_bad_input_changes_nothing() {
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let state = dir.path().join("flockport-state.json");
    let lock = server_lock("s3");
    cli_ok(inv, &["addlb", "haproxy", "s3", "-n", "ha-bad", "-b", "web1:10.0.7.20:80"]);
    drop(lock);
    let _guard = Cleanup::new(inv, "dellb", "ha-bad");
    cli_ok(inv, &["pub", "ha-bad", "8080"]);
    let (cert, key) = make_cert(dir.path(), "a.example");
    let (cert2, _) = make_cert(dir.path(), "b.example");
    let snapshot = || {
        let s = std::fs::read(&state).unwrap();
        let cfg = cli_ok(inv, &["exec", "ha-bad", "--", "cat", "/etc/haproxy/haproxy.cfg"]);
        (s, cfg, iptables_rules("s3"))
    };
    let before = snapshot();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["addlb", "traefik", "s3"], "traefik"),
        (vec!["addlb", "haproxy", "s9"], "s9"),
        (vec!["addbackends", "nosuch", "web2:10.0.7.20:80"], "nosuch"),
        (vec!["addbackends", "ha-bad", "10.0.7.20:80"], "10.0.7.20:80"),
        (vec!["addbackends", "ha-bad", "web2:10.0.7.300:80"], "10.0.7.300"),
        (vec!["addbackends", "ha-bad", "web2:10.0.7.20:99999"], "99999"),
        (vec!["addbackends", "ha-bad", "web1:10.0.7.20:9000"], "web1"),
        (vec!["addlb", "nginx", "s3", "-b", "10.0.7.20:80"], "-u URL"),
        (vec!["addlb", "nginx", "s3", "-u", "x.org"], "-b BACKEND"),
        (vec!["setlb", "ha-bad", "mode", "ip_hash"], "ip_hash"),
        (vec!["addlb", "haproxy", "s3", "-n", "ha-bad"], "ha-bad"),
        (vec!["delbackends", "ha-bad", "web9"], "web9"),
        (vec!["setlb", "ha-bad", "ssl", "/nonexistent/cert.pem", &key], "/nonexistent/cert.pem"),
        (vec!["setlb", "ha-bad", "ssl", &cert2, &key], "does not match"),
        (
            vec!["addlb", "nginx", "s3", "-u", "x.org", "-b", "10.0.7.20:80", "-c", &cert, "-k", &key, "-n", "n;rm"],
            "n;rm",
        ),
        (vec!["pub", "ha-bad", "8080"], "s3:8080"),
        (vec!["setlb", "ha-bad", "workers", "0"], "\"0\""),
    ];
    for (args, names) in cases {
        let out = cli(inv, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err.contains(names), "{args:?}: the error should name {names:?}: {err}");
        assert_eq!(snapshot(), before, "{args:?} changed state, config or forwards");
    }
    cli_ok(inv, &["dellb", "ha-bad"]);
    assert!(!iptables_rules("s3").contains("flockport:ha-bad"));
}
