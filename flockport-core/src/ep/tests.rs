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
}
