//! Floating IPs on the lab: real keepalived (Debian's) on the server
//! namespaces, a client on a third server probing the address every 10 ms
//! (`tests/lab/vip-probe`), and failures injected for real: keepalived
//! killed with SIGKILL, the master's LAN link set down, a graceful stop, a
//! tracked service stopped. Every test holds the `vip` lock (they share the
//! servers' keepalived), uses addresses 192.168.122.100-120, and leaves the
//! lab clean on failure too (guards that delvip, restore links, stop
//! responders).

use flockport_tests::{cli, cli_json, cli_ok, lab, lab_inventory_copy, server_lock, workspace_root, ConnectionCounter};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LAB_BASE: &str = "/var/lib/flockport-lab";
/// Where the lab binds each server's /var/lib/flockport.
fn run_dir(server: &str) -> PathBuf {
    PathBuf::from(format!("{LAB_BASE}/{server}/flockport/keepalived"))
}
/// Where the lab binds each server's /etc/keepalived.
fn etc_dir(server: &str) -> PathBuf {
    PathBuf::from(format!("{LAB_BASE}/{server}/keepalived"))
}

/// Removes a floating IP when the test ends, even on failure.
struct DelVip(PathBuf, String);
impl Drop for DelVip {
    fn drop(&mut self) {
        let out = Command::new(flockport_tests::flockport_bin())
            .arg("--config")
            .arg(&self.0)
            .args(["delvip", &self.1])
            .output();
        if let Ok(o) = out {
            if !o.status.success() && !String::from_utf8_lossy(&o.stderr).contains("not found") {
                println!("cleanup: delvip {} failed: {}", self.1, String::from_utf8_lossy(&o.stderr));
            }
        }
    }
}

