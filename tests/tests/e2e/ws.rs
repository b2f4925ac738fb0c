//! Webservers on the lab: the seed's walk-through with a real Nginx in a real
//! container publishing apps of all three servers, TLS (given and
//! self-signed), changes under load, and bad input that changes nothing.

use flockport_tests::{cli, cli_json, cli_ok, http_get, lab, lab_inventory_copy, server_lock, Cleanup};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn ws_json(inv: &Path, name: &str) -> serde_json::Value {
    let all = cli_json(inv, &["listws", "--json"]);
    all.as_array().unwrap().iter().find(|w| w["name"] == name).cloned().unwrap_or(serde_json::Value::Null)
}

/// `addws SERVER ARGS...` under the server's lock; the webserver's name and address.
fn add_ws(inv: &Path, server: &str, args: &[&str]) -> (String, String) {
    let lock = server_lock(server);
    let mut argv = vec!["addws", server, "--json"];
    argv.extend(args);
    let a = cli_json(inv, &argv);
    drop(lock);
    let r = &a["record"];
    (r["name"].as_str().unwrap().to_string(), r["address"].as_str().unwrap().to_string())
}

fn get(ip: &str, host: &str) -> (u16, String) {
    http_get(&format!("http://{ip}/"), &["-H", &format!("Host: {host}")])
}

