//! Golden renders of the shipped templates, backend parsing, and the steps of
//! LB changes (runtime API vs reload).

use super::*;
use crate::inventory::ServerConfig;
use crate::plan::{Action, Step};
use crate::service::ServiceContainer;
use std::net::Ipv4Addr;

pub(crate) fn rec(kind: LbKind) -> LbRecord {
    LbRecord {
        container: ServiceContainer {
            family: Family::Lb,
            name: if kind == LbKind::Haproxy { "ha1".into() } else { "nginxlb-10".into() },
            server: "s1".into(),
            address: Ipv4Addr::new(10, 0, 4, 100),
            image: "fp-img-haproxy-00000000".into(),
            published: vec![],
        },
        kind,
        mode: kind.default_mode().into(),
        url: if kind == LbKind::Nginx { Some("mywordpress.org".into()) } else { None },
        backends: match kind {
            LbKind::Haproxy => vec![
                Backend::parse(kind, "web1:10.0.4.20:80").unwrap(),
                Backend::parse(kind, "web2:10.0.5.20:80").unwrap(),
            ],
            LbKind::Nginx => vec![
                Backend::parse(kind, "10.0.4.20:80").unwrap(),
                Backend::parse(kind, "wordpress.example.org:80").unwrap(),
            ],
        },
        tls: None,
        workers: None,
        resolvers: vec![],
    }
}

const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 4, 1);

pub(crate) fn server() -> ServerConfig {
    let text = "[[server]]\nname = \"s1\"\nhost = \"192.0.2.1\"\nsubnet = \"10.0.4.0/24\"\n";
    crate::inventory::Inventory::parse(std::path::Path::new("t"), text).unwrap().servers.remove(0)
}

#[test]
fn golden_haproxy_cfg() {
    insta::assert_snapshot!("haproxy_plain", render_haproxy(&rec(LbKind::Haproxy)).unwrap());
    let mut r = rec(LbKind::Haproxy);
    r.mode = "source".into();
    r.tls = Some("0123456789abcdef".into());
    r.url = Some("mywordpress.org".into());
    r.workers = Some(2);
    r.resolvers = vec![Ipv4Addr::new(10, 0, 4, 10)];
    insta::assert_snapshot!("haproxy_full", render_haproxy(&r).unwrap());
}

#[test]
fn golden_nginx_conf() {
    let (main, site) = render_nginx(&rec(LbKind::Nginx), "/etc/nginx/flockport", GW).unwrap();
    insta::assert_snapshot!("nginx_main", main);
    insta::assert_snapshot!("nginx_site_plain", site);
    let mut r = rec(LbKind::Nginx);
    r.mode = "ip_hash".into();
    r.tls = Some("0123456789abcdef".into());
    r.workers = Some(4);
    r.resolvers = vec![Ipv4Addr::new(10, 0, 4, 10), Ipv4Addr::new(10, 0, 5, 10)];
    let (main, site) = render_nginx(&r, "/etc/nginx/flockport-next", GW).unwrap();
    assert!(main.contains("worker_processes 4;") && main.contains("include /etc/nginx/flockport-next/lb.conf;"));
    insta::assert_snapshot!("nginx_site_full", site);
}

#[test]
fn golden_nginx_conf_with_a_consul_name_resolves_at_each_request() {
    let mut r = rec(LbKind::Nginx);
    r.backends = vec![Backend::parse(LbKind::Nginx, "minio.consul:9000").unwrap()];
    let (_, site) = render_nginx(&r, "/etc/nginx/flockport", GW).unwrap();
    insta::assert_snapshot!("nginx_site_consul", site);
    assert!(!site.contains("upstream lb_backends") && !site.contains("split_clients"), "{site}");
    // With two other backends: two thirds of the requests to their upstream, the rest to the name.
    r.backends.insert(0, Backend::parse(LbKind::Nginx, "10.0.4.20:80").unwrap());
    r.backends.insert(1, Backend::parse(LbKind::Nginx, "10.0.5.20:80").unwrap());
    let (_, site) = render_nginx(&r, "/etc/nginx/flockport", GW).unwrap();
    insta::assert_snapshot!("nginx_site_mixed", site);
    assert!(site.contains("66.66% \"lb_backends\";\n    * \"minio.service.consul:9000\";"), "{site}");
}

