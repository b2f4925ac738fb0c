//! Endpoint verbs on the scripted fake: secrets never shown, bad input that
//! contacts nothing. What Consul does with it is shown by the lab tests.

use super::*;
use crate::lb::verb_tests::run;
use crate::mock_tests::{cluster_with, probe_fake};
use crate::ErrorKind;

#[test]
fn tokens_and_keys_have_consuls_forms() {
    let t = new_token().unwrap();
    let s = t.expose();
    assert_eq!(s.len(), 36);
    assert_eq!(&s[14..15], "4", "version 4: {s}");
    let k = new_gossip_key().unwrap();
    assert_eq!(openssl::base64::decode_block(k.expose()).unwrap().len(), 32);
    let ip = "10.0.5.10".parse().unwrap();
    assert_eq!(default_name(ip, |_| false), "consul-10");
    assert_eq!(default_name(ip, |n| n == "consul-10"), "consul-5-10");
    assert_eq!(default_name(ip, |n| n == "consul-10" || n == "consul-5-10"), "consul-5-10-2");
}

#[test]
fn bad_input_is_refused_before_any_server_is_contacted() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = probe_fake("s1", "version\t5.0.2\noverlay\tyes\n");
    let c = cluster_with(dir.path(), &[&s1]);
    for (server, ip, name, kind, needle) in [
        ("s9", "10.0.4.10", None, ErrorKind::NotFound, "s9"),
        ("s1", "10.0.5.10", None, ErrorKind::InvalidInput, "10.0.5.10"),
        ("s1", "10.0.4.300", None, ErrorKind::InvalidInput, "10.0.4.300"),
        ("s1", "10.0.4.10", Some("a b"), ErrorKind::InvalidInput, "a b"),
    ] {
        let e = run(c.add_ep(server, ip, name, ApplyOptions::default(), &NoProgress)).unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    let e = run(c.del_ep("nope", false, ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(s1.calls().len(), 0);
}

#[test]
fn the_config_holds_the_secrets_and_the_plan_does_not() {
    let rec = EpRecord {
        container: crate::service::ServiceContainer {
            family: Family::Ep,
            name: "consul-10".into(),
            server: "s1".into(),
            address: "10.0.4.10".parse().unwrap(),
            image: "img".into(),
            published: Vec::new(),
        },
    };
    let (g, t) = (
        Secret::new("R29zc2lwLWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="),
        Secret::new("11111111-2222-4333-8444-555555555555"),
    );
    let text = steps::render_config(&rec, true, &["10.0.5.10".into()], &g, &t).unwrap();
    insta::assert_snapshot!("consul_hcl", text);
    let server = crate::mock_tests::server("s1", "10.0.4.0/24");
    let steps = steps::install_steps(&server, &rec, b"\x7fELF...".to_vec(), text, &t).unwrap();
    let shown = serde_json::to_string(&steps).unwrap();
    assert!(!shown.contains(t.expose()) && !shown.contains(g.expose()), "{shown}");
    assert!(shown.contains("<binary, 7 bytes"), "{shown}");
    // The servers' agents: their token and the gossip key only in secret contents.
    let a = Secret::new("66666666-7777-4888-8999-000000000000");
    let mut agent_steps = super::agents::install_steps(&server, &[&rec], b"\x7fELF...", &g, &a);
    agent_steps.extend(super::agents::token_steps(&server, &rec, &a));
    let shown = serde_json::to_string(&agent_steps).unwrap();
    assert!(!shown.contains(a.expose()) && !shown.contains(g.expose()), "{shown}");
    assert!(shown.contains("/var/lib/flockport/consul/agent.hcl") && shown.contains("<secret,"), "{shown}");
}

/// A state file in `dir` with endpoints consul-10 (s1) and consul-5-10 (s2).
fn two_endpoints(dir: &std::path::Path) {
    let ep = |name: &str, server: &str, addr: &str| serde_json::json!({"family": "ep", "name": name, "server": server, "address": addr, "image": "img", "published": []});
    let state = serde_json::json!({
        "schema": crate::state::SCHEMA_VERSION,
        "eps": {"consul-10": ep("consul-10", "s1", "10.0.4.10"), "consul-5-10": ep("consul-5-10", "s2", "10.0.5.10")},
    });
    std::fs::write(dir.join("flockport-state.json"), state.to_string()).unwrap();
}

#[test]
fn a_change_goes_into_kv_once_and_waits_for_every_live_endpoint_only() {
    let dir = tempfile::tempdir().unwrap();
    two_endpoints(dir.path());
    let (s1, s2) = (crate::testkit::FakeTransport::new("s1"), crate::testkit::FakeTransport::new("s2"));
    // consul-10 answers with a leader through its tunnel; consul-5-10 does not answer.
    s1.tunnel(crate::testkit::http_answering("\"10.0.4.10:8300\""));
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let a = run(c.pub_service("minio", "10.0.7.20:9000", ApplyOptions::default())).unwrap();
    assert!(a.executed);
    let lines = s1.full_lines().join("\n");
    // Staged, stored once through consul-10, awaited on consul-10; nothing sent to the down endpoint.
    assert!(lines.contains("consul kv put flockport/services @/var/lib/flockport-consul/services.next"), "{lines}");
    assert!(lines.contains("wait until consul-10 runs") || lines.contains("flockport-consul/applied"), "{lines}");
    assert!(s2.calls().is_empty(), "{:?}", s2.full_lines());
    assert!(a.plan.state_changes.iter().any(|c| c.contains("consul-5-10 is down")), "{:?}", a.plan.state_changes);
    let staged = s1.calls().into_iter().find(|c| c.line().contains("services.next") && c.stdin.is_some()).unwrap();
    let doc = String::from_utf8(staged.stdin.unwrap()).unwrap();
    assert!(doc.contains("\"minio-10-0-7-20-9000\"") && doc.contains(catalog::TOKEN_PLACEHOLDER), "{doc}");
    let st = run(c.store().load()).unwrap();
    assert_eq!(st.adhoc.len(), 1);

    // No leader: refused before anything is written; state unchanged.
    s1.clear();
    let (n1, n2) = (crate::testkit::FakeTransport::new("s1"), crate::testkit::FakeTransport::new("s2"));
    n1.tunnel(crate::testkit::http_answering("\"\""));
    let c = cluster_with(dir.path(), &[&n1, &n2]);
    let e = run(c.pub_service("other", "10.0.7.21:9000", ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    assert!(e.to_string().contains("no leader"), "{e}");
    assert!(n1.calls().is_empty() && n2.calls().is_empty());
    assert_eq!(run(c.store().load()).unwrap().adhoc.len(), 1);
    // Unknown check, unknown service, duplicate check: refused, nothing contacted.
    n1.clear();
    let e = run(c.unpub_check("nope", ApplyOptions::default())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = run(c.pub_check("x", "tcp", "10.0.7.99:9000", None, None, ApplyOptions::default())).unwrap_err();
    assert!(e.to_string().contains("no published service at 10.0.7.99:9000"), "{e}");
    assert!(n1.calls().is_empty());
}

#[test]
fn a_containers_service_is_defined_applied_at_once_and_forgotten_with_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let state = serde_json::json!({
        "schema": crate::state::SCHEMA_VERSION,
        "containers": {"web1": {"server": "s1", "address": "10.0.4.30", "image": "img", "role": "app"}},
    });
    std::fs::write(dir.path().join("flockport-state.json"), state.to_string()).unwrap();
    let s1 = probe_fake("s1", "version\t5.0.2\noverlay\tyes\nc\tweb1\tRUNNING\t10.0.4.30,\t10.0.4.30/24\t-\n");
    let c = cluster_with(dir.path(), &[&s1]);
    let a = run(c.add_service("web1", "wordpress", 80, ApplyOptions::default())).unwrap();
    assert!(a.executed);
    let lines = s1.full_lines().join("\n");
    assert!(lines.contains("/var/lib/flockport/consul/defs/web1.json"), "{lines}");
    assert!(lines.contains("/var/lib/flockport/hooks/services sync web1 /var/lib/lxc"), "{lines}");
    assert!(lines.contains("lxc.hook.post-stop"), "{lines}");
    // No endpoint yet, so no agent: nothing awaited in a catalog.
    assert!(!lines.contains("catalog services"), "{lines}");
    assert_eq!(a.plan.state_changes.len(), 2, "{:?}", a.plan.state_changes);
    let e = run(c.add_service("web1", "wordpress", 8080, ApplyOptions::default())).unwrap_err();
    assert!(e.to_string().contains("already has service wordpress"), "{e}");
    s1.clear();
    run(c.del_container("web1", ApplyOptions::default())).unwrap();
    let lines = s1.full_lines().join("\n");
    assert!(lines.contains("rm -f \"$1\"") && lines.contains("/var/lib/flockport/consul/defs/web1.json"), "{lines}");
    let st = run(c.store().load()).unwrap();
    assert!(st.container_services.is_empty() && st.containers.is_empty());
}
