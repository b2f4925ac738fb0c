//! The platform's shared mechanisms on the lab: ownership of service
//! containers, a plan over two servers that fails half-way, an interrupted
//! change and its retry, a reboot (containers and forwards come back), `pub`
//! refusing a port the server uses, and a server that is down not holding up
//! changes elsewhere.

use flockport_core::plan::{NoProgress, Plan, Step};
use flockport_core::transport::TransportExt;
use flockport_core::Cluster;
use flockport_tests::{cli, cli_json, cli_ok, interrupt_when, lab, lab_inventory_copy, server_lock, Cleanup};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `addlb haproxy SERVER -n PREFIX<pid>` (the server's test lock held while
/// it picks an address); the guard removes it when the test ends.
fn haproxy_lb(inv: &Path, server: &str, prefix: &str) -> (String, Cleanup) {
    let name = format!("{prefix}{}", std::process::id() % 10_000);
    let lock = server_lock(server);
    cli_ok(inv, &["addlb", "haproxy", server, "-n", &name]);
    drop(lock);
    (name.clone(), Cleanup::new(inv, "dellb", name))
}

fn state(inv: &Path) -> serde_json::Value {
    let c = Cluster::open(Some(inv)).unwrap();
    serde_json::to_value(c.state_blocking().unwrap()).unwrap()
}

fn lb(inv: &Path, name: &str) -> serde_json::Value {
    let all = cli_json(inv, &["listlbs", "--json"]);
    all.as_array().unwrap().iter().find(|l| l["name"] == name).cloned().unwrap_or(serde_json::Value::Null)
}

/// Runs a shell line on a lab server over its SSH transport (the server's own view).
fn on(inv: &Path, server: &str, script: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = Cluster::open(Some(inv)).unwrap();
        let t = c.transport(c.server(server).unwrap()).unwrap();
        t.run_script(script, &[]).await.unwrap().stdout_str()
    })
}