#[test]
fn backends_parse_per_kind() {
    let h = LbKind::Haproxy;
    let b = Backend::parse(h, "web1:10.0.4.20:9000").unwrap();
    assert_eq!((b.key(), b.to_string()), ("web1".to_string(), "web1:10.0.4.20:9000".to_string()));
    assert!(b.matches("web1") && b.matches("web1:10.0.4.20:9000") && !b.matches("10.0.4.20:9000"));
    for (bad, names) in [
        ("10.0.4.20:80", "need a name"),
        ("web1:10.0.4.300:80", "10.0.4.300"),
        ("web1:wordpress.consul:80", "wordpress.consul"),
        ("web1:10.0.4.20:0", "\"0\""),
        ("web1:10.0.4.20:65536", "65536"),
        ("w;b:10.0.4.20:80", "w;b"),
    ] {
        let e = Backend::parse(h, bad).unwrap_err().to_string();
        assert!(e.contains(names), "{bad}: {e}");
    }
    let n = LbKind::Nginx;
    assert_eq!(Backend::parse(n, "wordpress.consul:80").unwrap().key(), "wordpress.service.consul:80");
    assert_eq!(Backend::parse(n, "wordpress.example.org:80").unwrap().key(), "wordpress.example.org:80");
    for bad in ["web1:10.0.4.20:80", "10.0.4.256:80", "bad_host!:80", "10.0.4.20"] {
        assert!(Backend::parse(n, bad).is_err(), "{bad}");
    }
    assert!(LbKind::parse("traefik").unwrap_err().to_string().contains("traefik"));
    assert!(LbKind::Nginx.check_mode("source").is_err());
    assert!(LbKind::Haproxy.check_mode("source").is_ok());
    assert!(check_url("https://x.org").is_err() && check_url("x.org").is_ok() && check_url("a b").is_err());
}

fn argvs(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|s| match &s.action {
            Action::Run { argv, .. } => {
                let i = argv.iter().position(|a| a == "--").map_or(0, |i| i + 1);
                argv[i..].iter().take(5).cloned().collect::<Vec<_>>().join(" ")
            }
            Action::WriteFile { path, .. } => format!("write {path}"),
        })
        .collect()
}

#[test]
fn haproxy_backend_changes_use_the_runtime_api_without_reload() {
    let s = server();
    let r = rec(LbKind::Haproxy);
    let b = Backend::parse(LbKind::Haproxy, "web3:10.0.7.20:80").unwrap();
    let b4 = Backend::parse(LbKind::Haproxy, "web4:10.0.7.21:80").unwrap();
    let steps = backend_change_steps(&s, &r, || vec![haproxy_add_servers_step(&s, "ha1", &[b.clone(), b4])]).unwrap();
    // One attach runs every runtime API command: each server joins each mode's backend.
    let Action::Run { argv, .. } = &steps[0].action else { panic!() };
    let cmds: Vec<&String> = argv.iter().skip_while(|a| *a != "/run/haproxy/admin.sock").skip(1).collect();
    assert_eq!(cmds.len(), 18, "{cmds:?}");
    for m in ["roundrobin", "leastconn", "source"] {
        for (n, addr) in [("web3", "10.0.7.20"), ("web4", "10.0.7.21")] {
            assert!(cmds.contains(&&format!("add server be_{m}/{n} {addr}:80 check inter 2s")), "{cmds:?}");
            assert!(
                cmds.contains(&&format!("enable health be_{m}/{n}"))
                    && cmds.contains(&&format!("enable server be_{m}/{n}"))
            );
        }
    }
    assert_eq!(steps.iter().filter(|s| s.description.starts_with("runtime API")).count(), 1);
    let a = argvs(&steps);
    assert!(a.iter().any(|x| x.starts_with("haproxy -c -q -f /etc/haproxy/haproxy.cfg.next")), "{a:?}");
    assert!(a.iter().all(|x| !x.contains("systemctl")), "no reload: {a:?}");
    // A mode change is a map switch, not a reload.
    let m = haproxy_mode_step(&s, "ha1", "leastconn");
    let Action::Run { argv, .. } = &m.action else { panic!() };
    assert_eq!(argv.last().unwrap(), "set map /etc/haproxy/flockport-mode.map mode be_leastconn");
    let check = steps.iter().find(|s| s.checks_config_of.is_some()).unwrap();
    assert_eq!(check.checks_config_of.as_deref(), Some("haproxy"));
    let del = haproxy_drain_del_step(&s, "ha1", std::slice::from_ref(&b));
    assert!(argvs(&[del])[0].starts_with("sh -c SOCK=/run/haproxy/admin.sock"));
    // Several backends: one attach, one drain wait, every name passed as an argument.
    let b2 = Backend::parse(LbKind::Haproxy, "web9:10.0.4.9:8080").unwrap();
    let del = haproxy_drain_del_step(&s, "ha1", &[b.clone(), b2]);
    let Action::Run { argv, .. } = &del.action else { panic!() };
    assert_eq!(argv[argv.len() - 3..], [DRAIN_TENTHS.to_string(), b.key(), "web9".to_string()]);
}

