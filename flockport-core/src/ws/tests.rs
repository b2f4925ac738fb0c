//! Golden renders of a webserver's configs, and its verbs end to end on the
//! scripted [`FakeTransport`]: the exact commands per round trip, state
//! afterwards, failure and rollback, and bad input that contacts nothing.
//! What the commands do to a real Nginx is shown by the lab tests.

use super::*;
use crate::lb::verb_tests::{run, transcript};
use crate::mock_tests::{cluster_with, probe_fake};
use crate::testkit::{fail, FakeTransport};
use crate::ErrorKind;
const GW: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 0, 5, 1);

fn s1_probe() -> String {
    let s = crate::mock_tests::server("s1", "10.0.4.0/24");
    let img = crate::image::ImageSpec::with_packages(packages()).unwrap().template_name(&s);
    format!(
        "version\t5.0.2\noverlay\tyes\nc\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\nc\t{img}\tSTOPPED\t\t\tcomplete\n"
    )
}

struct World {
    dir: tempfile::TempDir,
    s1: FakeTransport,
    s2: FakeTransport,
    c: Cluster,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let s1 = probe_fake("s1", s1_probe());
    let s2 = probe_fake("s2", "version\t5.0.2\noverlay\tyes\nc\tc3\tRUNNING\t10.0.5.20,\t10.0.5.20/24\t-\n");
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    World { dir, s1, s2, c }
}

fn with_ws() -> World {
    let w = world();
    run(w.c.add_ws("s1", Some("nginx11"), ApplyOptions::default(), &NoProgress)).unwrap();
    w.s1.clear();
    w
}

fn app(url: &str, upstream: &str) -> AppSpec {
    AppSpec { ws: "nginx11".into(), url: url.into(), upstream: upstream.into(), ..Default::default() }
}

fn publish(w: &World, url: &str, upstream: &str) -> Applied<WsRecord> {
    run(w.c.pub_app(app(url, upstream), ApplyOptions::default(), &NoProgress)).unwrap()
}

fn record(url: &str, host: &str, tls: Option<AppTls>) -> App {
    App { url: url.into(), upstream: Upstream { host: host.into(), port: 9000, container: None }, tls }
}

#[test]
fn golden_main_default_and_app_configs() {
    let (main, default) = steps::render_main("nginx11", steps::LIVE).unwrap();
    insta::assert_snapshot!("ws_nginx_conf", main);
    insta::assert_snapshot!("ws_default_conf", default);
    insta::assert_snapshot!("ws_front_conf", steps::render_front("nginx11").unwrap());
    insta::assert_snapshot!("ws_back_unit", steps::render_back_unit("nginx11").unwrap());
    insta::assert_snapshot!(
        "ws_app_plain",
        steps::render_app("nginx11", &record("myminio.org", "10.0.5.20", None), GW).unwrap()
    );
    let tls = AppTls { fingerprint: "0123456789abcdef".into(), source: TlsSource::SelfSigned, not_after: "x".into() };
    let mut a = record("mywordpress.org", "10.0.4.20", Some(tls));
    a.upstream.container = Some("wordpress".into());
    insta::assert_snapshot!("ws_app_tls", steps::render_app("nginx11", &a, GW).unwrap());
    // A Consul name: no upstream block, resolved at each request through the server's forwarder.
    let consul = steps::render_app("nginx11", &record("files.org", "minio.service.consul", None), GW).unwrap();
    insta::assert_snapshot!("ws_app_consul", consul);
    assert!(consul.contains("resolver 10.0.5.1 valid=1s") && !consul.contains("\nupstream "), "{consul}");
}