fn netns_curl(ns: &str, args: &[&str]) -> String {
    let out =
        Command::new("ip").args(["netns", "exec", ns, "curl", "-sS", "--max-time", "5"]).args(args).output().unwrap();
    assert!(out.status.success(), "curl from {ns} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn webserver_seed_walkthrough() {
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let (ws, ip) = add_ws(inv, "s1", &[]);
    let _guard = Cleanup::new(inv, "delws", ws.clone());
    assert!(ws.starts_with("nginx"), "generated name: {ws}");
    assert!(ip.starts_with("10.0.4."), "{ip}");
    let listed = cli_ok(inv, &["listws"]);
    assert!(listed.contains(&ws) && listed.contains(&ip), "listws shows it: {listed}");
    assert_eq!(get(&ip, "myminio.org").0, 404, "no app yet");

    // The seed's apps: c3 (s2) on 9000, c5 (s3) on 9000, c1 (s1) by name, c4 (s2) by name.
    cli_ok(inv, &["pubapp", &ws, "myminio.org", "10.0.5.20:9000"]);
    cli_ok(inv, &["pubapp", &ws, "mymattermost.app", "10.0.7.20:9000"]);
    cli_ok(inv, &["pubapp", &ws, "mywordpress.org", "c1.app:80"]);
    cli_ok(inv, &["pubapp", &ws, "myblog.org", "c4.app:80"]);
    for (host, body) in
        [("myminio.org", "c3"), ("mymattermost.app", "c5"), ("mywordpress.org", "c1"), ("myblog.org", "c4")]
    {
        assert_eq!(get(&ip, host), (200, body.to_string()), "{host}");
    }
    let w = ws_json(inv, &ws);
    assert_eq!(w["apps"]["mywordpress.org"]["upstream"]["container"], "c1", "{w}");
    assert_eq!(w["apps"]["myblog.org"]["upstream"]["host"], "10.0.5.21", "c4's address: {w}");
    let health = w["health"].as_array().unwrap();
    assert_eq!(health.len(), 4);
    assert!(health.iter().all(|h| h["health"] == "UP"), "{w}");
    let table = cli_ok(inv, &["listws"]);
    assert!(table.contains("c1.app:80 (10.0.4.20:80)") && table.contains("UP"), "{table}");

    // addhosts into a file, then a request through that entry (--resolve).
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let f = hosts.display().to_string();
    cli_ok(inv, &["addhosts", "myminio.org", &ip, "--file", &f]);
    cli_ok(inv, &["addhosts", "myminio.org", &ip, "--file", &f]);
    let text = std::fs::read_to_string(&hosts).unwrap();
    assert!(text.starts_with("127.0.0.1 localhost\n"), "{text}");
    let entries: Vec<&str> = text.lines().filter(|l| l.ends_with("myminio.org")).collect();
    assert_eq!(entries.len(), 1, "idempotent: {text}");
    let addr = entries[0].split_whitespace().next().unwrap();
    let (code, body) = http_get("http://myminio.org/", &["--resolve", &format!("myminio.org:80:{addr}")]);
    assert_eq!((code, body.as_str()), (200, "c3"));

    // pub s1:WS 80: from s2, s1's LAN address with Host myminio.org reaches c3's 9000.
    cli_ok(inv, &["pub", &format!("s1:{ws}"), "80"]);
    let body = netns_curl("s2", &["-H", "Host: myminio.org", "http://192.168.122.11:80/"]);
    assert_eq!(body, "c3");
    assert_eq!(ws_json(inv, &ws)["published"], serde_json::json!([{"host_port": 80, "port": 80}]));

    // delapp: that name now gets 404, the others still answer.
    cli_ok(inv, &["delapp", &ws, "myminio.org"]);
    assert_eq!(get(&ip, "myminio.org").0, 404);
    assert_eq!(get(&ip, "mymattermost.app"), (200, "c5".into()));
    assert_eq!(get(&ip, "mywordpress.org"), (200, "c1".into()));
    cli_ok(inv, &["delhosts", "myminio.org", "--file", &f]);
    assert_eq!(std::fs::read_to_string(&hosts).unwrap(), "127.0.0.1 localhost\n");

    cli_ok(inv, &["delws", &ws]);
    assert!(ws_json(inv, &ws).is_null());
    let containers = cli_json(inv, &["listcontainers", "s1", "--json"]);
    assert!(containers.as_array().unwrap().iter().all(|c| c["name"] != ws.as_str()), "container left behind");
    let rules = Command::new("ip").args(["netns", "exec", "s1", "iptables", "-w", "-t", "nat", "-S"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&rules.stdout).contains(&format!("flockport:{ws}:")), "forward left behind");
}

#[test]
fn webserver_tls_given_and_self_signed() {
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let name = "nginx100".to_string();
    let (ws, ip) = add_ws(inv, "s1", &["-n", &name]);
    let _guard = Cleanup::new(inv, "delws", ws.clone());
    assert_eq!(ws, name, "-n names it");

    // -c/-k: a certificate made by the test, verified by curl on 443.
    let ck = rcgen::generate_simple_self_signed(vec!["myminio.org".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let (c, k) = (cert.display().to_string(), key.display().to_string());
    cli_ok(inv, &["pubapp", &ws, "myminio.org", "10.0.5.20:9000", "-c", &c, "-k", &k]);
    let resolve = format!("myminio.org:443:{ip}");
    let (code, body) = http_get("https://myminio.org/", &["--cacert", &c, "--resolve", &resolve]);
    assert_eq!((code, body.as_str()), (200, "c3"), "verified against the given certificate");
    // Port 80 redirects to https.
    let (code, _) = get(&ip, "myminio.org");
    assert_eq!(code, 301);
    let loc = Command::new("curl")
        .args(["-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{redirect_url}", "-H", "Host: myminio.org"])
        .arg(format!("http://{ip}/x?y=1"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&loc.stdout), "https://myminio.org/x?y=1");

    // -s: a self-signed certificate whose subject is the URL.
    cli_ok(inv, &["pubapp", &ws, "mywordpress.org", "c1.app:80", "-s"]);
    let out = Command::new("curl")
        .args(["-sS", "-v", "-k", "--max-time", "5", "--resolve", &format!("mywordpress.org:443:{ip}")])
        .arg("https://mywordpress.org/")
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "c1");
    assert!(verbose.contains("subject: CN=mywordpress.org"), "{verbose}");
    let w = ws_json(inv, &ws);
    assert_eq!(w["apps"]["mywordpress.org"]["tls"]["source"], "self-signed", "{w}");
    assert_eq!(w["apps"]["myminio.org"]["tls"]["source"], "given", "{w}");
    assert!(w["apps"]["mywordpress.org"]["tls"]["not_after"].as_str().unwrap().contains("GMT"), "{w}");
    // Keys in the container are 0600, only in use ones are kept, and none is in the state file.
    let ls = cli_ok(inv, &["exec", &ws, "--", "sh", "-c", "stat -c '%a %n' /etc/nginx/flockport/tls/*"]);
    let keys: Vec<&str> = ls.lines().filter(|l| l.ends_with(".key")).collect();
    assert_eq!(keys.len(), 2, "{ls}");
    assert!(keys.iter().all(|l| l.starts_with("600 ")), "{ls}");
    let state = std::fs::read_to_string(dir.path().join("flockport-state.json")).unwrap();
    assert!(!state.contains("PRIVATE KEY"), "a key in the state");
    // delapp removes that app's certificate too; the other app still answers.
    cli_ok(inv, &["delapp", &ws, "mywordpress.org"]);
    let ls = cli_ok(inv, &["exec", &ws, "--", "ls", "/etc/nginx/flockport/tls"]);
    assert_eq!(ls.split_whitespace().count(), 2, "only myminio.org's pair is left: {ls}");
    let (code, _) = http_get("https://myminio.org/", &["--cacert", &c, "--resolve", &resolve]);
    assert_eq!(code, 200);
}

/// wrk against `url` with a Host header, its default keep-alive
/// connections, for at most `secs` (the test stops it sooner, [`Wrk::stop`];
/// a test that fails before kills it): a change reloads only the back Nginx,
/// whose closed idle connections the front retries, so no client connection
/// is cut (ARCHITECTURE.md, "Webservers").
struct Wrk(std::process::Child);

impl Wrk {
    fn start(url: &str, host: &str, secs: u32) -> Wrk {
        let child = Command::new("wrk")
            .args(["-t2", "-c16", "--timeout", "10s", &format!("-d{secs}s"), "-H", &format!("Host: {host}"), url])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        Wrk(child)
    }

    /// Stops it (SIGINT: wrk prints its results) and returns its output;
    /// fails when it had already ended (it did not run during every change).
    fn stop(mut self) -> String {
        assert!(self.0.try_wait().unwrap().is_none(), "wrk ended before the last change: the test proves less");
        let pid = self.0.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success(), "kill -INT {pid}");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut self.0.stdout.take().unwrap(), &mut text).unwrap();
        self.0.wait().unwrap();
        text
    }
}