/// A small HTTP responder in a server's network namespace (busybox httpd
/// serving the server's name), killed by its pid when dropped.
struct Responder {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Responder {
    fn start(server: &str, port: u16) -> Responder {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), format!("{server}\n")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", server, "busybox", "httpd", "-f", "-p", &format!("0.0.0.0:{port}"), "-h"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // `ip netns exec` execs: the pid is httpd's own.
        let r = Responder { child, _dir: dir };
        let addr = lan(server);
        wait_for(&format!("{server}'s responder on {port}"), Duration::from_secs(5), || {
            netns_sh(server, &format!("timeout 1 bash -c ': </dev/tcp/{addr}/{port}'")).status.success()
        });
        r
    }
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sets a server's LAN link down; restores it (and the routes the lab gives
/// it, which the kernel dropped with the link) when dropped.
struct LinkDown(&'static str);
impl LinkDown {
    fn restore(&self) {
        let s = self.0;
        let _ = Command::new("ip").args(["-n", s, "link", "set", "eth0", "up"]).status();
        let _ = Command::new("ip")
            .args(["-n", s, "route", "replace", "default", "via", "192.168.122.1", "dev", "eth0"])
            .status();
        for (other, net) in [("s1", "10.0.4.0/24"), ("s2", "10.0.5.0/24"), ("s3", "10.0.7.0/24")] {
            if other != s {
                let _ = Command::new("ip")
                    .args(["-n", s, "route", "replace", net, "via", &lan(other), "dev", "eth0"])
                    .status();
            }
        }
    }
}
impl Drop for LinkDown {
    fn drop(&mut self) {
        self.restore();
    }
}

fn lan(server: &str) -> String {
    match server {
        "s1" => "192.168.122.11",
        "s2" => "192.168.122.12",
        "s3" => "192.168.122.13",
        other => panic!("not a lab server: {other}"),
    }
    .to_string()
}

fn netns_sh(server: &str, script: &str) -> std::process::Output {
    Command::new("ip").args(["netns", "exec", server, "sh", "-c", script]).output().unwrap()
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The floating IPs tests serialise on: they share the servers' keepalived.
fn vip_lock() -> std::fs::File {
    server_lock("vip")
}

fn vip_json(inv: &Path, name: &str) -> serde_json::Value {
    let all = cli_json(inv, &["listvips", "--json"]);
    all.as_array().unwrap().iter().find(|v| v["name"] == name).cloned().unwrap_or(serde_json::Value::Null)
}

fn holder(inv: &Path, name: &str) -> Option<String> {
    vip_json(inv, name)["holder"].as_str().map(str::to_string)
}

fn wait_holder(inv: &Path, name: &str, server: &str, limit: Duration) {
    wait_for(&format!("{name} held by {server}"), limit, || holder(inv, name).as_deref() == Some(server));
}

fn server_status(v: &serde_json::Value, server: &str) -> serde_json::Value {
    v["servers"].as_array().unwrap().iter().find(|s| s["server"] == server).cloned().unwrap()
}

/// The addresses on a server's LAN interface.
fn addrs(server: &str) -> String {
    let out = Command::new("ip").args(["-n", server, "-o", "-4", "addr", "show", "dev", "eth0"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has_addr(server: &str, ip: &str) -> bool {
    addrs(server).contains(&format!("inet {ip}/"))
}

/// The pid in a server's keepalived pid file, checked to live in that
/// server's network namespace.
fn keepalived_pid(server: &str, file: &str) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(run_dir(server).join(file)).ok()?.trim().parse().ok()?;
    let pids = Command::new("ip").args(["netns", "pids", server]).output().unwrap();
    String::from_utf8_lossy(&pids.stdout).lines().any(|l| l.trim() == pid.to_string()).then_some(pid)
}

/// The shell command that kills a server's keepalived like a crash: the
/// parent stopped (so it cannot respawn or clean up), the VRRP child killed
/// with SIGKILL, then the parent.
fn sigkill_event(server: &str) -> String {
    let parent = keepalived_pid(server, "keepalived.pid").expect("keepalived runs");
    let child = keepalived_pid(server, "vrrp.pid").expect("keepalived's VRRP process runs");
    format!("kill -STOP {parent}; kill -KILL {child}; kill -KILL {parent}")
}

/// Runs the lab's prober in `client`'s namespace: it waits for answers from
/// `from`, runs `event`, and measures until `to` answers.
fn measure(client: &str, ip: &str, port: u16, from: &str, to: &str, event: &str) -> serde_json::Value {
    let probe = workspace_root().join("tests/lab/vip-probe");
    let out = Command::new("ip")
        .args(["netns", "exec", client, "python3"])
        .arg(&probe)
        .args([ip, &port.to_string(), from, to, event])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("vip-probe: {text}{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or(serde_json::Value::Null);
    assert!(out.status.success(), "no failover from {from} to {to}: {text}");
    v
}

fn secs(v: &serde_json::Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// The whole test setup: lab, inventory copy, lock.
fn setup() -> Option<(tempfile::TempDir, PathBuf, std::fs::File)> {
    let lab = lab()?;
    let (dir, inv) = lab_inventory_copy(&lab);
    Some((dir, inv, vip_lock()))
}

fn addvip(inv: &Path, args: &[&str]) -> String {
    let mut a = vec!["addvip"];
    a.extend_from_slice(args);
    cli_ok(inv, &a)
}

/// The seed's example, then keepalived on the master killed with SIGKILL:
/// the address moves to s2, and stays there when s1's keepalived is back.
#[test]
fn vip_seed_example_and_sigkill_failover_without_preemption() {
    let Some((_dir, inv, _lock)) = setup() else { return };
    let inv = inv.as_path();
    let ip = "192.168.122.100";
    let _r1 = Responder::start("s1", 18080);
    let _r2 = Responder::start("s2", 18080);
    addvip(inv, &["s1", "s2", ip, "-n", "seed"]);
    let _guard = DelVip(inv.to_path_buf(), "seed".into());
    let v = vip_json(inv, "seed");
    assert_eq!(v["holder"], "s1", "{v}");
    assert_eq!(v["ip"], ip);
    assert_eq!(server_status(&v, "s1")["keepalived"], "MASTER", "{v}");
    assert_eq!(server_status(&v, "s2")["keepalived"], "BACKUP", "{v}");
    assert_eq!(v["version"], 2);
    let table = cli_ok(inv, &["listvips"]);
    assert!(table.contains("seed") && table.contains(ip) && table.contains("s1: MASTER"), "{table}");
    assert!(cli_ok(inv, &["listvip"]).contains("seed"), "listvip is an alias");
    // A client on s3 reaches the service on the master through the address.
    let body = netns_sh("s3", &format!("curl -sS --max-time 3 http://{ip}:18080/"));
    assert_eq!(String::from_utf8_lossy(&body.stdout).trim(), "s1");
    // The configuration is flockport's own file, included from keepalived.conf.
    let main = std::fs::read_to_string(etc_dir("s1").join("keepalived.conf")).unwrap();
    assert!(main.contains("include /etc/keepalived/flockport/*.conf"), "{main}");
    let conf = std::fs::read_to_string(etc_dir("s2").join("flockport/seed.conf")).unwrap();
    assert!(conf.contains("unicast_peer") && conf.contains("nopreempt") && conf.contains("auth_type PASS"), "{conf}");

    let m = measure("s3", ip, 18080, "s1", "s2", &sigkill_event("s1"));
    println!(
        "OUTAGE sigkill (advert 1 s): takeover {:.3} s, gap {:.3} s (RFC: 3 x 1 + 0.609 = 3.609 s)",
        secs(&m, "takeover"),
        secs(&m, "gap")
    );
    wait_holder(inv, "seed", "s2", Duration::from_secs(10));
    let v = vip_json(inv, "seed");
    assert_eq!(server_status(&v, "s1")["keepalived"], "STOPPED", "{v}");
    assert_eq!(server_status(&v, "s2")["keepalived"], "MASTER", "{v}");

    // keepalived back on s1 (addvip with the same arguments): the address stays on s2.
    let out = addvip(inv, &["s1", "s2", ip, "-n", "seed"]);
    assert!(out.contains("seed"), "{out}");
    assert!(keepalived_pid("s1", "keepalived.pid").is_some(), "keepalived runs again on s1");
    std::thread::sleep(Duration::from_secs(5));
    let v = vip_json(inv, "seed");
    assert_eq!(v["holder"], "s2", "no preemption: {v}");
    assert_eq!(server_status(&v, "s1")["keepalived"], "BACKUP", "{v}");
    assert!(!has_addr("s1", ip), "the address killed keepalived left on s1 was removed: {}", addrs("s1"));
    // Run again with nothing to do, it changes nothing.
    let plan = cli_json(inv, &["addvip", "s1", "s2", ip, "-n", "seed", "--json"]);
    assert_eq!(plan["plan"]["steps"], serde_json::json!([]), "{plan}");
}

/// The master's LAN link goes down: s2 takes over.
#[test]
fn vip_link_down_failover() {
    let Some((_dir, inv, _lock)) = setup() else { return };
    let inv = inv.as_path();
    let ip = "192.168.122.101";
    let _r1 = Responder::start("s1", 18080);
    let _r2 = Responder::start("s2", 18080);
    addvip(inv, &["s1", "s2", ip, "-n", "linkdown"]);
    let _guard = DelVip(inv.to_path_buf(), "linkdown".into());
    let link = LinkDown("s1");
    let m = measure("s3", ip, 18080, "s1", "s2", "ip -n s1 link set eth0 down");
    println!(
        "OUTAGE link down (advert 1 s): takeover {:.3} s, gap {:.3} s (RFC: 3.609 s)",
        secs(&m, "takeover"),
        secs(&m, "gap")
    );
    assert!(has_addr("s2", ip));
    link.restore();
    wait_holder(inv, "linkdown", "s2", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(4));
    let v = vip_json(inv, "linkdown");
    assert_eq!(v["holder"], "s2", "s1 back on the LAN does not take it back: {v}");
    assert_eq!(server_status(&v, "s1")["keepalived"], "BACKUP", "{v}");
}

/// A graceful stop of the master's keepalived (SIGTERM): s2 takes over
/// after the skew time.
#[test]
fn vip_graceful_stop_failover() {
    let Some((_dir, inv, _lock)) = setup() else { return };
    let inv = inv.as_path();
    let ip = "192.168.122.102";
    let _r1 = Responder::start("s1", 18080);
    let _r2 = Responder::start("s2", 18080);
    addvip(inv, &["s1", "s2", ip, "-n", "graceful"]);
    let _guard = DelVip(inv.to_path_buf(), "graceful".into());
    let pid = keepalived_pid("s1", "keepalived.pid").unwrap();
    let m = measure("s3", ip, 18080, "s1", "s2", &format!("kill -TERM {pid}"));
    println!(
        "OUTAGE graceful stop (advert 1 s): takeover {:.3} s, gap {:.3} s (RFC skew: 0.609 s)",
        secs(&m, "takeover"),
        secs(&m, "gap")
    );
    wait_holder(inv, "graceful", "s2", Duration::from_secs(10));
    assert!(!has_addr("s1", ip), "a stopped keepalived released it: {}", addrs("s1"));
    addvip(inv, &["s1", "s2", ip, "-n", "graceful"]);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(holder(inv, "graceful").as_deref(), Some("s2"), "no preemption");
}

/// `--track 80`: the address leaves a server whose service on port 80
/// stops answering, and does not come back when it answers again. (On s2
/// and s3, with the client on s1: other lab tests publish s1's port 80.)
#[test]
fn vip_track_port_moves_the_address() {
    let Some((_dir, inv, _lock)) = setup() else { return };
    let inv = inv.as_path();
    let ip = "192.168.122.103";
    let mut r2 = Responder::start("s2", 80);
    let _r3 = Responder::start("s3", 80);
    addvip(inv, &["s2", "s3", ip, "-n", "tracked", "--track", "80"]);
    let _guard = DelVip(inv.to_path_buf(), "tracked".into());
    let v = vip_json(inv, "tracked");
    assert_eq!(v["holder"], "s2", "{v}");
    assert_eq!(v["track"], serde_json::json!([80]));
    assert_eq!(server_status(&v, "s2")["tracks"], serde_json::json!([{"port": 80, "up": true}]), "{v}");
    let body = netns_sh("s1", &format!("curl -sS --max-time 3 http://{ip}:80/"));
    assert_eq!(String::from_utf8_lossy(&body.stdout).trim(), "s2");
    // The tracked service on the master stops.
    r2.stop();
    wait_holder(inv, "tracked", "s3", Duration::from_secs(15));
    let v = vip_json(inv, "tracked");
    assert_eq!(server_status(&v, "s2")["keepalived"], "FAULT", "{v}");
    assert_eq!(server_status(&v, "s2")["tracks"], serde_json::json!([{"port": 80, "up": false}]), "{v}");
    let body = netns_sh("s1", &format!("curl -sS --max-time 3 http://{ip}:80/"));
    assert_eq!(String::from_utf8_lossy(&body.stdout).trim(), "s3");
    // It answers again: the address stays on s3.
    let _r2 = Responder::start("s2", 80);
    wait_for("s2 back to BACKUP", Duration::from_secs(10), || {
        server_status(&vip_json(inv, "tracked"), "s2")["keepalived"] == "BACKUP"
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(holder(inv, "tracked").as_deref(), Some("s3"), "no preemption after the service came back");
}

/// `--advert-int 0.1` (VRRPv3): a SIGKILL failover finishes in under 1 s.
#[test]
fn vip_subsecond_failover() {
    let Some((_dir, inv, _lock)) = setup() else { return };
    let inv = inv.as_path();
    let ip = "192.168.122.104";
    let _r1 = Responder::start("s1", 18080);
    let _r2 = Responder::start("s2", 18080);
    addvip(inv, &["s1", "s2", ip, "-n", "fast", "--advert-int", "0.1"]);
    let _guard = DelVip(inv.to_path_buf(), "fast".into());
    let v = vip_json(inv, "fast");
    assert_eq!((v["version"].as_u64(), v["advert_centis"].as_u64()), (Some(3), Some(10)), "{v}");
    let conf = std::fs::read_to_string(etc_dir("s1").join("flockport/fast.conf")).unwrap();
    assert!(conf.contains("version 3") && conf.contains("advert_int 0.1") && !conf.contains("auth_pass"), "{conf}");
    let m = measure("s3", ip, 18080, "s1", "s2", &sigkill_event("s1"));
    let takeover = secs(&m, "takeover");
    println!("OUTAGE sigkill (advert 0.1 s): takeover {takeover:.3} s, gap {:.3} s (RFC: 0.361 s)", secs(&m, "gap"));
    assert!(takeover < 1.0, "a SIGKILL failover with --advert-int 0.1 took {takeover} s");
    wait_holder(inv, "fast", "s2", Duration::from_secs(5));
}

/// delvip: the address is on neither server; a second floating IP on the
/// same pair keeps answering while the first is removed; router ids differ;
/// keepalived stops when the last one goes.
#[test]
fn vip_delvip_keeps_the_other_and_stops_keepalived_at_the_end() {
    let Some((_dir, inv, _lock)) = setup() else { return };
    let inv = inv.as_path();
    let (a, b) = ("192.168.122.111", "192.168.122.112");
    let _r1 = Responder::start("s1", 18080);
    let _r2 = Responder::start("s2", 18080);
    addvip(inv, &["s1", "s2", a, "-n", "first"]);
    let _ga = DelVip(inv.to_path_buf(), "first".into());
    addvip(inv, &["s1", "s2", b]);
    let second = vip_json(inv, "vip1");
    assert_eq!(second["ip"], b, "the generated name is vip1: {second}");
    let _gb = DelVip(inv.to_path_buf(), "vip1".into());
    let first = vip_json(inv, "first");
    assert_ne!(first["vrid"], second["vrid"], "two floating IPs never share a virtual router id");
    wait_holder(inv, "vip1", "s1", Duration::from_secs(10));
    let pid1 = keepalived_pid("s1", "keepalived.pid").unwrap();

    // The second keeps answering from s1 while the first is deleted (the
    // "event" of the prober; it never sees s2, so it ends at its limit).
    let inv_s = inv.to_string_lossy().into_owned();
    let event = format!("{} --config {inv_s} delvip first >/dev/null 2>&1", flockport_tests::flockport_bin().display());
    let probe = workspace_root().join("tests/lab/vip-probe");
    let out = Command::new("ip")
        .args(["netns", "exec", "s3", "python3"])
        .arg(&probe)
        .args([b, "18080", "s1", "s2", &event, "--limit", "6"])
        .output()
        .unwrap();
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("vip-probe during delvip: {m}");
    assert_eq!(m["event_rc"], 0, "delvip first failed");
    assert_eq!(m["failed"], 0, "the second floating IP stopped answering during the delvip: {m}");
    assert!(m["answers"]["s1"].as_u64().unwrap_or(0) > 100, "{m}");
    for s in ["s1", "s2"] {
        assert!(!has_addr(s, a), "{a} is still on {s}: {}", addrs(s));
        assert!(!etc_dir(s).join("flockport/first.conf").exists());
    }
    assert!(vip_json(inv, "first").is_null());
    assert_eq!(keepalived_pid("s1", "keepalived.pid"), Some(pid1), "keepalived kept running (reloaded) for vip1");
    assert!(has_addr("s1", b));
    // The last one: keepalived stops on both, the address is gone.
    cli_ok(inv, &["delvip", "vip1"]);
    for s in ["s1", "s2"] {
        assert!(!has_addr(s, b), "{b} is still on {s}: {}", addrs(s));
        assert!(keepalived_pid(s, "keepalived.pid").is_none(), "keepalived still runs on {s}");
    }
    assert_eq!(cli_json(inv, &["listvips", "--json"]), serde_json::json!([]));
}

/// What a bad-input test compares before and after: keepalived's files and
/// the LAN addresses of both servers.
fn snapshot() -> String {
    let mut out = String::new();
    for s in ["s1", "s2"] {
        out.push_str(&addrs(s));
        for dir in [etc_dir(s), run_dir(s)] {
            let listing = Command::new("sh")
                .arg("-c")
                .arg("[ -d \"$1\" ] && find \"$1\" -type f ! -path '*/state/*' ! -name '*.log' -exec sha256sum {} + | sort")
                .arg("sh")
                .arg(&dir)
                .output()
                .unwrap();
            out.push_str(&String::from_utf8_lossy(&listing.stdout));
        }
    }
    out
}

/// Bad input: a clear error naming the value, a non-zero exit, and nothing
/// changed on either server.
#[test]
fn vip_bad_input_changes_nothing() {
    let Some((_dir, inv, _lock)) = setup() else { return };
    let inv = inv.as_path();
    addvip(inv, &["s1", "s2", "192.168.122.110", "-n", "held"]);
    let _guard = DelVip(inv.to_path_buf(), "held".into());
    let before = snapshot();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["addvip", "s1", "s2", "10.9.9.9"], "10.9.9.9"),
        (vec!["addvip", "s1", "s2", "192.168.122.11"], "it is the address of server s1"),
        (vec!["addvip", "s1", "s2", "192.168.122.110", "-n", "again"], "it is already floating IP held"),
        (vec!["addvip", "s1", "s2", "192.168.122.1"], "something already answers for it"),
        (vec!["addvip", "s1", "s1", "192.168.122.105"], "s1 was given twice"),
        (vec!["addvip", "s1", "s9", "192.168.122.105"], "\"s9\" not found"),
        (vec!["addvip", "s1", "s2", "192.168.122.1055"], "\"192.168.122.1055\""),
        (vec!["addvip", "s1", "s2", "192.168.122.105", "--advert-int", "0"], "advert interval \"0\""),
        (vec!["addvip", "s1", "s2", "192.168.122.105", "--advert-int", "-1"], "advert interval \"-1\""),
        (vec!["addvip", "s1", "s2", "192.168.122.105", "--advert-int", "100000"], "advert interval \"100000\""),
        (vec!["addvip", "s1", "s2", "192.168.122.110", "-n", "held", "--advert-int", "2"], "other settings"),
        (vec!["delvip", "nosuch"], "\"nosuch\" not found"),
    ];
    for (args, want) in cases {
        let out = cli(inv, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err} should name {want}");
        assert_eq!(snapshot(), before, "{args:?} changed a server");
    }
    assert_eq!(vip_json(inv, "held")["holder"], "s1");

    // A server that cannot be read is named on stderr, the rest is listed, exit 3.
    let counter = ConnectionCounter::start();
    let text = std::fs::read_to_string(inv).unwrap();
    let broken =
        text.replace("host = \"192.168.122.12\"\nport = 22", &format!("host = \"127.0.0.1\"\nport = {}", counter.port));
    assert_ne!(broken, text, "s2's block: {text}");
    let broken_inv = inv.with_file_name("s2-unreachable.toml");
    std::fs::write(&broken_inv, broken).unwrap();
    let out = cli(&broken_inv, &["listvips"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server s2 could not be read"), "{err}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("held") && table.contains("s1: MASTER") && table.contains("s2: unreadable"), "{table}");
}
