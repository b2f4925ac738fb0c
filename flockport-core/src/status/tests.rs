//! `status`'s join on made-up answers: health words and why, drift, and
//! what counts against `healthy`.

use super::spec::{assemble, Observed, Status};
use crate::cluster::ServerStatus;
use std::path::Path;

const STATE: &str = r#"{"schema": 7,
 "containers": {"app1": {"server": "s1", "address": "10.0.4.101", "image": "fp-img-base-1", "role": "app"}},
 "counters": {},
 "lbs": {"ha1": {"family": "lb", "name": "ha1", "server": "s1", "address": "10.0.4.100", "image": "fp-img-haproxy-1",
   "published": [{"host_port": 8080, "port": 80}], "kind": "haproxy", "mode": "roundrobin",
   "backends": [{"name": "w1", "host": "10.0.4.20", "port": 80}, {"name": "w3", "host": "10.0.5.20", "port": 80}]}},
 "ws": {}, "vips": {}, "dbs": {}, "eps": {}, "adhoc": {}, "container_services": {}, "agents": []}"#;

fn probe(server: &str, lines: &[&str]) -> crate::lxc::ServerFacts {
    let text = format!("version\t5.0.2\noverlay\tyes\n{}\n", lines.join("\n"));
    crate::lxc::parse_probe(server, &text).unwrap()
}

fn row(name: &str, reachable: bool) -> ServerStatus {
    ServerStatus {
        name: name.into(),
        host: "h".into(),
        subnet: "10.0.4.0/24".parse().unwrap(),
        reachable,
        error: None,
        lxc_version: None,
        containers: 0,
        images: 0,
        millis: 1,
    }
}

fn show_stat(w3: &str) -> String {
    format!(
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status\n\
         be_roundrobin,w1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP\n\
         be_roundrobin,w3,0,0,0,0,,0,0,0,,0,,0,0,0,0,{w3}\n"
    )
}

fn observed(w3: &str, app1_present: bool) -> Observed {
    let mut s1 = vec!["c\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-", "c\tha1\tRUNNING\t10.0.4.100,\t10.0.4.100/24\t-"];
    if app1_present {
        s1.push("c\tapp1\tRUNNING\t10.0.4.101,\t10.0.4.101/24\t-");
    }
    let mut o = Observed::default();
    o.facts.insert("s1".into(), probe("s1", &s1));
    o.facts.insert("s2".into(), probe("s2", &["c\tc3\tSTOPPED\t\t10.0.5.20/24\t-"]));
    o.lb.insert("ha1".into(), Ok(show_stat(w3)));
    o
}

fn run(o: &Observed) -> Status {
    let state = crate::state::FileStateStore::parse(Path::new("test"), STATE.as_bytes()).unwrap();
    assemble(&state, vec![row("s1", o.facts.contains_key("s1")), row("s2", true)], o, 5)
}

fn find<'a>(st: &'a Status, family: &str, name: &str) -> &'a super::StatusItem {
    st.items.iter().find(|i| i.family == family && i.name == name).unwrap()
}

#[test]
fn everything_up_is_healthy_and_foreign_containers_are_only_listed() {
    let st = run(&observed("UP", true));
    let lb = find(&st, "lb", "ha1");
    assert_eq!((lb.health.as_str(), lb.why.as_deref()), ("up", None));
    assert_eq!(lb.ports, ["8080:80"]);
    assert_eq!(lb.targets, ["c1 (10.0.4.20:80)", "c3 (10.0.5.20:80)"]);
    assert_eq!(find(&st, "container", "app1").health, "up");
    let unmanaged: Vec<&str> = st.drift.iter().filter(|d| d.kind == "unmanaged").map(|d| d.name.as_str()).collect();
    assert_eq!(unmanaged, ["c1", "c3"]);
    assert!(st.healthy, "{st:?}");
    assert!(st.absent.is_empty(), "every family is in this build: {:?}", st.absent);
}

#[test]
fn job_instances_are_items_and_a_lost_one_is_down_and_drift() {
    let mut o = observed("UP", true);
    o.facts.insert(
        "s2".into(),
        probe("s2", &["c\tc3\tSTOPPED\t\t10.0.5.20/24\t-", "c\tc1-1\tRUNNING\t10.0.5.100,\t10.0.5.100/24\t-"]),
    );
    let mut state = crate::state::FileStateStore::parse(Path::new("test"), STATE.as_bytes()).unwrap();
    let inst = |n: &str, server: &str, a: &str| crate::jobs::Instance {
        name: n.into(),
        server: server.into(),
        address: a.parse().unwrap(),
        version: 1,
        group: None,
    };
    state.jobs.insert(
        "c1".into(),
        crate::jobs::JobRecord {
            base: "c1".into(),
            base_server: "s1".into(),
            version: 1,
            count: 2,
            strategy: "resource".into(),
            network: None,
            group: None,
            replicas: None,
            memory_mib: 256,
            cpu_milli: 250,
            disk_mib: 512,
            port: None,
            lb: None,
            next_index: 3,
            instances: vec![inst("c1-1", "s2", "10.0.5.100"), inst("c1-2", "s1", "10.0.4.102")],
            rollout: None,
        },
    );
    let st = assemble(&state, vec![row("s1", true), row("s2", true)], &o, 5);
    let up = find(&st, "job", "c1-1");
    assert_eq!((up.health.as_str(), up.server.as_str(), up.address.as_str()), ("up", "s2", "10.0.5.100"));
    let lost = find(&st, "job", "c1-2");
    assert_eq!(lost.health, "down", "{lost:?}");
    let d: Vec<_> = st.drift.iter().filter(|d| d.family == "job").collect();
    assert_eq!(d.len(), 1, "{:?}", st.drift);
    assert_eq!((d[0].kind.as_str(), d[0].name.as_str()), ("missing", "c1-2"));
    assert!(d[0].hint.contains("scalejob c1 2"), "{}", d[0].hint);
    assert!(!st.drift.iter().any(|d| d.name == "c1-1"), "a job's instance is not unmanaged: {:?}", st.drift);
    assert!(!st.healthy);
}

