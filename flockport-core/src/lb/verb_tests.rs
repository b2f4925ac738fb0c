//! The public load-balancer verbs end to end against the scripted
//! [`FakeTransport`]: the exact commands each sends (golden, per round trip),
//! the state afterwards, and the failure and rollback paths. What the
//! commands do is shown by the lab tests.

use crate::cluster::{ApplyOptions, Cluster};
use crate::lb::{LbSetting, LbSpec};
use crate::mock_tests::{cluster_with, probe_fake};
use crate::plan::NoProgress;
use crate::testkit::{fail, FakeTransport};
use crate::transport::Output;
use crate::{Error, ErrorKind};

const S2_PROBE: &str = "version\t5.0.2\noverlay\tyes\n";

fn s1_probe(kind: super::LbKind) -> String {
    let s = crate::mock_tests::server("s1", "10.0.4.0/24");
    let img = crate::image::ImageSpec::with_packages(kind.packages()).unwrap().template_name(&s);
    format!(
        "version\t5.0.2\noverlay\tyes\nc\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\nc\t{img}\tSTOPPED\t\t\tcomplete\n"
    )
}

/// The commands `t` received since the last clear, one per line with its
/// round trip: `lxc-attach ... -- CMD` shown as `in NAME: CMD`, a `sh -c`
/// script by its first line and then its arguments, probes by name only.
pub(crate) fn transcript(t: &FakeTransport) -> String {
    fn shown(argv: &[String]) -> String {
        match argv {
            [a, _, _, _, name, rest @ ..] if a == "lxc-attach" => {
                let cmd = rest.iter().position(|x| x == "--").map_or(rest, |i| &rest[i + 1..]);
                format!("in {name}: {}", shown(cmd))
            }
            [sh, c, script, _, args @ ..] if sh == "sh" && c == "-c" => {
                let first = script.lines().next().unwrap_or_default();
                let first: String = first.chars().take(60).collect();
                format!("sh -c <{first}…> {}", args.join(" "))
            }
            [sh, c, script] if sh == "sh" && c == "-c" => {
                format!("sh -c <{}…>", script.lines().next().unwrap_or_default())
            }
            other => other.join(" "),
        }
    }
    t.calls()
        .iter()
        .map(|c| {
            let line = c.argv.join(" ");
            let line = if line.contains("command -v lxc-ls") { "<probe>".to_string() } else { shown(&c.argv) };
            let stdin = c.stdin.as_ref().map(|b| format!("  <<< {} bytes", b.len())).unwrap_or_default();
            format!("[{}] {line}{stdin}", c.round_trip)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct World {
    _dir: tempfile::TempDir,
    s1: FakeTransport,
    c: Cluster,
}

fn world(kind: super::LbKind) -> World {
    let dir = tempfile::tempdir().unwrap();
    let s1 = probe_fake("s1", s1_probe(kind));
    let s2 = probe_fake("s2", S2_PROBE);
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    World { _dir: dir, s1, c }
}

pub(crate) fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn haproxy_lb(w: &World) {
    let spec = LbSpec { kind: "haproxy".into(), server: "s1".into(), name: Some("ha1".into()), ..Default::default() };
    run(w.c.add_lb(spec, ApplyOptions::default(), &NoProgress)).unwrap();
    w.s1.clear();
}

#[test]
fn addlb_sends_two_round_trips_after_the_probe_and_records_the_lb() {
    let w = world(super::LbKind::Haproxy);
    let spec = LbSpec {
        kind: "haproxy".into(),
        server: "s1".into(),
        backends: vec!["web1:10.0.4.20:80".into()],
        ..Default::default()
    };
    let a = run(w.c.add_lb(spec, ApplyOptions::default(), &NoProgress)).unwrap();
    assert_eq!(a.record.name(), "ha1", "generated name");
    assert_eq!(w.s1.round_trips(), 3, "the probe, the container created and started, then configured");
    insta::assert_snapshot!("addlb_haproxy", transcript(&w.s1));
    let st = w.c.state_blocking().unwrap();
    let lb = &st.lbs["ha1"];
    assert_eq!(lb.container.address.to_string(), "10.0.4.100");
    assert!(lb.container.image.starts_with("fp-img-haproxy-"));
    assert_eq!(st.counters["ha"], 1);
    assert!(st.containers.is_empty(), "the LB's container is the LB's record");
}

#[test]
fn addlb_that_fails_destroys_its_container_and_records_nothing() {
    let w = world(super::LbKind::Haproxy);
    w.s1.on("haproxy -c", fail(1, "[ALERT] parsing haproxy.cfg.next: unknown keyword"));
    let spec = LbSpec { kind: "haproxy".into(), server: "s1".into(), name: Some("ha1".into()), ..Default::default() };
    let e = run(w.c.add_lb(spec, ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert!(matches!(&e, Error::ConfigRejected { service, .. } if service == "haproxy"), "{e}");
    let lines = w.s1.lines();
    assert!(lines.last().unwrap().contains("lxc-destroy") && lines.last().unwrap().contains("ha1"), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("systemctl restart")), "nothing after the refused check");
    assert!(w.c.state_blocking().unwrap().lbs.is_empty());
}

#[test]
fn addbackends_goes_through_the_runtime_api_and_a_failed_check_removes_what_it_added() {
    let w = world(super::LbKind::Haproxy);
    haproxy_lb(&w);
    let a = run(w.c.add_backends("ha1", vec!["web2:10.0.5.20:80".into()], ApplyOptions::default())).unwrap();
    assert_eq!(w.s1.round_trips(), 1, "one round trip");
    insta::assert_snapshot!("addbackends_haproxy", transcript(&w.s1));
    assert_eq!(a.record.backends.len(), 1);
    assert_eq!(w.c.state_blocking().unwrap().lbs["ha1"].backends.len(), 1);
    // The config check after the runtime change fails: the added server is taken out again.
    w.s1.clear();
    w.s1.on("haproxy -c", fail(1, "bad"));
    let e = run(w.c.add_backends("ha1", vec!["web3:10.0.7.20:80".into()], ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConfigRejected);
    let lines = w.s1.lines();
    let added = lines.iter().position(|l| l.contains("add server be_roundrobin/web3")).unwrap();
    let removed = lines.iter().position(|l| l.contains("drain") || l.ends_with(" web3")).unwrap();
    assert!(removed > added, "{lines:#?}");
    assert!(lines.last().unwrap().ends_with(" web3"), "the rollback drains and deletes web3: {lines:#?}");
    assert_eq!(w.c.state_blocking().unwrap().lbs["ha1"].backends.len(), 1, "state unchanged");
}

#[test]
fn delbackends_and_setlb_mode_need_no_reload() {
    let w = world(super::LbKind::Haproxy);
    haproxy_lb(&w);
    run(w.c.add_backends("ha1", vec!["web2:10.0.5.20:80".into(), "web3:10.0.7.20:80".into()], ApplyOptions::default()))
        .unwrap();
    w.s1.clear();
    run(w.c.del_backends("ha1", vec!["web2".into()], ApplyOptions::default())).unwrap();
    run(w.c.set_lb("ha1", LbSetting::Mode("leastconn".into()), ApplyOptions::default())).unwrap();
    assert_eq!(w.s1.round_trips(), 2);
    insta::assert_snapshot!("delbackends_setlb_mode_haproxy", transcript(&w.s1));
    assert!(!w.s1.lines().iter().any(|l| l.contains("systemctl reload")), "runtime API only");
    let st = w.c.state_blocking().unwrap();
    assert_eq!(st.lbs["ha1"].mode, "leastconn");
    let keys: Vec<String> = st.lbs["ha1"].backends.iter().map(|b| b.key()).collect();
    assert_eq!(keys, ["web3"]);
}

#[test]
fn setlb_resolvers_leaves_resolv_conf_to_the_checked_step() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = probe_fake("s1", s1_probe(super::LbKind::Nginx));
    let s2 = probe_fake("s2", S2_PROBE);
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let spec = LbSpec {
        kind: "nginx".into(),
        server: "s1".into(),
        name: Some("ng1".into()),
        url: Some("mywordpress.org".into()),
        backends: vec!["wordpress.example.org:80".into()],
        ..Default::default()
    };
    run(c.add_lb(spec, ApplyOptions::default(), &NoProgress)).unwrap();
    s1.clear();
    s1.on("nginx -t", fail(1, "host not found in upstream \"wordpress.example.org:80\""));
    let e = run(c.set_lb("ng1", LbSetting::Resolvers(vec!["10.0.4.10".into()]), ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConfigRejected, "{e}");
    let lines = s1.full_lines();
    // The live resolv.conf is written only inside the check (which puts the old one back on failure).
    assert!(!lines.iter().any(|l| l.ends_with("/etc/resolv.conf 0644")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("flockport-next/resolv.conf")), "{lines:#?}");
    assert!(c.state_blocking().unwrap().lbs["ng1"].resolvers.is_empty());
}

#[test]
fn pub_checks_the_port_then_forwards_and_unpub_and_dellb_remove_it() {
    let w = world(super::LbKind::Haproxy);
    haproxy_lb(&w);
    let a = run(w.c.publish("s1:ha1", "8080:80", ApplyOptions::default())).unwrap();
    assert_eq!(a.record.published, [crate::service::Forward { host_port: 8080, port: 80 }]);
    assert_eq!(w.s1.round_trips(), 2, "the port check, then the forward");
    insta::assert_snapshot!("pub_haproxy", transcript(&w.s1));
    assert_eq!(w.c.state_blocking().unwrap().lbs["ha1"].container.host_ports(), [8080]);
    // The port sshd listens on is refused after the check, before any change.
    w.s1.clear();
    w.s1.on_with("ss -Hltnp", |call| {
        if call.argv.last().map(String::as_str) == Some("22") {
            Output::ok("L LISTEN 0 128 192.0.2.11:22 0.0.0.0:* users:((\"sshd\",pid=9,fd=3))\n")
        } else {
            Output::ok("")
        }
    });
    let e = run(w.c.publish("ha1", "22", ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("sshd listens on port 22 of server s1"), "{e}");
    assert_eq!(w.s1.round_trips(), 1, "only the check ran");
    assert_eq!(w.c.state_blocking().unwrap().lbs["ha1"].container.host_ports(), [8080]);
    w.s1.clear();
    run(w.c.unpublish("s1:ha1", 8080, ApplyOptions::default())).unwrap();
    run(w.c.publish("ha1", "8443:443", ApplyOptions::default())).unwrap();
    w.s1.clear();
    run(w.c.del_lb("ha1", ApplyOptions::default())).unwrap();
    insta::assert_snapshot!("dellb_haproxy", transcript(&w.s1));
    assert!(w.c.state_blocking().unwrap().lbs.is_empty());
}

#[test]
fn setlb_ssl_removes_the_old_key_after_the_reload() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["mywordpress.org".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let w = world(super::LbKind::Haproxy);
    haproxy_lb(&w);
    let a = run(w.c.set_lb("ha1", LbSetting::Ssl { cert, key }, ApplyOptions::default())).unwrap();
    let fp = a.record.tls.clone().unwrap();
    let lines = w.s1.full_lines();
    let reload = lines.iter().position(|l| l.contains("systemctl reload")).unwrap();
    let cleanup = lines.iter().position(|l| l.contains(super::REMOVE_OLD_TLS.split(';').next().unwrap())).unwrap();
    assert!(cleanup > reload, "{lines:#?}");
    assert!(lines[cleanup].ends_with(&format!("/etc/haproxy/certs {fp}")), "{}", lines[cleanup]);
    // The key travelled on stdin only, never in a command line.
    let secret = ck.key_pair.serialize_pem();
    let body = secret.lines().nth(1).unwrap();
    assert!(!lines.iter().any(|l| l.contains(body)));
}
