//! The job scheduler on the lab, real LXC on s1-s3: the seed's flow on c1
//! (placement by free capacity, a fuller server getting fewer, each instance
//! answering HTTP with its own name), groups, replicas, scaling up and down,
//! a lost instance re-created, a rolling upgrade with its intervals, a load
//! balancer in front serving without an error through addjob, scalejob and
//! upgradejob (wrk), a broken version rolled back, bad input refused with
//! nothing changed, and deljob leaving nothing behind.
//!
//! A binary of its own (cargo runs test binaries one at a time): it clones
//! and destroys many containers and briefly changes c1 and c2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, missing_docs)]

use flockport_tests::discovery::on_server;
use flockport_tests::{cli, cli_json, cli_ok, http_get, lab, lab_inventory_copy, Cleanup};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn jobs(inv: &Path) -> Value {
    cli_json(inv, &["listjobs", "--json"])
}

fn job<'a>(all: &'a Value, base: &str) -> Option<&'a Value> {
    all.as_array().unwrap().iter().find(|j| j["base"] == base)
}

/// (name, server, address, state, version) of each instance of `base`.
fn instances(inv: &Path, base: &str) -> Vec<(String, String, String, String, u64)> {
    let all = jobs(inv);
    let j = job(&all, base).unwrap_or_else(|| panic!("no job {base}: {all:#}"));
    j["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["server"].as_str().unwrap().to_string(),
                i["address"].as_str().unwrap().to_string(),
                i["state"].as_str().unwrap().to_string(),
                i["version"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn per_server(list: &[(String, String, String, String, u64)]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (_, s, ..) in list {
        *m.entry(s.clone()).or_insert(0) += 1;
    }
    m
}

/// Every instance answers HTTP on port 80 with its own name (its Nginx
/// within 30 s of the verb's return: without `--port` a verb waits until
/// the container runs, not until its app answers).
fn all_answer_with_their_names(list: &[(String, String, String, String, u64)]) {
    for (name, _, addr, state, _) in list {
        assert_eq!(state, "running", "{name}");
        let start = Instant::now();
        let mut last = http_get(&format!("http://{addr}/"), &[]);
        while last != (200, name.clone()) && start.elapsed() < std::time::Duration::from_secs(30) {
            std::thread::sleep(std::time::Duration::from_millis(300));
            last = http_get(&format!("http://{addr}/"), &[]);
        }
        assert_eq!((last.0, last.1.as_str()), (200, name.as_str()), "{name} at {addr}");
    }
}

/// Every container (name and state) on every server, and the state file.
fn world(inv: &Path) -> (String, Vec<u8>) {
    let c = cli_json(inv, &["listcontainers", "--json"]);
    let mut rows: Vec<String> =
        c.as_array().unwrap().iter().map(|c| format!("{} {} {}", c["server"], c["name"], c["state"])).collect();
    for s in ["s1", "s2", "s3"] {
        let out = on_server(s, "ls /var/lib/lxc");
        rows.push(format!(
            "{s}: {}",
            String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    rows.sort();
    let state = std::fs::read(inv.with_file_name("flockport-state.json")).unwrap_or_default();
    (rows.join("\n"), state)
}

fn refused(inv: &Path, args: &[&str], says: &str) {
    let before = world(inv);
    let out = cli(inv, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "flockport {} succeeded", args.join(" "));
    assert!(err.contains(says), "flockport {}: {err}", args.join(" "));
    assert_eq!(world(inv), before, "flockport {} changed something", args.join(" "));
    println!("refused as expected: flockport {} -> {}", args.join(" "), err.trim());
}

fn mem_total_mib() -> u64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: u64 =
        m.lines().find(|l| l.starts_with("MemTotal:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024
}

/// wrk through a load balancer in slices of 3 s until stopped; the sums of
/// requests, non-2xx responses and socket errors.
struct Load {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<(u64, u64, u64)>>,
}

impl Load {
    fn start(url: String) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let (mut reqs, mut bad, mut sock) = (0u64, 0u64, 0u64);
            while !s.load(Ordering::SeqCst) {
                let out = Command::new("wrk").args(["-t2", "-c8", "-d3s", "--latency", &url]).output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                for line in text.lines() {
                    let l = line.trim();
                    // "12345 requests in 3.00s, 1.2MB read"
                    if l.contains(" requests in ") {
                        reqs += l.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
                    }
                    if let Some(n) = l.strip_prefix("Non-2xx or 3xx responses:") {
                        bad += n.trim().parse::<u64>().unwrap_or(0);
                    }
                    if let Some(rest) = l.strip_prefix("Socket errors:") {
                        sock += rest
                            .split(',')
                            .filter_map(|p| p.split_whitespace().last())
                            .map(|n| n.parse::<u64>().unwrap_or(0))
                            .sum::<u64>();
                    }
                }
            }
            (reqs, bad, sock)
        });
        Load { stop, handle: Some(handle) }
    }
    fn finish(mut self) -> (u64, u64, u64) {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.take().unwrap().join().unwrap()
    }
}

/// Puts a container's file back (or removes it) when dropped.
struct Restore(&'static str, &'static str, String);
impl Drop for Restore {
    fn drop(&mut self) {
        let _ = on_server(self.0, &format!("lxc-attach -n {} -- sh -c {}", self.1, self.2));
    }
}

fn in_container(server: &str, name: &str, script: &str) {
    let quoted = format!("'{}'", script.replace('\'', r"'\''"));
    let out = on_server(server, &format!("lxc-attach -n {name} -- sh -c {quoted}"));
    assert!(out.status.success(), "{name}: {script}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Milestone lines `[HH:MM:SS.mmm] ...` of a CLI run's stderr containing
/// `what`, as seconds of the day.
fn stamps(stderr: &str, what: &str) -> Vec<f64> {
    stderr
        .lines()
        .filter(|l| l.contains(what))
        .filter_map(|l| {
            let t = l.strip_prefix('[')?.split(']').next()?;
            let p: Vec<f64> = t.split(':').filter_map(|x| x.parse().ok()).collect();
            (p.len() == 3).then(|| p[0] * 3600.0 + p[1] * 60.0 + p[2])
        })
        .collect()
}

#[test]
fn jobs_place_scale_upgrade_and_serve_on_the_lab() {
    let Some(lab) = lab() else { return };
    let (_dir, inv) = lab_inventory_copy(&lab);
    let inv = inv.as_path();
    let t0 = Instant::now();
    // Clean-ups run in reverse order, also on failure.
    let _d = ["c1", "c2", "c3", "c4", "c5"].map(|b| Cleanup::new(inv, "deljob", b));

    // ---- bad input before anything exists: each refused, nothing changed.
    refused(inv, &["addjob", "nosuch", "2"], "nosuch");
    refused(inv, &["addjob", "c1", "0"], "COUNT");
    refused(inv, &["addjob", "c1", "-1"], "\"-1\"");
    refused(inv, &["addjob", "c1", "four"], "four");
    refused(inv, &["addjob", "c1", "2", "-r", "0"], "replicas");
    refused(inv, &["addjob", "c1", "2", "-s", "spread"], "spread");
    refused(inv, &["addjob", "c1", "2", "-n", "nobridge0"], "no server has network nobridge0");
    refused(inv, &["addjob", "c1", "1000", "--memory", "1G"], "would fit");
    for verb in ["upgradejob", "deljob"] {
        refused(inv, &[verb, "nojob"], "nojob");
    }
    refused(inv, &["scalejob", "nojob", "3"], "nojob");

    // ---- a much fuller server gets fewer: one big instance of c4 first.
    let big = format!("{}M", mem_total_mib() / 2);
    let a = cli_json(inv, &["addjob", "c4", "1", "--memory", &big, "--json"]);
    let full = a["record"]["instances"][0]["server"].as_str().unwrap().to_string();
    println!("c4-1 ({big}) went to {full} ({:?})", t0.elapsed());

    // ---- the seed's flow: addjob c1 4.
    let out = cli(inv, &["addjob", "c1", "4"]);
    assert!(out.status.success(), "addjob c1 4: {}", String::from_utf8_lossy(&out.stderr));
    println!("addjob c1 4: {} ({:?})", String::from_utf8_lossy(&out.stdout).trim(), t0.elapsed());
    let c1 = instances(inv, "c1");
    assert_eq!(c1.len(), 4);
    let counts = per_server(&c1);
    let on_full = counts.get(&full).copied().unwrap_or(0);
    for s in ["s1", "s2", "s3"].iter().filter(|s| **s != full) {
        assert!(on_full < counts.get(*s).copied().unwrap_or(0), "the fuller {full} got {on_full}: {counts:?}");
    }
    all_answer_with_their_names(&c1);
    let j = jobs(inv);
    assert_eq!(job(&j, "c1").unwrap()["running"], 4, "{j:#}");

    // ---- groups: c3 and c5 of group g1 share one server.
    cli_ok(inv, &["addjob", "c3", "2", "-g", "g1"]);
    cli_ok(inv, &["addjob", "c5", "2", "-g", "g1"]);
    let mut g: Vec<_> = instances(inv, "c3");
    g.extend(instances(inv, "c5"));
    let servers = per_server(&g);
    assert_eq!(servers.len(), 1, "group g1 on one server: {servers:?}");
    assert_eq!(servers.values().sum::<usize>(), 4);
    all_answer_with_their_names(&g);
    let gserver = servers.keys().next().unwrap().clone();
    // A group whose server lacks the room; a job that exists.
    refused(inv, &["addjob", "c2", "1", "-g", "g1", "--memory", &format!("{}M", mem_total_mib())], "group g1");
    refused(inv, &["addjob", "c1", "1"], "already exists");
    println!("groups on {gserver} ({:?})", t0.elapsed());

    // ---- replicas: c2 6 -r 2 is two on each of three servers.
    cli_ok(inv, &["addjob", "c2", "6", "-r", "2"]);
    let c2 = instances(inv, "c2");
    assert_eq!(per_server(&c2).values().copied().collect::<Vec<_>>(), [2, 2, 2], "{c2:?}");
    all_answer_with_their_names(&c2);
    cli_ok(inv, &["deljob", "c2"]);
    println!("replicas ({:?})", t0.elapsed());

    // ---- scaling.
    cli_ok(inv, &["scalejob", "c1", "6"]);
    let c1 = instances(inv, "c1");
    assert_eq!(c1.len(), 6);
    all_answer_with_their_names(&c1);
    let before = per_server(&c1);
    cli_ok(inv, &["scalejob", "c1", "-3"]);
    let c1 = instances(inv, "c1");
    assert_eq!(c1.len(), 3);
    let after = per_server(&c1);
    // The fullest server (the big c4 instance's) loses first.
    assert!(after.get(&full).copied().unwrap_or(0) <= before.get(&full).copied().unwrap_or(0));
    all_answer_with_their_names(&c1);
    println!("scaled 6 then -3: {before:?} -> {after:?} ({:?})", t0.elapsed());

    // ---- a lost instance: destroyed behind flockport's back.
    let (lost_name, lost_server, ..) = c1[0].clone();
    let out = on_server(&lost_server, &format!("lxc-destroy -f -n {lost_name}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let st = instances(inv, "c1");
    let lost: Vec<_> = st.iter().filter(|i| i.3 == "lost").map(|i| i.0.clone()).collect();
    assert_eq!(lost, std::slice::from_ref(&lost_name), "{st:?}");
    cli_ok(inv, &["scalejob", "c1", "3"]);
    let c1 = instances(inv, "c1");
    assert_eq!(c1.len(), 3);
    assert!(!c1.iter().any(|i| i.0 == lost_name), "{c1:?}");
    all_answer_with_their_names(&c1);
    println!("lost {lost_name} re-created ({:?})", t0.elapsed());

    // ---- a rolling upgrade after a change inside c1: a new file served on 8080.
    let _r = Restore("s1", "c1", "'rm -rf /etc/nginx/conf.d/job-version.conf /srv/job-www'".into());
    in_container(
        "s1",
        "c1",
        "mkdir -p /srv/job-www && echo v2 > /srv/job-www/version.txt && printf 'server { listen 8080; root /srv/job-www; }\\n' > /etc/nginx/conf.d/job-version.conf",
    );
    let out = cli(inv, &["upgradejob", "c1", "-i", "2"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "upgradejob c1 -i 2: {err}");
    println!("{err}");
    let t = stamps(&err, " replaced by ");
    assert_eq!(t.len(), 3, "one milestone per instance: {err}");
    for w in t.windows(2) {
        assert!(w[1] - w[0] >= 2.0, "instances replaced {:.2} s apart (-i 2): {err}", w[1] - w[0]);
    }
    let c1 = instances(inv, "c1");
    assert_eq!(c1.len(), 3);
    for (name, _, addr, _, v) in &c1 {
        assert_eq!(*v, 2, "{name}");
        assert_eq!(http_get(&format!("http://{addr}:8080/version.txt"), &[]), (200, "v2".to_string()), "{name}");
    }
    all_answer_with_their_names(&c1);
    assert_eq!(job(&jobs(inv), "c1").unwrap()["job"]["rollout"]["state"], "done");
    println!("upgraded ({:?})", t0.elapsed());

    // ---- behind a load balancer: no error through addjob, scalejob up and down, upgradejob.
    let lb = cli_json(inv, &["addlb", "haproxy", "s1", "-n", "jobha", "-b", "w1:10.0.4.20:80", "--json"]);
    let _dl = Cleanup::new(inv, "dellb", "jobha");
    let lb_addr = lb["record"]["address"].as_str().unwrap().to_string();
    assert_eq!(http_get(&format!("http://{lb_addr}/"), &[]).0, 200);
    let load = Load::start(format!("http://{lb_addr}/"));
    cli_ok(inv, &["addjob", "c2", "2", "--lb", "jobha:80"]);
    cli_ok(inv, &["scalejob", "c2", "+2"]);
    cli_ok(inv, &["scalejob", "c2", "-2"]);
    cli_ok(inv, &["upgradejob", "c2"]);
    // A version whose app does not start: the rollout stops after one instance, rolled back.
    let _r2 = Restore("s1", "c2", "'systemctl enable nginx >/dev/null 2>&1; true'".into());
    in_container("s1", "c2", "systemctl disable nginx >/dev/null 2>&1");
    let before = instances(inv, "c2");
    let out = cli(inv, &["upgradejob", "c2"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "a broken version must fail: {err}");
    assert!(err.contains("did not answer"), "{err}");
    let (reqs, bad, sock) = load.finish();
    println!("wrk through jobha: {reqs} requests, {bad} non-2xx, {sock} socket errors ({:?})", t0.elapsed());
    assert!(reqs > 1000, "wrk ran: {reqs}");
    assert_eq!((bad, sock), (0, 0), "errors through the load balancer");
    let after = instances(inv, "c2");
    assert_eq!(after, before, "the others keep the old version");
    let j = jobs(inv);
    let r = &job(&j, "c2").unwrap()["job"]["rollout"];
    assert_eq!(r["state"], "rolled back", "{r:#}");
    assert_eq!(r["replaced"], 0);
    all_answer_with_their_names(&after);
    let lbs = cli_json(inv, &["listlbs", "--json"]);
    let text = lbs.to_string();
    for (name, ..) in &after {
        assert!(text.contains(name.as_str()), "{name} is a backend of jobha: {text}");
    }
    cli_ok(inv, &["deljob", "c2"]);
    let text = cli_json(inv, &["listlbs", "--json"]).to_string();
    assert!(!after.iter().any(|(n, ..)| text.contains(n.as_str())), "deljob drained them out: {text}");

    // ---- deljob leaves no instance, snapshot or state; the base still runs.
    for b in ["c1", "c3", "c4", "c5"] {
        cli_ok(inv, &["deljob", b]);
    }
    assert_eq!(jobs(inv), Value::Array(vec![]));
    for s in ["s1", "s2", "s3"] {
        let out = on_server(s, "ls /var/lib/lxc | grep -E '^(c[1-5]-[0-9]+|fp-img-job-)' || true");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "left on {s}");
    }
    assert_eq!(http_get("http://10.0.4.20/", &[]), (200, "c1".to_string()), "c1 itself still runs");
    println!("done in {:?}", t0.elapsed());
}