#[test]
fn a_backend_down_makes_its_lb_degraded_naming_the_container() {
    for word in ["DOWN", "UP 1/3", "MAINT"] {
        let st = run(&observed(word, true));
        let lb = find(&st, "lb", "ha1");
        assert_eq!(lb.health, "degraded", "{word}");
        assert_eq!(lb.why.as_deref(), Some(format!("backend c3 (10.0.5.20:80) {word}").as_str()));
        assert!(!st.healthy);
    }
}

#[test]
fn every_backend_down_makes_it_down() {
    let mut o = observed("DOWN", true);
    o.lb.insert("ha1".into(), Ok(show_stat("DOWN").replace(",UP\n", ",DOWN\n")));
    assert_eq!(find(&run(&o), "lb", "ha1").health, "down");
}

#[test]
fn a_container_gone_behind_flockports_back_is_missing_drift() {
    let st = run(&observed("UP", false));
    let app = find(&st, "container", "app1");
    assert_eq!(app.health, "down");
    assert_eq!(app.why.as_deref(), Some("container app1 is missing on s1"));
    assert!(st.drift.iter().any(|d| d.kind == "missing" && d.name == "app1" && d.server == "s1"), "{:?}", st.drift);
    assert!(!st.healthy);
}

#[test]
fn an_unreadable_server_makes_its_items_unknown() {
    let mut o = observed("UP", true);
    o.facts.remove("s1");
    o.unread.insert("s1".into(), "connection refused".into());
    let st = run(&o);
    for (f, n) in [("lb", "ha1"), ("container", "app1")] {
        let i = find(&st, f, n);
        assert_eq!(i.health, "unknown");
        assert!(i.why.as_deref().unwrap_or_default().contains("server s1 could not be read: connection refused"));
    }
    assert!(!st.healthy);
}

/// `status` reads each server in ONE round trip (the probe and every health
/// command of what runs there together), and a command that fails in it
/// spoils only its own answer.
#[tokio::test]
async fn status_is_one_round_trip_per_server() {
    use crate::mock_tests::{cluster_with, probe_fake};
    use crate::transport::Output;
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("flockport-state.json");
    std::fs::write(&state_file, STATE).unwrap();
    let s1 = probe_fake(
        "s1",
        "version\t5.0.2\noverlay\tyes\nc\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\nc\tha1\tRUNNING\t10.0.4.100,\t10.0.4.100/24\t-\nc\tapp1\tRUNNING\t10.0.4.101,\t10.0.4.101/24\t-\n",
    );
    s1.on("show stat", Output::ok(show_stat("DOWN")));
    let s2 = probe_fake("s2", "version\t5.0.2\noverlay\tyes\nc\tc3\tSTOPPED\t\t10.0.5.20/24\t-\n");
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let st = c.status().await.unwrap();
    assert_eq!((s1.round_trips(), s2.round_trips()), (1, 1), "s1: {:?}\ns2: {:?}", s1.lines(), s2.lines());
    assert_eq!(s1.calls().len(), 2, "the probe and ha1's health: {:?}", s1.lines());
    assert!(s1.lines()[1].starts_with("lxc-attach -P /var/lib/lxc -n ha1"), "{:?}", s1.lines());
    let lb = find(&st, "lb", "ha1");
    assert_eq!((lb.health.as_str(), lb.why.as_deref()), ("degraded", Some("backend c3 (10.0.5.20:80) DOWN")));
    assert_eq!(find(&st, "container", "app1").health, "up");
    assert!(st.servers.iter().all(|s| s.reachable), "{:?}", st.servers);

    // ha1's health command failing leaves the rest of s1's answer whole.
    let s1b = probe_fake(
        "s1",
        "version\t5.0.2\noverlay\tyes\nc\tha1\tRUNNING\t10.0.4.100,\t10.0.4.100/24\t-\nc\tapp1\tRUNNING\t10.0.4.101,\t10.0.4.101/24\t-\n",
    );
    s1b.on("show stat", crate::testkit::fail(1, "socat: connection refused"));
    let c = cluster_with(dir.path(), &[&s1b, &s2]);
    let st = c.status().await.unwrap();
    let lb = find(&st, "lb", "ha1");
    assert_eq!(lb.health, "unknown");
    assert!(lb.why.as_deref().unwrap_or_default().contains("socat: connection refused"), "{lb:?}");
    assert_eq!(find(&st, "container", "app1").health, "up");
}
