//! The job verbs against the scripted [`FakeTransport`]: what each sends to
//! which server (snapshot once on the base's server, one stream read there
//! and written on each other server, clones), the state afterwards, the
//! refusals that touch nothing, lost instances, scaling down from the
//! fullest server, a rollout stopped and rolled back; and the input parsers.
//! That instances really run and serve is the lab test's
//! (`tests/tests/jobs/main.rs`).

use super::spec::*;
use crate::cluster::ApplyOptions;
use crate::mock_tests::cluster_with;
use crate::plan::NoProgress;
use crate::testkit::{fail, FakeTransport};
use crate::transport::Output;
use crate::ErrorKind;
use std::sync::{Arc, Mutex};

const HOST: &str = "host\t2\t8388608\t102400000\tv1\n";

/// A fake server whose probe prints `containers` (shared: a test changes it).
fn server(name: &str, net: &str, containers: &str) -> (FakeTransport, Arc<Mutex<String>>) {
    let t = FakeTransport::new(name);
    let text = Arc::new(Mutex::new(containers.to_string()));
    let q = text.clone();
    let head = format!("version\t5.0.2\noverlay\tyes\n{HOST}bridge\tlxcbr0\t{net}.1/24\n");
    t.on_with("command -v lxc-ls", move |_| Output::ok(format!("{head}{}", q.lock().unwrap())));
    t.on("gzip -1", Output::ok(b"SNAPSHOT-BYTES".to_vec()));
    (t, text)
}

fn spec(base: &str, count: u32) -> JobSpec {
    JobSpec { base: base.into(), count, ..Default::default() }
}

fn probes_only(t: &FakeTransport) -> bool {
    t.full_lines().iter().all(|l| l.contains("command -v lxc-ls"))
}

/// The probes' container lines of s1 (holding c1) and s2 once `instances`
/// run and version 1's snapshot is on both.
fn probe_texts(instances: &[Instance]) -> (String, String) {
    let line = |i: &Instance| format!("c\t{}\tRUNNING\t{},\t{}/24\t-\n", i.name, i.address, i.address);
    let mut t1 =
        String::from("c\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\nc\tfp-img-job-c1-v1\tSTOPPED\t\t\tcomplete\n");
    let mut t2 = String::from("c\tfp-img-job-c1-v1\tSTOPPED\t\t\tcomplete\n");
    for i in instances {
        if i.server == "s1" {
            t1.push_str(&line(i));
        } else {
            t2.push_str(&line(i));
        }
    }
    (t1, t2)
}

#[tokio::test]
async fn addjob_snapshots_once_streams_once_per_server_and_clones() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, _) = server("s1", "10.0.4", "c\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\n");
    let (s2, _) = server("s2", "10.0.5", "");
    let c = cluster_with(dir.path(), &[&s1, &s2]);

    let a = c.add_job(spec("c1", 4), ApplyOptions { dry_run: true }, &NoProgress).await.unwrap();
    assert!(!a.executed);
    let on: Vec<&str> = a.record.instances.iter().map(|i| i.server.as_str()).collect();
    assert_eq!(on.iter().filter(|s| **s == "s1").count(), 2, "{on:?}");
    assert_eq!(on.iter().filter(|s| **s == "s2").count(), 2, "{on:?}");
    assert!(a.plan.steps.iter().any(|s| s.server == "s1" && s.description.contains("snapshot c1's root filesystem")));
    assert!(a
        .plan
        .steps
        .iter()
        .any(|s| s.server == "s2" && s.description.contains("receive snapshot fp-img-job-c1-v1")));
    assert!(probes_only(&s1) && probes_only(&s2), "a dry run only probes");
    assert!(!dir.path().join("flockport-state.json").exists(), "a dry run writes no state");

    let a = c.add_job(spec("c1", 4), ApplyOptions::default(), &NoProgress).await.unwrap();
    assert!(a.executed);
    let names: Vec<&str> = a.record.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["c1-1", "c1-2", "c1-3", "c1-4"]);
    let l1 = s1.full_lines();
    let l2 = s2.full_lines();
    assert_eq!(
        l1.iter().filter(|l| l.contains("lxc-info -P \"$P\" -n \"$b\" -sH")).count(),
        1,
        "one snapshot: {l1:#?}"
    );
    assert_eq!(l1.iter().filter(|l| l.contains("gzip -1")).count(), 1, "read once: {l1:#?}");
    let writes: Vec<_> = s2.calls().into_iter().filter(|c| c.argv.join(" ").contains("\"$z\" -dc")).collect();
    assert_eq!(writes.len(), 1, "written once on s2: {l2:#?}");
    assert_eq!(writes[0].stdin.as_deref(), Some(&b"SNAPSHOT-BYTES"[..]), "the bytes read on s1");
    assert_eq!(writes[0].argv.last().map(String::as_str), Some("gzip"), "no zstd on the fakes: gzip");
    assert!(!l1.iter().any(|l| l.contains("\"$z\" -dc")), "nothing is written on the base's server");
    for (t, n) in [(&s1, 2), (&s2, 2)] {
        let clones = t.full_lines().iter().map(|l| l.matches("-n fp-img-job-c1-v1 -N c1-").count()).sum::<usize>();
        assert_eq!(clones, n, "{}", t.full_lines().join("\n"));
    }
    let st = c.state().await.unwrap();
    let j = &st.jobs["c1"];
    assert_eq!((j.count, j.version, j.instances.len()), (4, 1, 4));
    assert!(j.instances.iter().all(|i| i.address.to_string().starts_with(if i.server == "s1" {
        "10.0.4."
    } else {
        "10.0.5."
    })));
    let limits = s1
        .calls()
        .iter()
        .filter_map(|c| c.stdin.clone())
        .any(|b| String::from_utf8_lossy(&b).contains("lxc.cgroup.memory.limit_in_bytes = 268435456"));
    assert!(limits, "v1 limits of 256 MiB");
}

