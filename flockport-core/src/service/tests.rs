//! The forward scripts run by a real shell against a stand-in `iptables`
//! that keeps its nat table in a file (`-A` appends a rule, `-C` checks it,
//! `-D` deletes one copy): the start hook puts back exactly the missing
//! rules, and removal is idempotent.

use super::*;
use std::path::Path;
use std::process::Command;

const FAKE_IPTABLES: &str = r#"#!/bin/sh
# fake iptables: -w -t nat (-A|-C|-D) RULE...
shift 3
op=$1; shift
rule="$*"
case "$op" in
  -A) printf '%s\n' "$rule" >> "$NAT" ;;
  -C) grep -qxF -- "$rule" "$NAT" 2>/dev/null ;;
  -D) grep -qxF -- "$rule" "$NAT" || exit 1
      awk -v r="$rule" '!d && $0 == r {d=1; next} {print}' "$NAT" > "$NAT.tmp" && mv "$NAT.tmp" "$NAT" ;;
esac
"#;

fn setup(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("forwards")).unwrap();
    let ipt = dir.join("bin/iptables");
    std::fs::write(&ipt, FAKE_IPTABLES).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ipt, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("nat"), "").unwrap();
}

fn sh(dir: &Path, script: &str, args: &[&str], lxc_name: Option<&str>) -> std::process::Output {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script).arg("sh").args(args);
    c.env("PATH", format!("{}:/usr/bin:/bin", dir.join("bin").display()));
    c.env("NAT", dir.join("nat"));
    c.env("FLOCKPORT_FORWARDS_DIR", dir.join("forwards"));
    c.env_remove("LXC_NAME");
    if let Some(n) = lxc_name {
        c.env("LXC_NAME", n);
    }
    c.output().unwrap()
}

fn rules(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("nat")).unwrap().lines().map(str::to_string).collect()
}

fn sc() -> ServiceContainer {
    ServiceContainer {
        family: Family::Lb,
        name: "ha1".into(),
        server: "s1".into(),
        address: "10.0.4.100".parse().unwrap(),
        image: String::new(),
        published: vec![Forward { host_port: 80, port: 80 }, Forward { host_port: 8443, port: 443 }],
    }
}

#[test]
fn the_start_hook_puts_back_exactly_the_missing_forwards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    std::fs::write(d.join("forwards/ha1"), forwards_file(&sc())).unwrap();
    // As LXC runs it at start (LXC_NAME set): adds both chains of both forwards.
    let out = sh(d, START_HOOK_SCRIPT, &["ha1", "lxc", "start-host"], Some("ha1"));
    assert!(out.status.success(), "{out:?}");
    let r = rules(d);
    assert_eq!(r.len(), 4, "{r:#?}");
    assert!(r.contains(&"PREROUTING -p tcp --dport 8443 -m addrtype --dst-type LOCAL -m comment --comment flockport:ha1:8443 -j DNAT --to-destination 10.0.4.100:443".to_string()), "{r:#?}");
    // Run again (a restart with the rules still there): nothing is added twice.
    sh(d, START_HOOK_SCRIPT, &["ha1"], Some("ha1"));
    assert_eq!(rules(d).len(), 4);
    // A flushed nat table (a reboot): all come back.
    std::fs::write(d.join("nat"), "").unwrap();
    let out = sh(d, START_HOOK_SCRIPT, &["ha1"], None);
    assert!(out.status.success());
    assert_eq!(rules(d).len(), 4);
    // A container without forwards, or none recorded: nothing to do.
    assert!(sh(d, START_HOOK_SCRIPT, &["other"], Some("other")).status.success());
    assert_eq!(rules(d).len(), 4);
}

#[test]
fn removing_a_forward_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    std::fs::write(d.join("forwards/ha1"), forwards_file(&sc())).unwrap();
    sh(d, START_HOOK_SCRIPT, &["ha1"], None);
    let args = ["ha1", "10.0.4.100", "8443:443"];
    let out = sh(d, REMOVE_FORWARDS_SCRIPT, &args, None);
    assert!(out.status.success(), "{out:?}");
    let r = rules(d);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert!(r.iter().all(|l| l.contains("--dport 80 ")), "{r:#?}");
    // Already gone (a reboot took it, or a retry): still succeeds, changes nothing.
    assert!(sh(d, REMOVE_FORWARDS_SCRIPT, &args, None).status.success());
    assert_eq!(rules(d).len(), 2);
    std::fs::write(d.join("nat"), "").unwrap();
    assert!(sh(d, REMOVE_FORWARDS_SCRIPT, &["ha1", "10.0.4.100", "80:80"], None).status.success());
}

#[test]
fn the_remove_steps_keep_the_other_forwards_on_record() {
    let s = crate::mock_tests::server("s1", "10.0.4.0/24");
    let steps = remove_forwards_steps(&s, &sc(), &[Forward { host_port: 8443, port: 443 }]);
    match &steps[0].action {
        crate::plan::Action::WriteFile { path, content, .. } => {
            assert_eq!(path, "/var/lib/flockport/forwards/ha1");
            assert_eq!(content.shown(), "80 80 10.0.4.100\n");
        }
        other => panic!("{other:?}"),
    }
    let all = remove_forwards_steps(&s, &sc(), &sc().published);
    assert!(matches!(&all[0].action, crate::plan::Action::Run { argv, .. } if argv[0] == "rm"));
}