#[test]
fn addws_generates_a_name_and_sends_two_round_trips_after_the_probe() {
    let w = world();
    let a = run(w.c.add_ws("s1", None, ApplyOptions::default(), &NoProgress)).unwrap();
    assert_eq!(a.record.container.name, "nginx1", "generated name");
    assert_eq!(w.s1.round_trips(), 3, "the probe, the container created and started, then configured");
    insta::assert_snapshot!("addws", transcript(&w.s1));
    let st = w.c.state_blocking().unwrap();
    assert_eq!(st.ws["nginx1"].container.address.to_string(), "10.0.4.100");
    assert_eq!(st.service("nginx1").unwrap().family, Family::Ws);
    assert_eq!(st.counters["nginx"], 1);
    // A second one gets the next name and address.
    let b = run(w.c.add_ws("s1", None, ApplyOptions::default(), &NoProgress)).unwrap();
    assert_eq!(
        (b.record.container.name.as_str(), b.record.container.address.to_string()),
        ("nginx2", "10.0.4.101".into())
    );
}

#[test]
fn pubapp_is_one_round_trip_that_writes_one_app_file_however_many_apps_there_are() {
    let w = with_ws();
    publish(&w, "myminio.org", "10.0.5.20:9000");
    assert_eq!(w.s1.round_trips(), 1);
    insta::assert_snapshot!("pubapp", transcript(&w.s1));
    let first = w.s1.calls().len();
    for i in 0..20 {
        publish(&w, &format!("app{i}.org"), "10.0.5.20:9000");
    }
    w.s1.clear();
    publish(&w, "last.org", "10.0.5.20:9000");
    let calls = w.s1.calls();
    assert_eq!(calls.len(), first, "the same commands with 21 apps as with none");
    let pushed: Vec<String> = calls.iter().filter(|c| c.stdin.is_some()).map(|c| c.line()).collect();
    assert!(pushed.iter().all(|l| !l.contains("app0.org")), "another app's file is rewritten: {pushed:#?}");
    assert_eq!(w.c.state_blocking().unwrap().ws["nginx11"].apps.len(), 22);
}

