//! Floating IPs against the scripted [`FakeTransport`]: golden keepalived
//! configs, the exact commands each verb sends per round trip (golden), the
//! state afterwards, idempotent reruns, refusals that touch nothing, and
//! rollback. That keepalived really fails over is shown by the lab tests
//! (`tests/tests/e2e/vip.rs`).

use super::spec::{Vip, VipMember, VipRecord};
use super::steps;
use crate::cluster::{ApplyOptions, Cluster};
use crate::mock_tests::cluster_with;
use crate::plan::NoProgress;
use crate::testkit::{fail, FakeTransport};
use crate::transport::Output;
use crate::vip::VipSpec;
use crate::{Error, ErrorKind};
use std::sync::{Arc, Mutex};

fn member(server: &str, last: u8, priority: u8) -> VipMember {
    VipMember {
        server: server.into(),
        address: format!("192.0.2.{last}").parse().unwrap(),
        interface: "eth0".into(),
        priority,
    }
}

fn record(version: u8, track: Vec<u16>) -> VipRecord {
    VipRecord {
        vip: Vip {
            name: "vip1".into(),
            ip: "192.0.2.100".parse().unwrap(),
            network: "192.0.2.0/24".parse().unwrap(),
            master: member("s1", 11, 150),
            backup: member("s2", 12, 100),
            vrid: 7,
            advert_centis: if version == 2 { 100 } else { 10 },
            version,
            track,
        },
        auth_pass: (version == 2).then(|| "Ab3dEf9h".to_string()),
    }
}

#[test]
fn golden_configs() {
    let r = record(2, vec![80, 443]);
    insta::assert_snapshot!("keepalived_master_v2_tracked", steps::render_config(&r, &r.vip.master).unwrap());
    let r = record(3, vec![]);
    insta::assert_snapshot!("keepalived_backup_v3", steps::render_config(&r, &r.vip.backup).unwrap());
}

#[test]
fn rfc_timers() {
    let r = record(2, vec![]);
    assert!((r.vip.skew_secs() - 156.0 / 256.0).abs() < 1e-9);
    assert!((r.vip.master_down_secs() - (3.0 + 156.0 / 256.0)).abs() < 1e-9);
    let r = record(3, vec![]);
    assert!((r.vip.master_down_secs() - (0.3 + 0.1 * 156.0 / 256.0)).abs() < 1e-9);
}

/// What a server's probe prints; mutable so a test can change a server.
#[derive(Clone)]
struct Probe(Arc<Mutex<String>>);

impl Probe {
    fn set(&self, text: impl Into<String>) {
        *self.0.lock().unwrap() = text.into();
    }
}

fn base_probe(last: u8, installed: bool) -> String {
    let mut s = format!(
        "init\tdaemon\nssh\t192.0.2.1 50000 192.0.2.{last} 22\naddr\tlo\t127.0.0.1/8\naddr\teth0\t192.0.2.{last}/24\n"
    );
    if installed {
        s.push_str("keepalived\tKeepalived v2.2.7 (01/16,2022)\n");
    }
    s
}

fn fake(name: &str, probe: &str) -> (FakeTransport, Probe) {
    let t = FakeTransport::new(name);
    let p = Probe(Arc::new(Mutex::new(probe.to_string())));
    let q = p.clone();
    t.on_with("printf 'init\\t%s\\n'", move |call| {
        let mut text = q.0.lock().unwrap().clone();
        if let Some(why) = text.strip_prefix("FAIL ") {
            return fail(255, why);
        }
        // The ARP probe line, when one was asked for (the first argument after `sh`).
        if call.argv.get(4).is_some_and(|a| !a.is_empty()) && !text.contains("arp\t") {
            text.push_str("arp\tsilent\n");
        }
        Output::ok(text)
    });
    (t, p)
}

