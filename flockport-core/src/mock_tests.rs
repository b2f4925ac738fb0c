//! Unit tests of exact command sequences and error paths against the mockall
//! mock of [`Transport`], and golden tests of plans. These test what flockport
//! would run; the claim that it works is made by the lab tests in `tests/`.

use crate::cluster::{ApplyOptions, Cluster, ContainerSpec};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::lxc;
use crate::plan::{NoProgress, Plan};
use crate::transport::{MockTransport, Output, Transport, TransportFactory};
use mockall::Sequence;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn server(name: &str, subnet: &str) -> ServerConfig {
    let text = format!("[[server]]\nname = \"{name}\"\nhost = \"192.0.2.1\"\nsubnet = \"{subnet}\"\n");
    crate::inventory::Inventory::parse(Path::new("t.toml"), &text).unwrap().servers.remove(0)
}

fn expect(mock: &mut MockTransport, seq: &mut Sequence, argv: &[&str], stdin: Option<&str>, out: Output) {
    let want: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let want_stdin = stdin.map(|s| s.as_bytes().to_vec());
    mock.expect_exec()
        .withf(move |a, i| *a == want && *i == want_stdin)
        .times(1)
        .in_sequence(seq)
        .return_once(move |_, _| Ok(out));
}

fn run_plan(plan: &Plan, mock: MockTransport) -> Result<()> {
    let mut map: BTreeMap<String, Arc<dyn Transport>> = BTreeMap::new();
    map.insert("s1".into(), Arc::new(mock));
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(plan.execute(&map, &NoProgress))
}