#[tokio::test]
async fn bad_input_is_refused_before_any_server_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, _) = server("s1", "10.0.4", "c\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\n");
    let (s2, _) = server("s2", "10.0.5", "");
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let dry = ApplyOptions::default();
    let cases: Vec<(JobSpec, ErrorKind, &str)> = vec![
        (spec("c1", 0), ErrorKind::InvalidInput, "COUNT"),
        (JobSpec { strategy: Some("spread".into()), ..spec("c1", 1) }, ErrorKind::InvalidInput, "spread"),
        (JobSpec { replicas: Some(0), ..spec("c1", 1) }, ErrorKind::InvalidInput, "replicas"),
        (JobSpec { memory: Some("lots".into()), ..spec("c1", 1) }, ErrorKind::InvalidInput, "lots"),
        (JobSpec { lb: Some("ha1".into()), ..spec("c1", 1) }, ErrorKind::InvalidInput, "ha1"),
        (spec("nosuch", 1), ErrorKind::NotFound, "nosuch"),
        (
            JobSpec { network: Some("br9".into()), ..spec("c1", 1) },
            ErrorKind::InvalidInput,
            "no server has network br9",
        ),
        (JobSpec { memory: Some("4G".into()), ..spec("c1", 10) }, ErrorKind::InvalidInput, "(4 would fit)"),
    ];
    for (sp, kind, says) in cases {
        let e = c.add_job(sp.clone(), dry, &NoProgress).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{sp:?}: {e}");
        assert!(e.to_string().contains(says), "{sp:?}: {e}");
        assert!(probes_only(&s1) && probes_only(&s2), "{sp:?} touched a server");
    }
    assert!(!dir.path().join("flockport-state.json").exists());
    c.add_job(spec("c1", 1), dry, &NoProgress).await.unwrap();
    let before = std::fs::read(dir.path().join("flockport-state.json")).unwrap();
    s1.clear();
    s2.clear();
    let e = c.add_job(spec("c1", 1), dry, &NoProgress).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    for e in [
        c.scale_job("nojob", "2", None, dry, &NoProgress).await.unwrap_err(),
        c.upgrade_job("nojob", None, dry, &NoProgress).await.unwrap_err(),
        c.del_job("nojob", dry).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains("nojob"), "{e}");
    }
    let e = c.scale_job("c1", "-5", None, dry, &NoProgress).await.unwrap_err();
    assert!(e.to_string().contains("cannot go below 0"), "{e}");
    assert!(s1.full_lines().iter().chain(s2.full_lines().iter()).all(|l| l.contains("command -v lxc-ls")));
    assert_eq!(std::fs::read(dir.path().join("flockport-state.json")).unwrap(), before, "state unchanged");
}

#[tokio::test]
async fn lost_instances_show_and_scaling_replaces_them_and_shrinks_the_fullest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, p1) = server("s1", "10.0.4", "c\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\n");
    let (s2, p2) = server("s2", "10.0.5", "");
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let a = c.add_job(spec("c1", 3), ApplyOptions::default(), &NoProgress).await.unwrap();
    let (t1, t2) = probe_texts(&a.record.instances);
    *p1.lock().unwrap() = t1.clone();
    // One instance of s2 destroyed behind flockport's back.
    let on_s2: Vec<&Instance> = a.record.instances.iter().filter(|i| i.server == "s2").collect();
    let gone = on_s2[0].name.clone();
    *p2.lock().unwrap() =
        t2.lines().filter(|l| !l.contains(&format!("\t{gone}\t"))).map(|l| format!("{l}\n")).collect();
    let jobs = c.jobs().await.unwrap();
    let lost: Vec<&str> =
        jobs[0].instances.iter().filter(|i| i.state == "lost").map(|i| i.instance.name.as_str()).collect();
    assert_eq!(lost, [gone.as_str()]);
    assert_eq!((jobs[0].running, jobs[0].lost), (2, 1));

    // scalejob 3: the lost one is replaced (a new name), nothing else.
    s1.clear();
    s2.clear();
    let a = c.scale_job("c1", "3", None, ApplyOptions::default(), &NoProgress).await.unwrap();
    assert_eq!(a.record.instances.len(), 3);
    assert!(!a.record.instances.iter().any(|i| i.name == gone), "{:?}", a.record.instances);
    assert!(a.record.instances.iter().any(|i| i.name == "c1-4"), "{:?}", a.record.instances);

    // scalejob -1 removes from the fullest server (s1 has 2 of 3 when s2 has 1... whichever holds most).
    let st = c.state().await.unwrap();
    let count = |s: &str| st.jobs["c1"].instances.iter().filter(|i| i.server == s).count();
    let fullest = if count("s1") >= count("s2") { "s1" } else { "s2" };
    let (n1, n2) = (count("s1"), count("s2"));
    assert_ne!(n1, n2, "3 instances on 2 servers are uneven");
    let (t1, t2) = probe_texts(&st.jobs["c1"].instances);
    *p1.lock().unwrap() = t1;
    *p2.lock().unwrap() = t2;
    let a = c.scale_job("c1", "-1", None, ApplyOptions::default(), &NoProgress).await.unwrap();
    let after = |s: &str| a.record.instances.iter().filter(|i| i.server == s).count();
    assert_eq!(a.record.instances.len(), 2);
    assert_eq!(after(fullest), count(fullest) - 1, "removed from the fullest, {fullest}");
}

