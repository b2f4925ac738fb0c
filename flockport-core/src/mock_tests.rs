//! Unit tests of exact command sequences and error paths against the scripted
//! [`FakeTransport`] (which splits a round trip's batch back into its steps),
//! and golden tests of plans. These test what flockport would send; the claim
//! that it works is made by the lab tests in `tests/`.

use crate::cluster::{ApplyOptions, Cluster, ContainerSpec};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::lxc;
use crate::plan::{NoProgress, Plan, Progress, Step};
use crate::testkit::{fail, FakeTransport};
use crate::transport::{Output, Transport, TransportFactory};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) fn server(name: &str, subnet: &str) -> ServerConfig {
    let text = format!("[[server]]\nname = \"{name}\"\nhost = \"192.0.2.1\"\nsubnet = \"{subnet}\"\n");
    crate::inventory::Inventory::parse(Path::new("t.toml"), &text).unwrap().servers.remove(0)
}

fn transports(fakes: &[&FakeTransport]) -> BTreeMap<String, Arc<dyn Transport>> {
    fakes.iter().map(|f| (f.server().to_string(), Arc::new((*f).clone()) as Arc<dyn Transport>)).collect()
}

fn run_plan(plan: &Plan, fakes: &[&FakeTransport], progress: &dyn Progress) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(plan.execute(&transports(fakes), progress))
}

const HOOK: &str = "/var/lib/flockport/hooks/start-host";

/// The line of `destroy_steps` for `name`.
fn destroy(name: &str) -> String {
    let s = server("s1", "10.0.4.0/24");
    crate::transport::display_argv(&lxc::destroy_steps(&s, name)[0].command().0)
}

#[test]
fn lifecycle_runs_exact_commands_in_one_round_trip() {
    let s = server("s1", "10.0.4.0/24");
    let mut plan = Plan::new("lifecycle");
    plan.steps.extend(lxc::clone_steps(&s, "fp-img-base-1", "web1", Ipv4Addr::new(10, 0, 4, 20), true));
    plan.steps.extend(lxc::start_steps(&s, "web1"));
    plan.steps.extend(lxc::stop_steps(&s, "web1"));
    plan.steps.extend(lxc::destroy_steps(&s, "web1"));
    let t = FakeTransport::new("s1");
    run_plan(&plan, &[&t], &NoProgress).unwrap();
    assert_eq!(t.round_trips(), 1, "one server, one round trip");
    let write = crate::transport::display_argv(&crate::transport::write_file_argv(HOOK, 0o755));
    let write_stop =
        crate::transport::display_argv(&crate::transport::write_file_argv(crate::service::STOP_HOOK, 0o755));
    assert_eq!(
        t.lines(),
        [
            write.as_str(),
            write_stop.as_str(),
            "lxc-copy -P /var/lib/lxc -n fp-img-base-1 -N web1 -s -B overlayfs",
            r#"sed -i -e /'^[[:space:]]*lxc'"\\.net\\./d" -e /'^[[:space:]]*lxc'"\\.start\\.auto/d" -e /'^[[:space:]]*lxc'"\\.hook\\.start-host/d" -e /'^[[:space:]]*lxc'"\\.hook\\.post-stop/d" /var/lib/lxc/web1/config"#,
            r#"sh -c 'cat >> "$1"' sh /var/lib/lxc/web1/config"#,
            "lxc-start -P /var/lib/lxc -n web1",
            "lxc-wait -P /var/lib/lxc -n web1 -s RUNNING -t 30",
            "lxc-stop -P /var/lib/lxc -n web1 -t 15",
            destroy("web1").as_str(),
        ]
    );
    let calls = t.calls();
    assert_eq!(calls[0].stdin.as_deref(), Some(crate::service::START_HOOK_SCRIPT.as_bytes()));
    assert_eq!(calls[1].stdin.as_deref(), Some(crate::service::STOP_HOOK_SCRIPT.as_bytes()));
    assert_eq!(
        calls[4].stdin.as_deref().map(String::from_utf8_lossy).as_deref(),
        Some("lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\nlxc.net.0.name = eth0\nlxc.net.0.hwaddr = 00:16:3e:00:04:14\nlxc.net.0.ipv4.address = 10.0.4.20/24\nlxc.net.0.ipv4.gateway = 10.0.4.1\nlxc.start.auto = 1\nlxc.hook.start-host = /var/lib/flockport/hooks/start-host\nlxc.hook.post-stop = /var/lib/flockport/hooks/post-stop\n")
    );
    assert!(calls[2..].iter().all(|c| c.stdin.is_none() || c.argv[0] == "sh"));
}