#[test]
fn a_refused_config_rolls_back_and_records_nothing() {
    let w = with_ws();
    w.s1.on("nginx -t", fail(1, "nginx: [emerg] host not found in upstream \"nowhere.example\""));
    let e = run(w.c.pub_app(app("x.org", "nowhere.example:80"), ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert!(matches!(&e, Error::ConfigRejected { service, .. } if service == "nginx"), "{e}");
    let lines = w.s1.lines();
    assert!(
        !lines.iter().any(|l| l.contains("/etc/nginx/flockport/apps/x.org.conf") && l.contains("mktemp")),
        "swapped in: {lines:#?}"
    );
    let n = lines.len();
    assert!(lines[n - 2].contains("rm -f /etc/nginx/flockport/apps/x.org.conf"), "{lines:#?}");
    assert!(lines[n - 1].contains("/run/nginx-back.pid"), "the back reloaded: {lines:#?}");
    assert!(w.c.state_blocking().unwrap().ws["nginx11"].apps.is_empty());
}

#[test]
fn a_container_upstream_is_found_on_any_server_and_recorded_by_name() {
    let w = with_ws();
    let a = publish(&w, "mywordpress.org", "c1.app:80");
    let up = &a.record.apps["mywordpress.org"].upstream;
    assert_eq!((up.host.as_str(), up.container.as_deref()), ("10.0.4.20", Some("c1")));
    let b = publish(&w, "other.org", "c3.app:80");
    assert_eq!(b.record.apps["other.org"].upstream.host, "10.0.5.20", "c3 lives on s2");
    assert!(w.s2.lines().iter().any(|l| l.contains("lxc-ls")), "s2 was asked");
}

#[test]
fn delapp_removes_one_file_and_only_certificates_no_app_uses() {
    let w = with_ws();
    let ss = AppSpec { self_signed: true, ..app("a.org", "10.0.5.20:9000") };
    let a = run(w.c.pub_app(ss, ApplyOptions::default(), &NoProgress)).unwrap();
    let fp_a = a.record.apps["a.org"].tls.as_ref().unwrap().fingerprint.clone();
    let ss = AppSpec { self_signed: true, ..app("b.org", "10.0.5.20:9000") };
    run(w.c.pub_app(ss, ApplyOptions::default(), &NoProgress)).unwrap();
    w.s1.clear();
    run(w.c.del_app("nginx11", "b.org", ApplyOptions::default())).unwrap();
    let calls = w.s1.calls();
    let last = calls.last().unwrap();
    assert!(last.argv.iter().any(|a| a.contains("could not remove")), "TLS clean-up last: {:?}", last.argv);
    assert_eq!(last.argv[last.argv.len() - 1], fp_a, "a.org's certificate is kept");
    assert!(w.s1.lines().iter().any(|l| l.contains("rm -f /etc/nginx/flockport/apps/b.org.conf")));
    assert_eq!(w.c.state_blocking().unwrap().ws["nginx11"].apps.keys().collect::<Vec<_>>(), ["a.org"]);
}

#[test]
fn a_tls_app_reaches_the_front_after_the_back_serves_it_and_leaves_it_first() {
    let w = with_ws();
    let ss = AppSpec { self_signed: true, ..app("A.org", "10.0.5.20:9000") };
    let a = run(w.c.pub_app(ss, ApplyOptions::default(), &NoProgress)).unwrap();
    let fp = a.record.apps["A.org"].tls.as_ref().unwrap().fingerprint.clone();
    let lines = w.s1.lines();
    let at = |needle: &str| {
        lines.iter().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in {lines:#?}"))
    };
    let key = at(&format!("/etc/nginx/flockport/tls/{fp}.key 0600"));
    let chown = at(&format!("chown www-data: /etc/nginx/flockport/tls/{fp}.key"));
    let check = at("nginx -t");
    let reload = at("nginx-back /run/nginx-back.pid HUP");
    let link = at(&format!("/etc/nginx/flockport/sni {fp} a.org"));
    assert!(key < chown && chown < check && check < reload && reload < link, "{lines:#?}");
    assert!(lines.iter().all(|l| !l.contains("systemctl") && !l.contains("/run/nginx.pid")), "the front is left alone");
    w.s1.clear();
    run(w.c.del_app("nginx11", "A.org", ApplyOptions::default())).unwrap();
    let lines = w.s1.lines();
    let unlink = lines.iter().position(|l| l.contains("rm -f /etc/nginx/flockport/sni/a.org.crt")).unwrap();
    let reload = lines.iter().position(|l| l.contains("nginx-back /run/nginx-back.pid HUP")).unwrap();
    assert!(unlink < reload, "{lines:#?}");
    assert!(lines.iter().all(|l| !l.contains("systemctl") && !l.contains("/run/nginx.pid")), "the front is left alone");
}

#[test]
fn a_self_signed_key_is_a_secret_in_the_plan() {
    let w = with_ws();
    let ss = AppSpec { self_signed: true, ..app("a.org", "10.0.5.20:9000") };
    let a = run(w.c.pub_app(ss, ApplyOptions { dry_run: true }, &NoProgress)).unwrap();
    let shown = format!("{}\n{}", serde_json::to_string(&a).unwrap(), a.plan.render());
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert!(shown.contains("<secret"), "{shown}");
    assert_eq!(w.s1.calls().len(), 0, "a dry run touches nothing");
}

#[test]
fn bad_input_is_refused_before_any_server_is_contacted() {
    let w = with_ws();
    publish(&w, "myminio.org", "10.0.5.20:9000");
    w.s1.clear();
    w.s2.clear();
    let before = std::fs::read(w.dir.path().join("flockport-state.json")).unwrap();
    let cert = w.dir.path().join("c.pem");
    let key = w.dir.path().join("k.pem");
    let ck = rcgen::generate_simple_self_signed(vec!["x.org".to_string()]).unwrap();
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["y.org".to_string()]).unwrap();
    std::fs::write(&key, other.key_pair.serialize_pem()).unwrap();
    let cases: Vec<(AppSpec, ErrorKind, &str)> = vec![
        (AppSpec { ws: "nope".into(), ..app("x.org", "10.0.5.20:80") }, ErrorKind::NotFound, "nope"),
        (app("my minio.org", "10.0.5.20:80"), ErrorKind::InvalidInput, "my minio.org"),
        (app("a\nb.org", "10.0.5.20:80"), ErrorKind::InvalidInput, "url"),
        (app("a;b.org", "10.0.5.20:80"), ErrorKind::InvalidInput, "a;b.org"),
        (app("a{b.org", "10.0.5.20:80"), ErrorKind::InvalidInput, "a{b.org"),
        (app("a\"b.org", "10.0.5.20:80"), ErrorKind::InvalidInput, "url"),
        (app("myminio.org", "10.0.5.21:80"), ErrorKind::AlreadyExists, "myminio.org"),
        (app("x.org", "10.0.5.300:80"), ErrorKind::InvalidInput, "10.0.5.300"),
        (app("x.org", "10.0.5.20:70000"), ErrorKind::InvalidInput, "70000"),
        (
            AppSpec { self_signed: true, cert: Some(cert.clone()), ..app("x.org", "10.0.5.20:80") },
            ErrorKind::InvalidInput,
            "-s",
        ),
        (AppSpec { cert: Some(cert.clone()), ..app("x.org", "10.0.5.20:80") }, ErrorKind::InvalidInput, "-k KEY"),
        (AppSpec { key: Some(key.clone()), ..app("x.org", "10.0.5.20:80") }, ErrorKind::InvalidInput, "-c CERT"),
        (
            AppSpec { cert: Some(cert.clone()), key: Some(key.clone()), ..app("x.org", "10.0.5.20:80") },
            ErrorKind::InvalidInput,
            "does not match",
        ),
        (
            AppSpec {
                cert: Some(w.dir.path().join("missing.pem")),
                key: Some(key.clone()),
                ..app("x.org", "10.0.5.20:80")
            },
            ErrorKind::InvalidInput,
            "missing.pem",
        ),
    ];
    for (spec, kind, needle) in cases {
        let shown = format!("{spec:?}");
        let e = run(w.c.pub_app(spec, ApplyOptions::default(), &NoProgress)).unwrap_err();
        assert_eq!(e.kind(), kind, "{shown}: {e}");
        assert!(e.to_string().contains(needle), "{shown}: `{e}` does not name {needle:?}");
    }
    let e = run(w.c.del_app("nginx11", "other.org", ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("other.org") && e.to_string().contains("myminio.org"), "{e}");
    let e = run(w.c.add_ws("s1", Some("nginx11"), ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let e = run(w.c.add_ws("s9", None, ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(w.s1.calls().len() + w.s2.calls().len(), 0, "a server was contacted: {:#?}", w.s1.lines());
    assert_eq!(std::fs::read(w.dir.path().join("flockport-state.json")).unwrap(), before, "state changed");
    // A container that does not exist is looked for (every server probed), then refused.
    let e = run(w.c.pub_app(app("x.org", "ghost.app:80"), ApplyOptions::default(), &NoProgress)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("ghost"), "{e}");
    assert!(w.s1.lines().iter().all(|l| !l.contains("lxc-attach")), "nothing changed on s1");
    assert_eq!(std::fs::read(w.dir.path().join("flockport-state.json")).unwrap(), before, "state changed");
}

#[test]
fn delws_removes_forwards_container_and_record() {
    let w = with_ws();
    run(w.c.publish("s1:nginx11", "80", ApplyOptions::default())).unwrap();
    w.s1.clear();
    run(w.c.del_ws("nginx11", ApplyOptions::default())).unwrap();
    let lines = w.s1.lines();
    assert!(lines.iter().any(|l| l.ends_with("nginx11 10.0.4.100 80:80")), "forward removed: {lines:#?}");
    assert!(lines.last().unwrap().contains("lxc-destroy") && lines.last().unwrap().ends_with(" nginx11"), "{lines:#?}");
    assert!(w.c.state_blocking().unwrap().ws.is_empty());
}