/// The commands `t` received, one per line with its round trip: scripts by
/// what they are, then their arguments.
fn transcript(t: &FakeTransport) -> String {
    fn label(script: &str) -> &'static str {
        [
            ("printf 'init\\t%s\\n'", "probe"),
            ("apt-get", "install-keepalived"),
            ("--config-test", "check"),
            ("inc=\"include", "swap"),
            ("left=no", "activate"),
            ("nobody answered", "wait-held"),
            ("a=${2%/*}", "release"),
            ("rm -f \"$D/.$1.conf.next\"", "forget"),
            ("umask 077", "write"),
        ]
        .iter()
        .find(|(needle, _)| script.contains(needle))
        .map_or("sh", |(_, l)| l)
    }
    t.calls()
        .iter()
        .map(|c| {
            let line = match c.argv.as_slice() {
                [sh, dash_c, script, _, args @ ..] if sh == "sh" && dash_c == "-c" => {
                    format!("{} {}", label(script), args.join(" "))
                }
                other => other.join(" "),
            };
            let stdin = c.stdin.as_ref().map(|b| format!("  <<< {} bytes", b.len())).unwrap_or_default();
            format!("[{}] {}{stdin}", c.round_trip, line.trim_end())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

struct World {
    _dir: tempfile::TempDir,
    s1: FakeTransport,
    s2: FakeTransport,
    p1: Probe,
    p2: Probe,
    c: Cluster,
}

fn world(installed: bool) -> World {
    let dir = tempfile::tempdir().unwrap();
    let (s1, p1) = fake("s1", &base_probe(11, installed));
    let (s2, p2) = fake("s2", &base_probe(12, installed));
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    World { _dir: dir, s1, s2, p1, p2, c }
}

fn spec(ip: &str) -> VipSpec {
    VipSpec { server1: "s1".into(), server2: "s2".into(), ip: ip.into(), ..Default::default() }
}

impl World {
    fn clear(&self) {
        self.s1.clear();
        self.s2.clear();
    }
    fn round_trips(&self) -> usize {
        self.s1.round_trips() + self.s2.round_trips()
    }
    /// Both probes as they are after a successful addvip of `name`: files
    /// as rendered, included, keepalived running, s1 holding the address.
    fn settled(&self, name: &str) {
        let st = self.c.state_blocking().unwrap();
        let rec = &st.vips[name];
        for (p, m, last) in [(&self.p1, &rec.vip.master, 11), (&self.p2, &rec.vip.backup, 12)] {
            let hash = steps::sha256_hex(&steps::render_config(rec, m).unwrap());
            let mut text = base_probe(last, true);
            text.push_str(&format!("running\t{}\nfile\t{name}\t{hash}\ninclude\n", 1000 + u32::from(last)));
            if m.server == "s1" {
                text.push_str(&format!("addr\teth0\t{}/24\nstate\t{name}\tMASTER\n", rec.vip.ip));
            } else {
                text.push_str(&format!("state\t{name}\tBACKUP\n"));
            }
            p.set(text);
        }
    }
}

#[test]
fn addvip_installs_configures_and_starts_the_master_first() {
    let w = world(false);
    let a = run(w.c.add_vip(spec("192.0.2.100"), ApplyOptions::default(), &NoProgress)).unwrap();
    assert!(a.executed);
    assert_eq!(a.record.name, "vip1", "generated name");
    assert_eq!((a.record.vrid, a.record.version, a.record.advert_centis), (1, 2, 100));
    assert_eq!(a.record.master.server, "s1");
    assert_eq!(a.record.master.interface, "eth0");
    assert_eq!(a.record.backup.address.to_string(), "192.0.2.12");
    // The probe, the install on its own, then everything else in one round trip.
    assert_eq!((w.s1.round_trips(), w.s2.round_trips()), (3, 3));
    insta::assert_snapshot!("addvip_s1", transcript(&w.s1));
    insta::assert_snapshot!("addvip_s2", transcript(&w.s2));
    // The staged config is what the template renders, with the password.
    let st = w.c.state_blocking().unwrap();
    let rec = &st.vips["vip1"];
    let pass = rec.auth_pass.clone().unwrap();
    assert_eq!(pass.len(), 8);
    let staged = w.s1.calls().into_iter().find(|c| c.argv.iter().any(|a| a.ends_with(".vip1.conf.next"))).unwrap();
    let rendered = steps::render_config(rec, &rec.vip.master).unwrap();
    assert_eq!(staged.stdin.unwrap(), rendered.as_bytes());
    assert!(rendered.contains(&format!("auth_pass {pass}")));
    // The password never shows in the plan (JSON or text).
    let json = serde_json::to_string(&a.plan).unwrap();
    assert!(!json.contains(&pass) && !a.plan.render().contains(&pass));
    assert!(!serde_json::to_string(&a.record).unwrap().contains(&pass), "the returned record has no password");
    assert_eq!(st.counters["vip"], 1);
    assert!(st.addresses_on("s2").contains(&"192.0.2.100".parse().unwrap()));
}

#[test]
fn a_rerun_with_the_same_arguments_changes_nothing_that_matches() {
    let w = world(true);
    let mut s = spec("192.0.2.100");
    s.name = Some("web".into());
    s.track = vec![80];
    run(w.c.add_vip(s.clone(), ApplyOptions::default(), &NoProgress)).unwrap();
    let before = w.c.state_blocking().unwrap();
    w.settled("web");
    w.clear();
    let a = run(w.c.add_vip(s.clone(), ApplyOptions::default(), &NoProgress)).unwrap();
    assert!(a.plan.steps.is_empty(), "{}", a.plan.render());
    assert_eq!(w.round_trips(), 2, "only the probes");
    assert_eq!(w.c.state_blocking().unwrap(), before);
    // Without -n, the same arguments name the same floating IP.
    w.clear();
    let mut unnamed = s.clone();
    unnamed.name = None;
    let a = run(w.c.add_vip(unnamed, ApplyOptions::default(), &NoProgress)).unwrap();
    assert_eq!(a.record.name, "web");
    assert!(a.plan.steps.is_empty());
    // keepalived killed on s1 (address left behind): s1 gets its stale address
    // removed and keepalived started; s2 is left alone.
    let mut p1 = w.p1.0.lock().unwrap().clone();
    p1 = p1.lines().filter(|l| !l.starts_with("running")).map(|l| format!("{l}\n")).collect();
    w.p1.set(p1);
    w.clear();
    run(w.c.add_vip(s.clone(), ApplyOptions::default(), &NoProgress)).unwrap();
    insta::assert_snapshot!("addvip_rerun_after_kill_s1", transcript(&w.s1));
    assert_eq!(w.s2.round_trips(), 1, "only the probe on s2");
    assert_eq!(w.c.state_blocking().unwrap(), before);
    // Other arguments for the same name are refused before any server is contacted.
    w.clear();
    let mut other = s.clone();
    other.advert_int = Some(2.0);
    let e = run(w.c.add_vip(other, ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert!(e.to_string().contains("advert interval 1 s (asked 2 s)"), "{e}");
    assert_eq!(w.round_trips(), 0);
}

#[test]
fn a_refused_config_rolls_back_both_servers_and_records_nothing() {
    let w = world(true);
    w.s2.on("--config-test", fail(1, "Unknown keyword 'virtual_ipaddres'"));
    let e = run(w.c.add_vip(spec("192.0.2.100"), ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert!(
        matches!(&e, Error::ConfigRejected { service, server, .. } if service == "keepalived" && server == "s2"),
        "{e}"
    );
    let t2 = transcript(&w.s2);
    assert!(t2.contains("forget vip1 new") && t2.contains("activate daemon rollback"), "{t2}");
    assert!(!t2.contains("activate daemon apply"), "nothing started after the refused check: {t2}");
    let t1 = transcript(&w.s1);
    assert!(t1.contains("forget vip1 new"), "s1 rolled back too: {t1}");
    assert!(w.c.state_blocking().unwrap().vips.is_empty());
}

#[test]
fn bad_input_is_refused_and_nothing_changes() {
    let w = world(true);
    let cases: Vec<(VipSpec, &str, usize)> = vec![
        (spec("10.9.9.9"), "outside the LAN of server s1", 2),
        (spec("192.0.2.12"), "it is the address of server s2", 0),
        (VipSpec { server2: "s1".into(), ..spec("192.0.2.100") }, "s1 was given twice", 0),
        (VipSpec { server2: "s7".into(), ..spec("192.0.2.100") }, "server \"s7\" not found", 0),
        (spec("192.0.2.1000"), "invalid floating IP \"192.0.2.1000\"", 0),
        (VipSpec { advert_int: Some(0.0), ..spec("192.0.2.100") }, "advert interval \"0\"", 0),
        (VipSpec { advert_int: Some(-1.0), ..spec("192.0.2.100") }, "advert interval \"-1\"", 0),
        (VipSpec { advert_int: Some(1e6), ..spec("192.0.2.100") }, "advert interval \"1000000\"", 0),
    ];
    for (s, want, trips) in cases {
        w.clear();
        let e = run(w.c.add_vip(s, ApplyOptions::default(), &NoProgress)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound), "{e}");
        assert!(e.to_string().contains(want), "{e} should contain {want}");
        assert_eq!(w.round_trips(), trips, "{want}: only probes");
        let lines = w.s1.full_lines().into_iter().chain(w.s2.full_lines()).collect::<Vec<_>>();
        assert!(lines.iter().all(|l| l.contains("printf 'init")), "{lines:#?}");
    }
    // Something answers ARP for it.
    w.p2.set(format!("{}arp\tanswers\n", base_probe(12, true)));
    let e = run(w.c.add_vip(spec("192.0.2.100"), ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert!(e.to_string().contains("something already answers for it"), "{e}");
    // An address of a server's interface (not its inventory host).
    w.p2.set(format!("{}addr\teth1\t192.0.2.50/24\n", base_probe(12, true)));
    let e = run(w.c.add_vip(spec("192.0.2.50"), ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert!(e.to_string().contains("it is an address of server s2 (on eth1)"), "{e}");
    w.p2.set(base_probe(12, true));
    // Another floating IP has it.
    run(w.c.add_vip(spec("192.0.2.100"), ApplyOptions::default(), &NoProgress)).unwrap();
    w.clear();
    let mut s = spec("192.0.2.100");
    s.name = Some("other".into());
    let e = run(w.c.add_vip(s, ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert!(e.to_string().contains("it is already floating IP vip1"), "{e}");
    assert_eq!(w.round_trips(), 0);
    assert_eq!(w.c.state_blocking().unwrap().vips.len(), 1);
}

#[test]
fn virtual_router_ids_are_unique_on_the_lan() {
    let w = world(true);
    // The user's own keepalived config on s2 uses vrid 1.
    w.p2.set(format!("{}vrid\t1\n", base_probe(12, true)));
    let a = run(w.c.add_vip(spec("192.0.2.100"), ApplyOptions::default(), &NoProgress)).unwrap();
    assert_eq!(a.record.vrid, 2);
    let b = run(w.c.add_vip(spec("192.0.2.101"), ApplyOptions::default(), &NoProgress)).unwrap();
    assert_eq!((b.record.name.as_str(), b.record.vrid), ("vip2", 3));
    let c = run(w.c.add_vip(
        VipSpec { advert_int: Some(0.1), ..spec("192.0.2.102") },
        ApplyOptions::default(),
        &NoProgress,
    ))
    .unwrap();
    assert_eq!((c.record.vrid, c.record.version, c.record.advert_centis), (4, 3, 10));
    assert!(w.c.state_blocking().unwrap().vips["vip3"].auth_pass.is_none(), "VRRPv3 has no authentication");
}

#[test]
fn delvip_checks_removes_reloads_and_releases_on_both() {
    let w = world(true);
    run(w.c.add_vip(spec("192.0.2.100"), ApplyOptions::default(), &NoProgress)).unwrap();
    w.settled("vip1");
    w.clear();
    let a = run(w.c.del_vip("vip1", ApplyOptions::default())).unwrap();
    assert_eq!(a.record.name, "vip1");
    assert_eq!((w.s1.round_trips(), w.s2.round_trips()), (2, 2), "a probe, then one round trip each");
    insta::assert_snapshot!("delvip_s1", transcript(&w.s1));
    assert!(w.c.state_blocking().unwrap().vips.is_empty());
    // A failure on s2 puts the file back on s1 (rendered from the record) and reloads.
    w.p1.set(base_probe(11, true));
    w.p2.set(base_probe(12, true));
    run(w.c.add_vip(spec("192.0.2.100"), ApplyOptions::default(), &NoProgress)).unwrap();
    w.settled("vip2");
    let rec = w.c.state_blocking().unwrap().vips["vip2"].clone();
    w.clear();
    w.s2.on("inc=\"include", fail(1, "rm: cannot remove: Read-only file system"));
    let e = run(w.c.del_vip("vip2", ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RemoteCommandFailed, "{e}");
    let put_back = w.s1.calls().into_iter().find(|c| c.argv.iter().any(|a| a == "/etc/keepalived/flockport/vip2.conf"));
    let rendered = steps::render_config(&rec, &rec.vip.master).unwrap();
    assert_eq!(put_back.and_then(|c| c.stdin), Some(rendered.into_bytes()), "{}", transcript(&w.s1));
    assert!(transcript(&w.s1).ends_with("activate daemon rollback"), "{}", transcript(&w.s1));
    assert!(w.c.state_blocking().unwrap().vips.contains_key("vip2"), "state unchanged");
    w.clear();
    let e = run(w.c.del_vip("vip1", ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("\"vip1\" not found"), "{e}");
    assert_eq!(w.round_trips(), 0);
}

#[test]
fn listvips_reads_the_holder_from_the_servers() {
    let w = world(true);
    let mut s = spec("192.0.2.100");
    s.track = vec![80];
    run(w.c.add_vip(s, ApplyOptions::default(), &NoProgress)).unwrap();
    w.settled("vip1");
    w.p1.set(format!("{}track\t192.0.2.11:80\tup\n", w.p1.0.lock().unwrap()));
    w.clear();
    let rows = run(w.c.vips()).unwrap();
    assert_eq!(rows.len(), 1);
    let v = &rows[0];
    assert_eq!(v.holder.as_deref(), Some("s1"));
    assert_eq!(v.address_on, ["s1"]);
    assert_eq!((v.servers[0].keepalived.as_str(), v.servers[1].keepalived.as_str()), ("MASTER", "BACKUP"));
    assert!(v.servers[0].tracks[0].up && !v.servers[1].tracks[0].up);
    // The probe asked each server about its own address and port.
    assert!(w.s1.full_lines()[0].ends_with(" 192.0.2.11:80"), "{:?}", w.s1.full_lines());
    // keepalived killed on s1 (address left behind), s2 took over.
    w.p1.set(format!("{}addr\teth0\t192.0.2.100/24\nstate\tvip1\tMASTER\n", base_probe(11, true)));
    w.p2.set(format!("{}running\t9\naddr\teth0\t192.0.2.100/24\nstate\tvip1\tMASTER\n", base_probe(12, true)));
    let v = &run(w.c.vips()).unwrap()[0];
    assert_eq!(v.holder.as_deref(), Some("s2"));
    assert_eq!(v.servers[0].keepalived, "STOPPED");
    assert_eq!(v.address_on.len(), 2);
    // A server that cannot be read is named.
    w.p2.set("FAIL ssh: connect to host 192.0.2.12 port 22: No route to host");
    let v = &run(w.c.vips()).unwrap()[0];
    assert!(v.servers[1].error.as_deref().unwrap().contains("No route to host"), "{v:?}");
}

#[test]
fn systemd_servers_use_the_unit() {
    let w = world(true);
    for (p, last) in [(&w.p1, 11), (&w.p2, 12)] {
        p.set(base_probe(last, true).replace("init\tdaemon", "init\tsystemd"));
    }
    run(w.c.add_vip(spec("192.0.2.100"), ApplyOptions::default(), &NoProgress)).unwrap();
    let t = transcript(&w.s1);
    assert!(t.contains("activate systemd apply"), "{t}");
    let script = w.s1.full_lines().into_iter().find(|l| l.contains("left=no")).unwrap();
    assert!(script.contains("systemctl reload keepalived") && script.contains("systemctl start keepalived"));
}