fn nat_rules(ns: &str) -> String {
    let out = Command::new("ip").args(["netns", "exec", ns, "iptables", "-w", "-t", "nat", "-S"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn netns_get(ns: &str, url: &str) -> String {
    let out = Command::new("ip").args(["netns", "exec", ns, "curl", "-sS", "--max-time", "5", url]).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim())
}

/// Polls `f` until it is true (20 s at most).
fn eventually(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_load_balancers_container_is_removed_only_through_its_lb() {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let (name, _g) = haproxy_lb(&inv, "s3", "fpt-own");
    let address = lb(&inv, &name)["address"].as_str().unwrap().to_string();
    let before = state(&inv);
    let out = cli(&inv, &["delcontainer", &name]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&name) && err.contains(&format!("flockport dellb {name}")), "{err}");
    assert_eq!(state(&inv), before, "state unchanged");
    let listed = cli_json(&inv, &["listcontainers", "s3", "--json"]);
    assert!(listed.as_array().unwrap().iter().any(|c| c["name"] == name && c["state"] == "running"), "{listed}");
    // Its address stays taken even when its container is lost behind flockport's back.
    on(&inv, "s3", &format!("lxc-destroy -P /var/lib/lxc -n {name} -f"));
    let out = cli(&inv, &["addcontainer", "s3", "fpt-next", "--ip", &address, "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let free = cli_json(&inv, &["addcontainer", "s3", "fpt-next", "--dry-run", "--json"]);
    assert_ne!(free["record"]["address"], address.as_str(), "{free}");
    // A name a service uses is refused for a container, and dellb still succeeds with its container gone.
    let out = cli(&inv, &["addcontainer", "s3", &name, "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    cli_ok(&inv, &["dellb", &name]);
    assert!(state(&inv)["lbs"].as_object().unwrap().is_empty());
}

#[tokio::test]
async fn a_two_server_change_whose_second_half_fails_rolls_back_both() {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let c = Cluster::open(Some(&inv)).unwrap();
    let dir = format!("/var/lib/flockport/fpt-rollback-{}", std::process::id());
    let mkdir = |server: &str, what: &str, sub: &str| {
        Step::run(server, what, vec!["mkdir".into(), "-p".into(), format!("{dir}/{sub}")])
    };
    let mut plan = Plan::new("a change on s1 and s2");
    // s1: a slow first round trip, then a second that must never start.
    plan.steps
        .push(Step::run("s1", "slow", vec!["sh".into(), "-c".into(), format!("sleep 1; mkdir -p {dir}/a")]).alone());
    plan.steps.push(mkdir("s1", "after", "b"));
    // s2: a change, then a failure.
    plan.steps.push(mkdir("s2", "first half", "c"));
    plan.steps.push(Step::run("s2", "fails", vec!["sh".into(), "-c".into(), "echo 'made to fail' >&2; exit 7".into()]));
    plan.steps.push(mkdir("s2", "never", "d"));
    for s in ["s1", "s2"] {
        plan.rollback.push(Step::run(s, "undo", vec!["rm".into(), "-rf".into(), dir.clone()]));
    }
    let mut ts = std::collections::BTreeMap::new();
    for s in ["s1", "s2"] {
        ts.insert(s.to_string(), c.transport(c.server(s).unwrap()).unwrap());
    }
    let e = plan.execute(&ts, &NoProgress).await.unwrap_err();
    assert!(e.to_string().contains("made to fail") && e.to_string().contains("server s2"), "{e}");
    for s in ["s1", "s2"] {
        let t = &ts[s];
        let out = t.run_script(&format!("ls -d {dir} {dir}/* 2>/dev/null; echo end"), &[]).await.unwrap().stdout_str();
        assert_eq!(out.trim(), "end", "{s} was rolled back: {out}");
    }
}

#[test]
fn interrupting_addlb_rolls_back_and_a_retry_succeeds() {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let name = format!("fpt-int{}", std::process::id() % 10_000);
    let lock = server_lock("s3");
    // After the clone step starts: SIGINT, as Ctrl-C sends.
    let (code, sent, seen) =
        interrupt_when(&inv, &["addlb", "haproxy", "s3", "-n", &name], &format!("create container {name}"));
    drop(lock);
    let _g = Cleanup::new(&inv, "dellb", name.clone());
    assert!(sent, "the clone step was announced: {seen:#?}");
    assert_eq!(code, Some(130), "{seen:#?}");
    let text = seen.join("\n");
    assert!(text.contains("interrupted") && text.contains("rolling back on s3"), "{text}");
    assert!(text.contains("run it again"), "{text}");
    assert!(state(&inv)["lbs"].as_object().unwrap().is_empty(), "nothing recorded");
    let listed = cli_json(&inv, &["listcontainers", "s3", "--json"]);
    assert!(listed.as_array().unwrap().iter().all(|c| c["name"] != name), "container rolled back: {listed}");
    // The same command again succeeds.
    let lock = server_lock("s3");
    cli_ok(&inv, &["addlb", "haproxy", "s3", "-n", &name]);
    drop(lock);
    assert_eq!(lb(&inv, &name)["kind"], "haproxy");
    cli_ok(&inv, &["dellb", &name]);
}

#[test]
fn containers_and_forwards_come_back_after_a_reboot() {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let (name, _g) = haproxy_lb(&inv, "s2", "fpt-boot");
    cli_ok(&inv, &["addbackends", &name, "web1:10.0.4.20:80"]);
    // HOSTPORT:PORT: s2's 8081 to the balancer's 80.
    cli_ok(&inv, &["pub", &format!("s2:{name}"), "8081:80"]);
    assert_eq!(lb(&inv, &name)["published"], serde_json::json!([{"host_port": 8081, "port": 80}]));
    let url = "http://192.168.122.12:8081/";
    eventually("the forward answers from s1", || netns_get("s1", url) == "c1");
    // "Reboot": the container stops, the nat table is flushed.
    on(&inv, "s2", &format!("lxc-stop -P /var/lib/lxc -n {name} -t 10"));
    Command::new("ip").args(["netns", "exec", "s2", "iptables", "-w", "-t", "nat", "-F"]).status().unwrap();
    assert!(!nat_rules("s2").contains(&format!("flockport:{name}")));
    // While it is down, listlbs shows it, says its health could not be read, and exits 3.
    let out = cli(&inv, &["listlbs"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&name));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("server s2 could not be read: {name}")));
    // At boot LXC starts every container marked autostart ...
    let auto = on(&inv, "s2", "lxc-autostart -P /var/lib/lxc -L");
    assert!(auto.lines().any(|l| l.split_whitespace().next() == Some(name.as_str())), "autostart: {auto}");
    // ... (started here one by one, not every autostart container of the lab server) ...
    on(
        &inv,
        "s2",
        &format!("lxc-start -P /var/lib/lxc -n {name} && lxc-wait -P /var/lib/lxc -n {name} -s RUNNING -t 30"),
    );
    // ... and its start hook puts the forward back.
    let rules = nat_rules("s2");
    assert!(rules.contains(&format!("flockport:{name}:8081")), "{rules}");
    eventually("the forward answers again after the reboot", || netns_get("s1", url) == "c1");
    // Removing a forward that is already gone succeeds.
    Command::new("ip").args(["netns", "exec", "s2", "iptables", "-w", "-t", "nat", "-F"]).status().unwrap();
    cli_ok(&inv, &["unpub", &format!("s2:{name}"), "8081"]);
    assert_eq!(lb(&inv, &name)["published"], serde_json::json!([]));
    cli_ok(&inv, &["pub", &format!("s2:{name}"), "8081:80"]);
    Command::new("ip").args(["netns", "exec", "s2", "iptables", "-w", "-t", "nat", "-F"]).status().unwrap();
    cli_ok(&inv, &["dellb", &name]);
    assert!(!nat_rules("s2").contains(&format!("flockport:{name}")));
    let forwards = on(&inv, "s2", &format!("ls /var/lib/flockport/forwards/{name} 2>/dev/null; echo end"));
    assert_eq!(forwards.trim(), "end", "the forwards file went with the LB");
}

#[test]
fn pub_refuses_a_port_the_server_listens_on() {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let (name, _g) = haproxy_lb(&inv, "s3", "fpt-pub");
    let before = state(&inv);
    for bad in ["22", "22:80"] {
        let out = cli(&inv, &["pub", &format!("s3:{name}"), bad]);
        assert_eq!(out.status.code(), Some(2), "pub {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("sshd listens on port 22 of server s3") && err.contains(bad), "{err}");
    }
    for bad in ["0", "80:0", "x", "70000"] {
        let out = cli(&inv, &["pub", &format!("s3:{name}"), bad]);
        assert_eq!(out.status.code(), Some(2), "pub {bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{bad:?}")));
    }
    assert_eq!(state(&inv), before, "state unchanged");
    assert!(!nat_rules("s3").contains(&format!("flockport:{name}")), "no rule added");
    // The server's ssh still answers.
    assert!(Cluster::open(Some(&inv)).is_ok());
    assert!(on(&inv, "s3", "echo ok").contains("ok"));
}

#[test]
fn a_server_that_is_down_holds_up_no_change_elsewhere_and_listings_say_so() {
    let Some(lab) = lab() else { return };
    let (dir, inv) = lab_inventory_copy(&lab);
    // s9: a server on a loopback port nobody listens on (connection refused at once).
    let text = std::fs::read_to_string(&inv).unwrap();
    let s1 = text.split("[[server]]").find(|b| b.contains("name = \"s1\"")).unwrap();
    let port = flockport_tests::free_port();
    let s9 = s1
        .replace("name = \"s1\"", "name = \"s9\"")
        .replace("192.168.122.11", "127.0.0.1")
        .replace("10.0.4.0/24", "10.0.9.0/24")
        .replace("port = 22", &format!("port = {port}"));
    let s9 = if s9.contains(&format!("port = {port}")) { s9 } else { format!("{s9}port = {port}\n") };
    std::fs::write(&inv, format!("{text}\n[[server]]{s9}")).unwrap();
    let _ = dir;
    let listed = cli(&inv, &["listservers", "--json"]);
    assert_eq!(listed.status.code(), Some(3));
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let s9row = rows.as_array().unwrap().iter().find(|r| r["name"] == "s9").unwrap();
    assert_eq!(s9row["reachable"], false, "{s9row}");
    // listcontainers lists what it read, names s9, exits 3.
    let out = cli(&inv, &["listcontainers", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows.as_array().unwrap().iter().any(|c| c["name"] == "c1"), "{rows}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("server s9 could not be read"));
    // A change on s1 goes ahead.
    let name = format!("fpt-up{}", std::process::id() % 10_000);
    let lock = server_lock("s1");
    let out = cli(&inv, &["addcontainer", "s1", &name]);
    drop(lock);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("s9"), "the missing server is mentioned");
    cli_ok(&inv, &["delcontainer", &name]);
    // A change on s9 itself is refused as unreachable (exit 3), nothing recorded.
    let out = cli(&inv, &["addcontainer", "s9", &name]);
    assert_eq!(out.status.code(), Some(3));
    assert!(state(&inv)["containers"].as_object().unwrap().is_empty());
}