#[test]
fn lifecycle_runs_exact_commands() {
    let s = server("s1", "10.0.4.0/24");
    let mut plan = Plan::new("lifecycle");
    plan.steps.extend(lxc::clone_steps(&s, "fp-img-base-1", "web1", Ipv4Addr::new(10, 0, 4, 20), true));
    plan.steps.extend(lxc::start_steps(&s, "web1"));
    plan.steps.extend(lxc::stop_steps(&s, "web1"));
    plan.steps.extend(lxc::destroy_steps(&s, "web1"));

    let mut m = MockTransport::new();
    m.expect_server().return_const("s1".to_string());
    let mut q = Sequence::new();
    let ok = || Output::ok("");
    expect(
        &mut m,
        &mut q,
        &["lxc-copy", "-P", "/var/lib/lxc", "-n", "fp-img-base-1", "-N", "web1", "-s", "-B", "overlayfs"],
        None,
        ok(),
    );
    expect(&mut m, &mut q, &["sed", "-i", "-e", r"/^[[:space:]]*lxc\.net\./d", "/var/lib/lxc/web1/config"], None, ok());
    expect(
        &mut m,
        &mut q,
        &["sh", "-c", r#"cat >> "$1""#, "sh", "/var/lib/lxc/web1/config"],
        Some("lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\nlxc.net.0.name = eth0\nlxc.net.0.hwaddr = 00:16:3e:00:04:14\nlxc.net.0.ipv4.address = 10.0.4.20/24\nlxc.net.0.ipv4.gateway = 10.0.4.1\n"),
        ok(),
    );
    expect(&mut m, &mut q, &["lxc-start", "-P", "/var/lib/lxc", "-n", "web1"], None, ok());
    expect(&mut m, &mut q, &["lxc-wait", "-P", "/var/lib/lxc", "-n", "web1", "-s", "RUNNING", "-t", "30"], None, ok());
    expect(&mut m, &mut q, &["lxc-stop", "-P", "/var/lib/lxc", "-n", "web1", "-t", "15"], None, ok());
    expect(&mut m, &mut q, &["lxc-destroy", "-P", "/var/lib/lxc", "-n", "web1", "-f"], None, ok());
    run_plan(&plan, m).unwrap();
}

#[test]
fn full_copy_without_overlay() {
    let s = server("s1", "10.0.4.0/24");
    let steps = lxc::clone_steps(&s, "base", "web1", Ipv4Addr::new(10, 0, 4, 20), false);
    match &steps[0].action {
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
    let mut m = MockTransport::new();
    m.expect_server().return_const("s1".to_string());
    let mut q = Sequence::new();
    let fail = Output { status: 1, stdout: vec![], stderr: b"lxc-start: web1: No such container\n".to_vec() };
    expect(&mut m, &mut q, &["lxc-start", "-P", "/var/lib/lxc", "-n", "web1"], None, fail);
    // lxc-wait must NOT run; the rollback must.
    expect(&mut m, &mut q, &["lxc-destroy", "-P", "/var/lib/lxc", "-n", "web1", "-f"], None, Output::ok(""));
    let e = run_plan(&plan, m).unwrap_err();
    match e {
        Error::RemoteCommand { server, status, stderr_tail, command } => {
            assert_eq!(server, "s1");
            assert_eq!(status, 1);
            assert!(stderr_tail.contains("No such container"));
            assert_eq!(command, "lxc-start -P /var/lib/lxc -n web1");
        }
        other => panic!("{other:?}"),
    }
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
}

/// A factory handing out prepared mocks, recording which servers were asked.
#[derive(Debug)]
struct Factory {
    mocks: Mutex<BTreeMap<String, Arc<dyn Transport>>>,
}

impl TransportFactory for Factory {
    fn connect(&self, server: &ServerConfig) -> Result<Arc<dyn Transport>> {
        self.mocks
            .lock()
            .unwrap()
            .get(&server.name)
            .cloned()
            .ok_or_else(|| Error::not_found("server", &server.name, "no mock"))
    }
}

const INVENTORY: &str = r#"
[[server]]
name = "s1"
host = "192.0.2.11"
subnet = "10.0.4.0/24"

[[server]]
name = "s2"
host = "192.0.2.12"
subnet = "10.0.5.0/24"
"#;

fn probe_mock(name: &str, probe_output: impl Into<String>) -> MockTransport {
    let probe_output: String = probe_output.into();
    let mut m = MockTransport::new();
    m.expect_server().return_const(name.to_string());
    m.expect_exec()
        .withf(|a, _| a.len() >= 3 && a[0] == "sh" && a[2] == lxc::PROBE_SCRIPT)
        .returning(move |_, _| Ok(Output::ok(probe_output.clone())));
    m
}

fn cluster_with(dir: &Path, s1: MockTransport, s2: MockTransport) -> Cluster {
    let inv = dir.join("flockport.toml");
    std::fs::write(&inv, INVENTORY).unwrap();
    let mut mocks: BTreeMap<String, Arc<dyn Transport>> = BTreeMap::new();
    mocks.insert("s1".into(), Arc::new(s1));
    mocks.insert("s2".into(), Arc::new(s2));
    Cluster::open_with(&inv, Arc::new(Factory { mocks: Mutex::new(mocks) }), None).unwrap()
}

const S1_PROBE: &str =
    "version\t5.0.2\noverlay\tyes\nc\tc1\tRUNNING\t10.0.4.20,\t10.0.4.20/24\nc\tc2\tSTOPPED\t\t10.0.4.100/24\n";
const S2_PROBE: &str = "version\t5.0.2\noverlay\tno\nc\tc3\tRUNNING\t10.0.5.20,\t10.0.5.20/24\n";

#[tokio::test]
async fn golden_plan_add_container_with_image_build() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster_with(dir.path(), probe_mock("s1", S1_PROBE), probe_mock("s2", S2_PROBE));
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
}

#[tokio::test]
async fn golden_plan_full_copy_on_server_without_overlay() {
    let dir = tempfile::tempdir().unwrap();
    // s2 has the base image already: the plan clones it (full copy) and builds nothing.
    let img = crate::image::ImageSpec::with_packages(vec![]).unwrap().template_name(&server("s2", "10.0.5.0/24"));
    let s2_with_image = format!("version\t5.0.2\noverlay\tno\nc\t{img}\tSTOPPED\t\t\n");
    let c = cluster_with(dir.path(), probe_mock("s1", S1_PROBE), probe_mock("s2", s2_with_image));
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

/// A mock that answers the probe with `probe_output` and every other command
/// with success, recording each command it is sent (the probe excepted).
fn recording_mock(name: &str, probe_output: String, sent: Arc<Mutex<Vec<Vec<String>>>>) -> MockTransport {
    let mut m = MockTransport::new();
    m.expect_server().return_const(name.to_string());
    m.expect_exec().returning(move |argv, _| {
        if argv.len() >= 3 && argv[0] == "sh" && argv[2] == lxc::PROBE_SCRIPT {
            return Ok(Output::ok(probe_output.clone()));
        }
        sent.lock().unwrap().push(argv);
        Ok(Output::ok(""))
    });
    m
}

/// `addcontainer s1 web1 --packages nginx` run for real against mocks whose
/// s1 probe reports the containers in `s1_containers`; every command sent to s1.
async fn add_web1_sending(s1_containers: &[&str]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let mut probe = "version\t5.0.2\noverlay\tyes\n".to_string();
    for c in s1_containers {
        probe.push_str(&format!("c\t{c}\tSTOPPED\t\t\n"));
    }
    let sent = Arc::new(Mutex::new(Vec::new()));
    let c = cluster_with(dir.path(), recording_mock("s1", probe, sent.clone()), probe_mock("s2", S2_PROBE));
    let spec = ContainerSpec {
        server: "s1".into(),
        name: "web1".into(),
        packages: vec!["nginx".into()],
        ..Default::default()
    };
    let a = c.add_container(spec, ApplyOptions::default(), &NoProgress).await.unwrap();
    assert!(a.executed);
    let sent = sent.lock().unwrap().clone();
    sent
}

#[tokio::test]
async fn an_existing_image_is_reused_and_a_missing_one_is_built_once() {
    let s1 = server("s1", "10.0.4.0/24");
    let nginx = crate::image::ImageSpec::with_packages(vec!["nginx".into()]).unwrap().template_name(&s1);
    // Another image on the server (other packages) is not the one needed.
    let base = crate::image::ImageSpec::with_packages(vec![]).unwrap().template_name(&s1);
    let creates = |sent: &[Vec<String>]| sent.iter().filter(|a| a[0] == "lxc-create").cloned().collect::<Vec<_>>();
    let clone_from = |sent: &[Vec<String>]| {
        sent.iter()
            .position(|a| a[0] == "lxc-copy" && a[4] == nginx)
            .unwrap_or_else(|| panic!("no clone of {nginx} in {sent:#?}"))
    };

    // Present: no lxc-create at all, and the clone is from that image.
    let sent = add_web1_sending(&[&base, &nginx, "c1"]).await;
    assert_eq!(creates(&sent), Vec::<Vec<String>>::new(), "the existing image {nginx} was rebuilt");
    clone_from(&sent);

    // Absent: exactly one lxc-create, of that image, before the clone.
    let sent = add_web1_sending(&[&base, "c1"]).await;
    let want: Vec<String> =
        ["lxc-create", "-P", "/var/lib/lxc", "-n", &nginx, "-t", "debian", "--", "-r", "bookworm", "--packages=nginx"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    assert_eq!(creates(&sent), vec![want], "the missing image {nginx} was not built once");
    let built = sent.iter().position(|a| a[0] == "lxc-create").unwrap_or(usize::MAX);
    assert!(built < clone_from(&sent), "the image is built before it is cloned: {sent:#?}");
}

#[tokio::test]
async fn bad_input_touches_no_server() {
    let dir = tempfile::tempdir().unwrap();
    // Mocks with no expectations: any exec call would panic.
    let mut s1 = MockTransport::new();
    s1.expect_server().return_const("s1".to_string());
    let mut s2 = MockTransport::new();
    s2.expect_server().return_const("s2".to_string());
    let c = cluster_with(dir.path(), s1, s2);
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
    }
    assert!(!dir.path().join("flockport-state.json").exists());
}

#[tokio::test]
async fn failed_apply_leaves_state_unchanged_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server("s1", "10.0.4.0/24");
    let img = crate::image::ImageSpec::with_packages(vec![]).unwrap().template_name(&srv);
    let mut s1 = probe_mock("s1", format!("version\t5.0.2\noverlay\tyes\nc\t{img}\tSTOPPED\t\t\n"));
    // The clone fails; the rollback destroy runs.
    s1.expect_exec()
        .withf(|a, _| a[0] == "lxc-copy")
        .times(1)
        .returning(|_, _| Ok(Output { status: 1, stdout: vec![], stderr: b"disk full".to_vec() }));
    s1.expect_exec().withf(|a, _| a[0] == "lxc-destroy").times(1).returning(|_, _| Ok(Output::ok("")));
    let c = cluster_with(dir.path(), s1, probe_mock("s2", S2_PROBE));
    let spec = ContainerSpec { server: "s1".into(), name: "web1".into(), ..Default::default() };
    let e = c.add_container(spec, ApplyOptions::default(), &NoProgress).await.unwrap_err();
    assert!(e.to_string().contains("disk full"), "{e}");
    assert!(!dir.path().join("flockport-state.json").exists(), "state untouched after a failed apply");
}

#[tokio::test]
async fn delbackends_drains_every_backend_in_one_step_and_names_each_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flockport-state.json"),
        r#"{"schema":1,"containers":{},"counters":{},"lbs":{"ha1":{"name":"ha1","kind":"haproxy","server":"s1",
        "address":"10.0.4.90","mode":"roundrobin","published":[],"backends":[
        {"name":"w1","host":"10.0.4.20","port":80},{"name":"w2","host":"10.0.4.21","port":80},
        {"name":"w3","host":"10.0.4.22","port":80}]}}}"#,
    )
    .unwrap();
    // Mocks with no exec expectations: a dry run touches no server.
    let mut s1 = MockTransport::new();
    s1.expect_server().return_const("s1".to_string());
    let mut s2 = MockTransport::new();
    s2.expect_server().return_const("s2".to_string());
    let c = cluster_with(dir.path(), s1, s2);
    let names = vec!["w1".to_string(), "w1:10.0.4.20:80".into(), "w2".into()];
    let a = c.del_backends("ha1", names, ApplyOptions { dry_run: true }).await.unwrap();
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
    let c = cluster_with(dir.path(), probe_mock("s1", S1_PROBE), probe_mock("s2", S2_PROBE));
    let txn = c.store().begin().await.unwrap();
    let mut st = txn.state().clone();
    st.counters.insert("web".into(), 4);
    txn.commit(st).unwrap();
    let inv = dir.path().join("flockport.toml");
    let more = format!("{INVENTORY}\n[[server]]\nname = \"s3\"\ntransport = \"local\"\nsubnet = \"10.0.9.0/24\"\n");
    std::fs::write(&inv, more).unwrap();
    assert_eq!(c.servers().len(), 2, "the inventory as read at open");
    let again = c.reopen().unwrap();
    let names: Vec<&str> = again.servers().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["s1", "s2", "s3"]);
    assert_eq!(again.state().await.unwrap().counters["web"], 4);
}