#[tokio::test]
async fn a_rollout_whose_instance_does_not_answer_is_rolled_back_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, p1) = server("s1", "10.0.4", "c\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\n");
    let (s2, p2) = server("s2", "10.0.5", "");
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let a = c.add_job(JobSpec { port: Some(80), ..spec("c1", 2) }, ApplyOptions::default(), &NoProgress).await.unwrap();
    let (t1, t2) = probe_texts(&a.record.instances);
    *p1.lock().unwrap() = t1;
    *p2.lock().unwrap() = t2;
    // The new version's instances never answer.
    for t in [&s1, &s2] {
        t.on("did not answer within", fail(1, "10.0.4.22:80 did not answer within 30 s"));
    }
    s1.clear();
    s2.clear();
    let e = c.upgrade_job("c1", None, ApplyOptions::default(), &NoProgress).await.unwrap_err();
    assert!(e.to_string().contains("did not answer"), "{e}");
    let st = c.state().await.unwrap();
    let j = &st.jobs["c1"];
    assert_eq!(j.version, 1, "the job stays on version 1");
    assert!(j.instances.iter().all(|i| i.version == 1), "{:?}", j.instances);
    assert_eq!(j.instances, a.record.instances, "the old instances are kept");
    let r = j.rollout.as_ref().unwrap();
    assert_eq!((r.from_version, r.to_version, r.state.as_str(), r.replaced), (1, 2, "rolled back", 0));
    let all: Vec<String> = s1.full_lines().into_iter().chain(s2.full_lines()).collect();
    let tried = all.iter().filter(|l| l.contains("-n fp-img-job-c1-v2 -N")).count();
    assert_eq!(tried, 1, "one new instance tried: {all:#?}");
    assert!(all.iter().any(|l| l.contains("lxc-destroy")), "the new instance is destroyed again");
    assert!(!all.iter().any(|l| a.record.instances.iter().any(|i| l.contains(&format!("-n {} -f", i.name)))));
}

#[test]
fn parsers() {
    assert_eq!(parse_memory("512").unwrap(), 512);
    assert_eq!(parse_memory("512M").unwrap(), 512);
    assert_eq!(parse_memory("2G").unwrap(), 2048);
    assert_eq!(parse_memory("1GiB").unwrap(), 1024);
    assert!(parse_memory("8").is_err() && parse_memory("x").is_err() && parse_memory("-1G").is_err());
    assert_eq!(parse_cpus("0.5").unwrap(), 500);
    assert_eq!(parse_cpus("2").unwrap(), 2000);
    assert!(parse_cpus("0").is_err() && parse_cpus("-1").is_err() && parse_cpus("NaN").is_err());
    for bad in ["0", "-1", "x", "1.5", ""] {
        assert!(parse_count(bad).is_err(), "{bad}");
    }
    assert_eq!(Scale::parse("6").unwrap(), Scale::To(6));
    assert_eq!(Scale::parse("+2").unwrap(), Scale::By(2));
    assert_eq!(Scale::parse("-3").unwrap(), Scale::By(-3));
    assert!(Scale::parse("-0").is_err() && Scale::parse("x").is_err() && Scale::parse("+").is_err());
    assert_eq!(Scale::By(-3).apply(6, "-3").unwrap(), 3);
    assert!(Scale::By(-7).apply(6, "-7").is_err());
    assert_eq!(parse_lb("ha1:80").unwrap(), JobLb { lb: "ha1".into(), port: 80 });
    assert!(parse_lb("ha1").is_err() && parse_lb("ha1:0").is_err() && parse_lb("h a:80").is_err());
    assert_eq!(snapshot_version("c1", "fp-img-job-c1-v3"), Some(3));
    assert_eq!(snapshot_version("c1", "fp-img-job-c1-v1-v3"), None);
    assert_eq!(snapshot_version("c1-v1", "fp-img-job-c1-v1-v3"), Some(3));
    assert_eq!(snapshot_version("c1", "fp-img-job-c1-vx"), None);
}