#[test]
fn full_copy_without_overlay() {
    let s = server("s1", "10.0.4.0/24");
    let steps = lxc::clone_steps(&s, "base", "web1", Ipv4Addr::new(10, 0, 4, 20), false);
    let copy = steps.iter().find(|s| s.description.contains("create container")).unwrap();
    match &copy.action {
        crate::plan::Action::Run { argv, .. } => {
            assert_eq!(argv, &["lxc-copy", "-P", "/var/lib/lxc", "-n", "base", "-N", "web1"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn failed_step_stops_the_plan_and_rolls_back() {
    let s = server("s1", "10.0.4.0/24");
    let mut plan = Plan::new("t");
    plan.steps.extend(lxc::start_steps(&s, "web1"));
    plan.rollback = lxc::destroy_steps(&s, "web1");
    let t = FakeTransport::new("s1");
    t.on("lxc-start", fail(1, "lxc-start: web1: No such container\n"));
    let e = run_plan(&plan, &[&t], &NoProgress).unwrap_err();
    // lxc-wait must NOT run; the rollback must.
    assert_eq!(t.lines(), ["lxc-start -P /var/lib/lxc -n web1".to_string(), destroy("web1")]);
    match e {
        Error::RemoteCommand { server, status, stderr_tail, command } => {
            assert_eq!(server, "s1");
            assert_eq!(status, 1);
            assert_eq!(stderr_tail, "lxc-start: web1: No such container");
            assert_eq!(command, "lxc-start -P /var/lib/lxc -n web1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failure_on_one_server_rolls_back_every_server_that_changed() {
    let (s1, s2) = (server("s1", "10.0.4.0/24"), server("s2", "10.0.5.0/24"));
    let mut plan = Plan::new("two servers");
    plan.steps.push(Step::run(&s1.name, "a1", vec!["touch".into(), "/a1".into()]));
    plan.steps.push(Step::run(&s1.name, "a2", vec!["touch".into(), "/a2".into()]));
    plan.steps.push(Step::run(&s2.name, "b1", vec!["touch".into(), "/b1".into()]));
    plan.steps.push(Step::run(&s2.name, "b2", vec!["false".into()]));
    plan.steps.push(Step::run(&s2.name, "b3", vec!["touch".into(), "/b3".into()]));
    plan.rollback.push(Step::run(&s1.name, "undo a", vec!["rm".into(), "-f".into(), "/a1".into(), "/a2".into()]));
    plan.rollback.push(Step::run(&s2.name, "undo b", vec!["rm".into(), "-f".into(), "/b1".into()]));
    let (t1, t2) = (FakeTransport::new("s1"), FakeTransport::new("s2"));
    t2.on("false", fail(1, "no"));
    let e = run_plan(&plan, &[&t1, &t2], &NoProgress).unwrap_err();
    assert!(matches!(&e, Error::RemoteCommand { server, command, .. } if server == "s2" && command == "false"), "{e}");
    assert_eq!(t1.lines(), ["touch /a1", "touch /a2", "rm -f /a1 /a2"], "s1 had changed: rolled back");
    assert_eq!(t2.lines(), ["touch /b1", "false", "rm -f /b1"], "b3 never ran; s2 rolled back");
}

#[test]
fn a_server_that_ran_nothing_is_not_rolled_back() {
    let (s1, s2) = (server("s1", "10.0.4.0/24"), server("s2", "10.0.5.0/24"));
    let mut plan = Plan::new("t");
    plan.steps.push(Step::run(&s1.name, "long", vec!["build".into()]).alone());
    plan.steps.push(Step::run(&s1.name, "next", vec!["next".into()]));
    plan.rollback.push(Step::run(&s1.name, "undo", vec!["undo1".into()]));
    plan.rollback.push(Step::run(&s2.name, "undo", vec!["undo2".into()]));
    let (t1, t2) = (FakeTransport::new("s1"), FakeTransport::new("s2"));
    t1.on("build", fail(2, "broken"));
    run_plan(&plan, &[&t1, &t2], &NoProgress).unwrap_err();
    assert_eq!(t1.lines(), ["build", "undo1"]);
    assert!(t2.lines().is_empty(), "s2 had no steps and is left alone");
}

/// Progress that asks for an interrupt as soon as a step matching `at` starts.
struct InterruptAt {
    at: &'static str,
    flag: AtomicBool,
    honoured: AtomicBool,
}

impl InterruptAt {
    fn new(at: &'static str) -> Self {
        InterruptAt { at, flag: AtomicBool::new(false), honoured: AtomicBool::new(false) }
    }
}

impl Progress for InterruptAt {
    fn step(&self, _: usize, _: usize, step: &Step) {
        if step.description.contains(self.at) {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
    fn interrupted(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
    fn honoured_interrupt(&self) {
        self.honoured.store(true, Ordering::SeqCst);
    }
}

#[test]
fn an_interrupt_stops_before_the_next_round_trip_and_rolls_back() {
    let s = server("s1", "10.0.4.0/24");
    let mut plan = Plan::new("addcontainer web1");
    plan.steps.push(Step::run(&s.name, "build image", vec!["lxc-create".into()]).alone());
    plan.steps.push(Step::run(&s.name, "create container web1", vec!["lxc-copy".into()]).alone());
    plan.steps.push(Step::run(&s.name, "start web1", vec!["lxc-start".into()]));
    plan.rollback = lxc::destroy_steps(&s, "web1");
    let t = FakeTransport::new("s1");
    let p = InterruptAt::new("create container");
    let e = run_plan(&plan, &[&t], &p).unwrap_err();
    assert!(matches!(&e, Error::Interrupted { rolled_back, .. } if rolled_back == &["s1"]), "{e}");
    assert_eq!(e.kind(), crate::ErrorKind::Interrupted);
    assert!(e.to_string().contains("run it again"), "{e}");
    assert_eq!(t.lines(), ["lxc-create".to_string(), "lxc-copy".into(), destroy("web1")]);
    assert!(p.honoured.load(Ordering::SeqCst));
    // Interrupted before anything ran: nothing to roll back.
    let t = FakeTransport::new("s1");
    let p = InterruptAt::new("build image");
    p.flag.store(true, Ordering::SeqCst);
    let e = run_plan(&plan, &[&t], &p).unwrap_err();
    assert!(matches!(&e, Error::Interrupted { rolled_back, .. } if rolled_back.is_empty()), "{e}");
    assert!(t.lines().is_empty());
}

#[test]
fn an_interrupt_during_the_last_round_trip_lets_the_finished_change_stand() {
    let s = server("s1", "10.0.4.0/24");
    let mut plan = Plan::new("dellb ha1");
    plan.steps.push(Step::run(&s.name, "remove the forward", vec!["fw".into()]));
    plan.steps.push(Step::run(&s.name, "destroy ha1", vec!["destroy".into()]));
    let t = FakeTransport::new("s1");
    let p = InterruptAt::new("destroy");
    run_plan(&plan, &[&t], &p).unwrap();
    assert_eq!(t.lines(), ["fw", "destroy"], "nothing rolled back: the change is complete");
    assert!(p.honoured.load(Ordering::SeqCst), "the request is consumed");
}

#[test]
fn exec_and_push_argv() {
    let s = server("s1", "10.0.4.0/24");
    let a = lxc::attach_argv(&s, "c1", &["hostname".into()]);
    assert_eq!(
        a,
        ["lxc-attach", "-P", "/var/lib/lxc", "-n", "c1", "--clear-env", "-v", lxc::CONTAINER_PATH, "--", "hostname"]
    );
    let p = lxc::push_argv(&s, "c1", "/srv/www/index.html", 0o644);
    assert_eq!(&p[p.len() - 2..], ["/srv/www/index.html", "0644"]);
    assert!(p[p.len() - 4].contains("mktemp") && p[p.len() - 4].contains("mv -f"), "pushes are atomic: {p:?}");
}

/// A factory handing out prepared fakes.
#[derive(Debug)]
pub(crate) struct Factory {
    pub(crate) fakes: Mutex<BTreeMap<String, Arc<dyn Transport>>>,
}

impl TransportFactory for Factory {
    fn connect(&self, server: &ServerConfig) -> Result<Arc<dyn Transport>> {
        self.fakes.lock().unwrap().get(&server.name).cloned().ok_or_else(|| Error::Unreachable {
            server: server.name.clone(),
            reason: "no fake".into(),
            source: None,
        })
    }
}

pub(crate) const INVENTORY: &str = r#"
[[server]]
name = "s1"
host = "192.0.2.11"
subnet = "10.0.4.0/24"

[[server]]
name = "s2"
host = "192.0.2.12"
subnet = "10.0.5.0/24"
"#;

/// A fake that answers the probe with `probe_output`.
pub(crate) fn probe_fake(name: &str, probe_output: impl Into<String>) -> FakeTransport {
    let out = probe_output.into();
    let t = FakeTransport::new(name);
    t.on_with("command -v lxc-ls", move |_| Output::ok(out.clone()));
    t
}

/// A cluster of s1 and s2 on fakes, with its state file in `dir`.
pub(crate) fn cluster_with(dir: &Path, fakes: &[&FakeTransport]) -> Cluster {
    let inv = dir.join("flockport.toml");
    std::fs::write(&inv, INVENTORY).unwrap();
    let map = transports(fakes);
    Cluster::open_with(&inv, Arc::new(Factory { fakes: Mutex::new(map) }), None).unwrap()
}

const S1_PROBE: &str =
    "version\t5.0.2\noverlay\tyes\nc\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\t-\nc\tc2\tSTOPPED\t\t10.0.4.100/24\t-\n";
const S2_PROBE: &str = "version\t5.0.2\noverlay\tno\nc\tc3\tRUNNING\t10.0.5.20,\t10.0.5.20/24\t-\n";

#[tokio::test]
async fn golden_plan_add_container_with_image_build() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = (probe_fake("s1", S1_PROBE), probe_fake("s2", S2_PROBE));
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let spec = ContainerSpec {
        server: "s1".into(),
        name: "web1".into(),
        packages: vec!["haproxy".into()],
        ..Default::default()
    };
    let a = c.add_container(spec, ApplyOptions { dry_run: true }, &NoProgress).await.unwrap();
    assert!(!a.executed);
    // .100 is configured on the stopped c2, so the next free address is .101.
    assert_eq!(a.record.address, Ipv4Addr::new(10, 0, 4, 101));
    insta::assert_json_snapshot!("plan_add_container_s1", a.plan);
    assert!(!dir.path().join("flockport-state.json").exists(), "a dry run writes no state");
    assert!(s1.lines().iter().all(|l| l.contains("command -v lxc-ls")), "a dry run only probes: {:?}", s1.lines());
}

#[tokio::test]
async fn golden_plan_full_copy_on_server_without_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let img = crate::image::ImageSpec::with_packages(vec![]).unwrap().template_name(&server("s2", "10.0.5.0/24"));
    let (s1, s2) = (
        probe_fake("s1", S1_PROBE),
        probe_fake("s2", format!("version\t5.0.2\noverlay\tno\nc\t{img}\tSTOPPED\t\t\tcomplete\n")),
    );
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let spec = ContainerSpec {
        server: "s2".into(),
        name: "db1".into(),
        address: Some("10.0.5.30".into()),
        no_start: true,
        ..Default::default()
    };
    let a = c.add_container(spec, ApplyOptions { dry_run: true }, &NoProgress).await.unwrap();
    insta::assert_json_snapshot!("plan_add_container_s2_copy", a.plan);
}

#[tokio::test]
async fn a_complete_image_is_reused_a_missing_one_built_a_half_built_one_rebuilt() {
    let srv = server("s1", "10.0.4.0/24");
    let img = crate::image::ImageSpec::with_packages(vec![]).unwrap().template_name(&srv);
    let plan_for = |probe: String| async move {
        let dir = tempfile::tempdir().unwrap();
        let (s1, s2) = (probe_fake("s1", probe), probe_fake("s2", S2_PROBE));
        let c = cluster_with(dir.path(), &[&s1, &s2]);
        let spec = ContainerSpec { server: "s1".into(), name: "web1".into(), ..Default::default() };
        let a = c.add_container(spec, ApplyOptions { dry_run: true }, &NoProgress).await.unwrap();
        a.plan.steps.iter().map(|s| crate::transport::display_argv(&s.command().0)).collect::<Vec<_>>()
    };
    let complete = plan_for(format!("version\t5\noverlay\tyes\nc\t{img}\tSTOPPED\t\t\tcomplete\n")).await;
    assert!(!complete.iter().any(|l| l.starts_with("lxc-create")), "reused: {complete:#?}");
    assert!(complete.iter().any(|l| l.starts_with("lxc-copy") && l.contains(&img)));
    let missing = plan_for("version\t5\noverlay\tyes\n".into()).await;
    assert_eq!(missing.iter().filter(|l| l.starts_with("lxc-create") && l.contains(&img)).count(), 1, "{missing:#?}");
    assert!(missing.iter().any(|l| l.contains("flockport-image-complete")), "the build marks it complete");
    let half = plan_for(format!("version\t5\noverlay\tyes\nc\t{img}\tSTOPPED\t\t\t-\n")).await;
    let gone = half.iter().position(|l| l == &destroy(&img));
    let create = half.iter().position(|l| l.starts_with("lxc-create"));
    assert!(matches!((gone, create), (Some(d), Some(c)) if d < c), "half-built: destroyed, rebuilt: {half:#?}");
}

#[tokio::test]
async fn bad_input_touches_no_server() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = (FakeTransport::new("s1"), FakeTransport::new("s2"));
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let cases: Vec<(ContainerSpec, &str)> = vec![
        (ContainerSpec { server: "s1".into(), name: "a;rm -rf".into(), ..Default::default() }, "a;rm -rf"),
        (ContainerSpec { server: "s9".into(), name: "w".into(), ..Default::default() }, "s9"),
        (
            ContainerSpec {
                server: "s1".into(),
                name: "w".into(),
                address: Some("10.0.5.3".into()),
                ..Default::default()
            },
            "10.0.5.3",
        ),
        (
            ContainerSpec { server: "s1".into(), name: "w".into(), address: Some("nope".into()), ..Default::default() },
            "nope",
        ),
        (
            ContainerSpec { server: "s1".into(), name: "w".into(), packages: vec!["x;y".into()], ..Default::default() },
            "x;y",
        ),
    ];
    for (spec, bad) in cases {
        let e = c.add_container(spec, ApplyOptions::default(), &NoProgress).await.unwrap_err();
        assert!(e.to_string().contains(bad), "{e} should name {bad}");
        assert!(matches!(e.kind(), crate::ErrorKind::InvalidInput | crate::ErrorKind::NotFound), "{e}");
    }
    assert_eq!(s1.round_trips() + s2.round_trips(), 0, "no server was contacted");
    assert!(!dir.path().join("flockport-state.json").exists());
}

#[tokio::test]
async fn failed_apply_leaves_state_unchanged_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server("s1", "10.0.4.0/24");
    let img = crate::image::ImageSpec::with_packages(vec![]).unwrap().template_name(&srv);
    let s1 = probe_fake("s1", format!("version\t5.0.2\noverlay\tyes\nc\t{img}\tSTOPPED\t\t\tcomplete\n"));
    s1.on("lxc-copy", fail(1, "disk full"));
    let s2 = probe_fake("s2", S2_PROBE);
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let spec = ContainerSpec { server: "s1".into(), name: "web1".into(), ..Default::default() };
    let e = c.add_container(spec, ApplyOptions::default(), &NoProgress).await.unwrap_err();
    assert!(e.to_string().contains("disk full"), "{e}");
    let lines = s1.lines();
    assert_eq!(lines.last(), Some(&destroy("web1")), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.starts_with("lxc-start")), "nothing after the failed clone: {lines:#?}");
    assert!(!dir.path().join("flockport-state.json").exists(), "state untouched after a failed apply");
}

#[tokio::test]
async fn a_change_on_s1_goes_ahead_while_s2_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server("s1", "10.0.4.0/24");
    let img = crate::image::ImageSpec::with_packages(vec![]).unwrap().template_name(&srv);
    let s1 = probe_fake("s1", format!("version\t5.0.2\noverlay\tyes\nc\t{img}\tSTOPPED\t\t\tcomplete\n"));
    let inv = dir.path().join("flockport.toml");
    std::fs::write(&inv, INVENTORY).unwrap();
    // s2 has no transport: connecting to it fails as an unreachable server does.
    let c = Cluster::open_with(&inv, Arc::new(Factory { fakes: Mutex::new(transports(&[&s1])) }), None).unwrap();
    let spec = ContainerSpec { server: "s1".into(), name: "web1".into(), ..Default::default() };
    let a = c.add_container(spec, ApplyOptions::default(), &NoProgress).await.unwrap();
    assert!(a.executed);
    assert!(c.state().await.unwrap().containers.contains_key("web1"));
    // A change on s2 itself still needs s2.
    let spec = ContainerSpec { server: "s2".into(), name: "web2".into(), ..Default::default() };
    let e = c.add_container(spec, ApplyOptions::default(), &NoProgress).await.unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Unreachable, "{e}");
    // The listing shows s1's containers and marks s2 as unread.
    let listing = c.containers_listing(None).await.unwrap();
    assert_eq!(listing.unread.len(), 1);
    assert_eq!(listing.unread[0].0, "s2");
}

#[tokio::test]
async fn delbackends_drains_every_backend_in_one_step_and_names_each_once() {
    let dir = tempfile::tempdir().unwrap();
    // A schema 1 file: read through the migration.
    std::fs::write(
        dir.path().join("flockport-state.json"),
        r#"{"schema":1,"containers":{},"counters":{},"lbs":{"ha1":{"name":"ha1","kind":"haproxy","server":"s1",
        "address":"10.0.4.90","mode":"roundrobin","published":[],"backends":[
        {"name":"w1","host":"10.0.4.20","port":80},{"name":"w2","host":"10.0.4.21","port":80},
        {"name":"w3","host":"10.0.4.22","port":80}]}}}"#,
    )
    .unwrap();
    let (s1, s2) = (FakeTransport::new("s1"), FakeTransport::new("s2"));
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let names = vec!["w1".to_string(), "w1:10.0.4.20:80".into(), "w2".into()];
    let a = c.del_backends("ha1", names, ApplyOptions { dry_run: true }).await.unwrap();
    assert_eq!(s1.round_trips(), 0, "a dry run touches no server");
    let drains: Vec<_> = a.plan.steps.iter().filter(|s| s.description.contains("drain")).collect();
    assert_eq!(drains.len(), 1, "{:#?}", a.plan.steps);
    let crate::plan::Action::Run { argv, .. } = &drains[0].action else { panic!("{:?}", drains[0]) };
    assert_eq!(argv[argv.len() - 3..], [crate::lb::DRAIN_TENTHS.to_string(), "w1".into(), "w2".into()]);
    let left: Vec<String> = a.record.backends.iter().map(|b| b.key()).collect();
    assert_eq!(left, ["w3"]);
}

#[tokio::test]
async fn reopen_reads_the_inventory_again_and_keeps_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (s1, s2) = (probe_fake("s1", S1_PROBE), probe_fake("s2", S2_PROBE));
    let c = cluster_with(dir.path(), &[&s1, &s2]);
    let txn = c.store().begin().await.unwrap();
    let mut st = txn.state().clone();
    st.counters.insert("web".into(), 4);
    txn.commit(st).await.unwrap();
    let inv = dir.path().join("flockport.toml");
    let more = format!("{INVENTORY}\n[[server]]\nname = \"s3\"\ntransport = \"local\"\nsubnet = \"10.0.9.0/24\"\n");
    std::fs::write(&inv, more).unwrap();
    assert_eq!(c.servers().len(), 2, "the inventory as read at open");
    let again = c.reopen().unwrap();
    let names: Vec<&str> = again.servers().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["s1", "s2", "s3"]);
    assert_eq!(again.state().await.unwrap().counters["web"], 4);
}