impl Drop for Wrk {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn webserver_publishes_and_removes_apps_under_load_without_an_error() {
    let Some(lab) = lab() else { return };
    if Command::new("wrk").arg("-v").output().is_err() {
        assert!(!flockport_tests::required(), "wrk is missing (apt-get install wrk)");
        println!("SKIP: wrk is not installed");
        return;
    }
    let (_dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let (ws, ip) = add_ws(inv, "s2", &["-n", &format!("ws-load-{}", std::process::id())]);
    let _guard = Cleanup::new(inv, "delws", ws.clone());
    cli_ok(inv, &["pubapp", &ws, "steady.org", "10.0.5.20:80"]);
    let load = Wrk::start(&format!("http://{ip}/"), "steady.org", 120);
    std::thread::sleep(Duration::from_millis(500));
    let ups = ["10.0.4.20:80", "10.0.5.21:9000", "10.0.7.20:80", "c4.app:80"];
    for i in 0..20 {
        cli_ok(inv, &["pubapp", &ws, &format!("app{i}.org"), ups[i % ups.len()]]);
    }
    for i in 0..20 {
        cli_ok(inv, &["delapp", &ws, &format!("app{i}.org")]);
    }
    std::thread::sleep(Duration::from_millis(500));
    let text = load.stop();
    println!("{text}");
    let requests: u64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(requests > 100, "wrk made too few requests: {text}");
    assert!(!text.contains("Non-2xx"), "non-2xx answers for the untouched app: {text}");
    assert!(!text.contains("Socket errors"), "socket errors for the untouched app: {text}");
    assert_eq!(ws_json(inv, &ws)["apps"].as_object().map(|a| a.len()), Some(1));
}

/// The state file, the webserver's live config tree and the hosts file.
fn snapshot(inv: &Path, ws: &str, hosts: &Path) -> (Vec<u8>, String, Vec<u8>) {
    let state = std::fs::read(inv.parent().unwrap().join("flockport-state.json")).unwrap();
    let tree = cli_ok(
        inv,
        &[
            "exec",
            ws,
            "--",
            "sh",
            "-c",
            "cd /etc/nginx && for f in nginx.conf $(find flockport -type f | sort); do echo \"== $f\"; cat \"$f\"; done",
        ],
    );
    (state, tree, std::fs::read(hosts).unwrap())
}

#[test]
fn webserver_bad_input_changes_nothing() {
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let (ws, ip) = add_ws(inv, "s3", &["-n", &format!("ws-bad-{}", std::process::id())]);
    let _guard = Cleanup::new(inv, "delws", ws.clone());
    cli_ok(inv, &["pubapp", &ws, "myminio.org", "10.0.7.20:9000"]);
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let f = hosts.display().to_string();
    cli_ok(inv, &["addhosts", "myminio.org", &ip, "--file", &f]);
    let (cert, key, other) = (dir.path().join("c.pem"), dir.path().join("k.pem"), dir.path().join("o.pem"));
    let ck = rcgen::generate_simple_self_signed(vec!["x.org".to_string()]).unwrap();
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let o = rcgen::generate_simple_self_signed(vec!["y.org".to_string()]).unwrap();
    std::fs::write(&other, o.key_pair.serialize_pem()).unwrap();
    // Root reads any file whatever its mode: a directory is what cannot be read here.
    let unreadable = dir.path().join("unreadable.pem");
    std::fs::create_dir(&unreadable).unwrap();
    let (c, k, o, u) = (
        cert.display().to_string(),
        key.display().to_string(),
        other.display().to_string(),
        unreadable.display().to_string(),
    );
    let before = snapshot(inv, &ws, &hosts);
    let dup = ws.clone();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["addws", "s9"], "s9"),
        (vec!["addws", "s1", "-n", &dup], &dup),
        (vec!["pubapp", "nope", "x.org", "10.0.7.20:80"], "nope"),
        (vec!["pubapp", &ws, "my minio.org", "10.0.7.20:80"], "my minio.org"),
        (vec!["pubapp", &ws, "a\nb.org", "10.0.7.20:80"], "url"),
        (vec!["pubapp", &ws, "a;b.org", "10.0.7.20:80"], "a;b.org"),
        (vec!["pubapp", &ws, "a{b.org", "10.0.7.20:80"], "a{b.org"),
        (vec!["pubapp", &ws, "a'b.org", "10.0.7.20:80"], "a'b.org"),
        (vec!["pubapp", &ws, "myminio.org", "10.0.7.20:80"], "myminio.org"),
        (vec!["pubapp", &ws, "x.org", "10.0.7.256:80"], "10.0.7.256"),
        (vec!["pubapp", &ws, "x.org", "10.0.7.20:99999"], "99999"),
        (vec!["pubapp", &ws, "x.org", "ghost.app:80"], "ghost"),
        (vec!["pubapp", &ws, "x.org", "10.0.7.20:80", "-s", "-c", &c, "-k", &k], "-s"),
        (vec!["pubapp", &ws, "x.org", "10.0.7.20:80", "-c", &c], "-k KEY"),
        (vec!["pubapp", &ws, "x.org", "10.0.7.20:80", "-c", "/nonexistent.pem", "-k", &k], "/nonexistent.pem"),
        (vec!["pubapp", &ws, "x.org", "10.0.7.20:80", "-c", &u, "-k", &k], "unreadable.pem"),
        (vec!["pubapp", &ws, "x.org", "10.0.7.20:80", "-c", &c, "-k", &o], "does not match"),
        (vec!["delapp", &ws, "other.org"], "other.org"),
        (vec!["delapp", "nope", "myminio.org"], "nope"),
        (vec!["addhosts", "myminio.org", "10.0.7.300", "--file", &f], "10.0.7.300"),
        (vec!["addhosts", "my;minio.org", "10.0.7.3", "--file", &f], "my;minio.org"),
        (vec!["delhosts", "other.org", "--file", &f], "other.org"),
    ];
    for (args, needle) in &cases {
        let out = cli(inv, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: the error does not name {needle:?}: {err}");
    }
    assert_eq!(snapshot(inv, &ws, &hosts), before, "bad input changed the state, the config or the hosts file");
    assert_eq!(get(&ip, "myminio.org"), (200, "c5".into()));
}