#[test]
fn reload_changes_check_before_swapping() {
    let s = server();
    let steps = config_steps(&s, &rec(LbKind::Nginx), None, Activate::Reload).unwrap();
    let a = argvs(&steps);
    let check = a.iter().position(|x| x.starts_with("nginx -t -q -c /etc/nginx/flockport-next/nginx.conf")).unwrap();
    let live = a.iter().position(|x| x.contains("/etc/nginx/nginx.conf") && !x.contains("flockport-next")).unwrap();
    let reload = a.iter().position(|x| x.contains("RELOAD") || x.starts_with("sh -c kids()")).unwrap();
    assert!(check < live && live < reload, "{a:?}");
}

#[test]
fn tls_keys_are_secret_in_plans() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["x.org".to_string()]).unwrap();
    let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&c, ck.cert.pem()).unwrap();
    std::fs::write(&k, ck.key_pair.serialize_pem()).unwrap();
    let tls = TlsFiles::load(&c, &k).unwrap();
    let mut r = rec(LbKind::Nginx);
    r.tls = Some(tls.fingerprint.clone());
    let steps = config_steps(&server(), &r, Some(&tls), Activate::Reload).unwrap();
    let json = serde_json::to_string(&steps).unwrap();
    assert!(!json.contains("PRIVATE KEY"), "key leaked into the plan");
    assert!(json.contains("<secret,"));
    let other = rcgen::generate_simple_self_signed(vec!["y.org".to_string()]).unwrap();
    let k2 = dir.path().join("k2.pem");
    std::fs::write(&k2, other.key_pair.serialize_pem()).unwrap();
    assert!(TlsFiles::load(&c, &k2).unwrap_err().to_string().contains("does not match"));
    assert!(TlsFiles::load(&dir.path().join("nope.pem"), &k).unwrap_err().to_string().contains("nope.pem"));
    assert!(TlsFiles::load(&k, &k).unwrap_err().to_string().contains("not a PEM certificate"));
}

#[test]
fn nginx_resolvers_govern_the_check_and_are_restored_on_failure() {
    let mut r = rec(LbKind::Nginx);
    r.resolvers = vec![Ipv4Addr::new(192, 168, 122, 1), Ipv4Addr::new(10, 0, 5, 10)];
    let steps = config_steps(&server(), &r, None, Activate::Reload).unwrap();
    let a = argvs(&steps);
    let resolv = steps
        .iter()
        .find(|s| s.description.contains("/etc/nginx/flockport-next/resolv.conf"))
        .expect("a staged resolv.conf");
    let json = serde_json::to_string(resolv).unwrap();
    assert!(json.contains("nameserver 192.168.122.1\\nnameserver 10.0.5.10\\n"), "{json}");
    let check = steps.iter().find(|s| s.description.contains("resolvers")).expect("the check with resolvers");
    assert!(serde_json::to_string(check).unwrap().contains("checks_config"), "{check:?}");
    let ci = a.iter().position(|x| x.contains("resolv.conf.flockport-prev")).unwrap();
    let live = a.iter().position(|x| x.contains("/etc/nginx/nginx.conf") && !x.contains("flockport-next")).unwrap();
    assert!(ci < live, "{a:?}");
    // Without resolvers the container's resolv.conf is not touched.
    let plain = argvs(&config_steps(&server(), &rec(LbKind::Nginx), None, Activate::Reload).unwrap());
    assert!(plain.iter().all(|x| !x.contains("resolv.conf")), "{plain:?}");
}

#[test]
fn nginx_check_with_resolvers_restores_resolv_conf() {
    // The script itself, run by sh with a fake `nginx` that fails, in a scratch root:
    // the only paths it touches are /etc/resolv.conf and its backup, so they are
    // redirected here by running it on copies.
    let dir = tempfile::tempdir().unwrap();
    let script =
        NGINX_CHECK_WITH_RESOLVERS.replace("/etc/resolv.conf", &dir.path().join("resolv.conf").display().to_string());
    std::fs::write(dir.path().join("resolv.conf"), "nameserver 10.9.9.9\n").unwrap();
    std::fs::write(dir.path().join("new"), "nameserver 192.168.122.1\n").unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for (ok, expect) in [(false, "nameserver 10.9.9.9\n"), (true, "nameserver 192.168.122.1\n")] {
        let fake = format!("#!/bin/sh\necho 'host not found in upstream' >&2\nexit {}\n", if ok { 0 } else { 1 });
        std::fs::write(bin.join("nginx"), fake).unwrap();
        std::process::Command::new("chmod").args(["+x"]).arg(bin.join("nginx")).status().unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let st = std::process::Command::new("sh")
            .args(["-c", &script, "sh"])
            .arg(dir.path().join("new"))
            .arg("staged.conf")
            .env("PATH", path)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(st.success(), ok);
        assert_eq!(std::fs::read_to_string(dir.path().join("resolv.conf")).unwrap(), expect);
        assert!(!dir.path().join("resolv.conf.flockport-prev").exists());
        if ok {
            std::fs::write(dir.path().join("resolv.conf"), "nameserver 10.9.9.9\n").unwrap();
        }
    }
}
