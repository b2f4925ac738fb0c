//! The container lifecycle for real on this machine: through the local
//! transport, and through `SshTransport` to an sshd on loopback.

use flockport_core::cluster::{ApplyOptions, ContainerSpec};
use flockport_core::plan::NoProgress;
use flockport_core::transport::{SshTransport, TransportExt};
use flockport_core::{Cluster, ContainerState, Error};
use flockport_tests::{local_lxc_ready, write_inventory, Sshd};
use std::path::Path;

/// Create from an image with a static address, run a command inside, push a
/// file, stop, start, destroy: all checked on the real container.
pub async fn lifecycle(cluster: &Cluster, server: &str, name: &str, address: &str) {
    let spec =
        ContainerSpec { server: server.into(), name: name.into(), address: Some(address.into()), ..Default::default() };
    let applied = cluster.add_container(spec, ApplyOptions::default(), &NoProgress).await.unwrap();
    assert!(applied.executed);
    assert_eq!(applied.record.address.to_string(), address);

    let listed = cluster.containers(Some(server)).await.unwrap();
    let c = listed.iter().find(|c| c.name == name).expect("new container listed");
    assert_eq!(c.state, ContainerState::Running);

    let out = cluster.exec(name, &["hostname".into()]).await.unwrap();
    assert_eq!(out.stdout_str().trim(), name);
    let out = cluster
        .exec(name, &["ip".into(), "-4".into(), "-o".into(), "addr".into(), "show".into(), "eth0".into()])
        .await
        .unwrap();
    assert!(out.stdout_str().contains(&format!("{address}/")), "static address inside: {}", out.stdout_str());
    // The MAC follows the address (stable across restarts and reuse of the address).
    let out = cluster.exec(name, &["cat".into(), "/sys/class/net/eth0/address".into()]).await.unwrap();
    let want = flockport_core::lxc::mac_for(address.parse().unwrap());
    assert_eq!(out.stdout_str().trim(), want);

    cluster.push(name, "/etc/flockport-test.txt", b"pushed 'quoted' $(content)\n", 0o600).await.unwrap();
    let out = cluster
        .exec(
            name,
            &["sh".into(), "-c".into(), "stat -c %a /etc/flockport-test.txt; cat /etc/flockport-test.txt".into()],
        )
        .await
        .unwrap();
    assert_eq!(out.stdout_str(), "600\npushed 'quoted' $(content)\n");

    let stopped = cluster.set_running(name, false, ApplyOptions::default()).await.unwrap();
    assert_eq!(stopped.record.state, ContainerState::Stopped);
    let started = cluster.set_running(name, true, ApplyOptions::default()).await.unwrap();
    assert_eq!(started.record.state, ContainerState::Running);

    cluster.del_container(name, ApplyOptions::default()).await.unwrap();
    let listed = cluster.containers(Some(server)).await.unwrap();
    assert!(listed.iter().all(|c| c.name != name), "destroyed container still listed");
    assert!(!cluster.state().await.unwrap().containers.contains_key(name));
}

#[tokio::test]
async fn local_transport_lifecycle() {
    if !local_lxc_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let inv =
        write_inventory(dir.path(), "[[server]]\nname = \"here\"\nsubnet = \"10.0.3.0/24\"\ntransport = \"local\"\n");
    let cluster = Cluster::open(Some(&inv)).unwrap();
    let name = format!("fpt-local-{}", std::process::id());
    lifecycle(&cluster, "here", &name, "10.0.3.201").await;
}

#[tokio::test]
async fn ssh_transport_lifecycle_on_loopback_sshd() {
    if !local_lxc_ready() {
        return;
    }
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let inv = write_inventory(
        dir.path(),
        &format!(
            "[[server]]\nname = \"lo\"\nhost = \"127.0.0.1\"\nport = {}\nidentity = \"{}\"\nknown_hosts = \"{}\"\nsubnet = \"10.0.3.0/24\"\n",
            sshd.port,
            sshd.client_key().display(),
            sshd.known_hosts().display()
        ),
    );
    let cluster = Cluster::open(Some(&inv)).unwrap();
    let status = cluster.list_servers().await;
    assert!(status[0].reachable, "{:?}", status[0].error);
    let name = format!("fpt-ssh-{}", std::process::id());
    lifecycle(&cluster, "lo", &name, "10.0.3.202").await;

    // The master outlives the Cluster: a new one (as a new process would) resumes it.
    let server = cluster.server("lo").unwrap().clone();
    let record =
        flockport_core::transport::SshTransport::new(server).unwrap().persist_record().expect("persistence on");
    let first = std::fs::read_to_string(&record).unwrap();
    drop(cluster);
    let again = Cluster::open(Some(&inv)).unwrap();
    assert!(again.list_servers().await[0].reachable);
    assert_eq!(std::fs::read_to_string(&record).unwrap(), first, "the persisted master was reused");
    // A master that went away is noticed and replaced by a fresh one.
    let ctl = first.lines().next().unwrap();
    let st = std::process::Command::new("ssh").args(["-S", ctl, "-O", "exit", "lo"]).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let fresh = Cluster::open(Some(&inv)).unwrap();
    assert!(fresh.list_servers().await[0].reachable);
    assert_ne!(std::fs::read_to_string(&record).unwrap(), first, "a new master was recorded");
    drop(sshd);
}

#[tokio::test]
async fn ssh_config_file_is_read() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let inventory = |config: &Path| {
        format!(
            "[[server]]\nname = \"lo\"\nhost = \"127.0.0.1\"\nport = {}\nidentity = \"{}\"\nknown_hosts = \"{}\"\nssh_config = \"{}\"\nsubnet = \"10.0.3.0/24\"\n",
            sshd.port,
            sshd.client_key().display(),
            sshd.known_hosts().display(),
            config.display()
        )
    };
    // A key exchange the server does not offer (OpenSSH servers dropped
    // diffie-hellman-group14-sha1 from their defaults): refused, and the
    // reason points at the file.
    let old = dir.path().join("old_kex_config");
    std::fs::write(&old, "KexAlgorithms diffie-hellman-group14-sha1\n").unwrap();
    let inv = write_inventory(dir.path(), &inventory(&old));
    let status = Cluster::open(Some(&inv)).unwrap().list_servers().await;
    assert!(!status[0].reachable);
    let why = status[0].error.clone().unwrap_or_default();
    assert!(why.contains("no matching key exchange") && why.contains("old_kex_config"), "{why}");
    // The same server with the classic curve25519 exchange pinned: reached.
    let modern = dir.path().join("curve25519_config");
    std::fs::write(&modern, "KexAlgorithms curve25519-sha256\n").unwrap();
    let inv = write_inventory(dir.path(), &inventory(&modern));
    let cluster = Cluster::open(Some(&inv)).unwrap();
    let status = cluster.list_servers().await;
    assert!(status[0].reachable, "{:?}", status[0].error);
    assert_eq!(cluster.server("lo").unwrap().ssh_config.as_deref(), Some(modern.as_path()));
    // ProxyJump: the hop (the same sshd under another name) is started by ssh
    // with only the wrapper; its host key is checked against the inventory's
    // known_hosts although the file asks for no checking at all.
    let jump = dir.path().join("jump_config");
    std::fs::write(
        &jump,
        format!(
            "Host fpjump\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}\n  \
             StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\nHost 127.0.0.1\n  ProxyJump fpjump\n",
            sshd.port,
            sshd.client_key().display()
        ),
    )
    .unwrap();
    let inv = write_inventory(dir.path(), &inventory(&jump));
    let status = Cluster::open(Some(&inv)).unwrap().list_servers().await;
    assert!(status[0].reachable, "through ProxyJump: {:?}", status[0].error);
    // The hop really is checked: with the target's key known only under an
    // alias, the hop's own name is unknown and the connection is refused,
    // whatever the file says for fpjump.
    let known = std::fs::read_to_string(sshd.known_hosts()).unwrap();
    let aliased: String =
        known.lines().filter_map(|l| l.split_once(' ').map(|(_, key)| format!("fptarget {key}\n"))).collect();
    let only_alias = dir.path().join("known_hosts_alias");
    std::fs::write(&only_alias, aliased).unwrap();
    let strict = dir.path().join("jump_alias_config");
    std::fs::write(
        &strict,
        format!("Host 127.0.0.1\n  HostKeyAlias fptarget\n{}", std::fs::read_to_string(&jump).unwrap()),
    )
    .unwrap();
    let inv = write_inventory(
        dir.path(),
        &inventory(&strict).replace(&sshd.known_hosts().display().to_string(), &only_alias.display().to_string()),
    );
    let status = Cluster::open(Some(&inv)).unwrap().list_servers().await;
    let why = status[0].error.clone().unwrap_or_default();
    assert!(!status[0].reachable && why.contains("jump host"), "the hop was not checked: {why}");
    // The control: the same files with the hop's own name known too.
    std::fs::write(&only_alias, format!("{}{known}", std::fs::read_to_string(&only_alias).unwrap())).unwrap();
    let status = Cluster::open(Some(&inv)).unwrap().list_servers().await;
    assert!(status[0].reachable, "alias and hop known: {:?}", status[0].error);
    // A bad option: the reason names the file and the line.
    let typo = dir.path().join("typo_config");
    std::fs::write(&typo, "KexAlgorithms curve25519-sha256\nKexAlgoritms curve25519-sha256\n").unwrap();
    let inv = write_inventory(dir.path(), &inventory(&typo));
    let status = Cluster::open(Some(&inv)).unwrap().list_servers().await;
    let why = status[0].error.clone().unwrap_or_default();
    assert!(!status[0].reachable && why.contains("line 2") && why.to_lowercase().contains("kexalgoritms"), "{why}");
    drop(sshd);
}

#[tokio::test]
async fn unknown_host_key_is_refused_with_the_fix() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let empty_kh = dir.path().join("empty_known_hosts");
    std::fs::write(&empty_kh, "").unwrap();
    let inv = write_inventory(
        dir.path(),
        &format!(
            "[[server]]\nname = \"lo\"\nhost = \"127.0.0.1\"\nport = {}\nidentity = \"{}\"\nknown_hosts = \"{}\"\nsubnet = \"10.0.3.0/24\"\n",
            sshd.port,
            sshd.client_key().display(),
            empty_kh.display()
        ),
    );
    let cluster = Cluster::open(Some(&inv)).unwrap();
    let e = cluster.probe("lo").await.unwrap_err();
    assert!(matches!(e, Error::HostKeyNotTrusted { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("ssh-keyscan") && msg.contains(&sshd.port.to_string()) && msg.contains("empty_known_hosts"),
        "{msg}"
    );
    assert!(Path::new(&empty_kh).metadata().unwrap().len() == 0, "known_hosts must not be modified");
}

/// A transport to `sshd` as server `lo` with `extra` inventory lines (the inventory in `dir`).
fn loopback_transport(sshd: &Sshd, dir: &Path, extra: &str) -> SshTransport {
    let inv = write_inventory(dir, &sshd.server_toml(&sshd.known_hosts(), extra));
    SshTransport::new(Cluster::open(Some(&inv)).unwrap().server("lo").unwrap().clone()).unwrap()
}

#[tokio::test]
async fn ssh_command_past_its_limit_is_stopped_and_the_connection_goes_on() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let t = loopback_transport(&sshd, dir.path(), "command_timeout_secs = 1\n");
    assert_eq!(t.run(&["echo", "up"]).await.unwrap().stdout_str(), "up\n");
    let started = std::time::Instant::now();
    let e = t.run(&["sleep", "5"]).await.unwrap_err();
    assert!(matches!(&e, Error::Timeout { secs: 1, command, .. } if command == "sleep 5"), "{e:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());
    assert_eq!(t.run(&["echo", "ok"]).await.unwrap().stdout_str(), "ok\n");
    drop(sshd);
}

#[tokio::test]
async fn ssh_master_that_died_is_replaced_once_on_the_next_command() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let t = loopback_transport(&sshd, dir.path(), "");
    assert_eq!(t.run(&["echo", "one"]).await.unwrap().stdout_str(), "one\n");
    let Some(record) = t.persist_record() else {
        println!("SKIP: ssh masters are not persisted here, so the master's socket is not known");
        return;
    };
    let first = std::fs::read_to_string(&record).unwrap();
    // A remote failure, even exit 255, is the command's own: run once, no new master.
    let marks = dir.path().join("marks");
    let e = t.run_script(r#"echo x >> "$1"; exit 255"#, &[marks.to_str().unwrap()]).await.unwrap_err();
    assert!(matches!(e, Error::RemoteCommand { status: 255, .. }), "{e:?}");
    assert_eq!(std::fs::read_to_string(&marks).unwrap(), "x\n");
    assert_eq!(std::fs::read_to_string(&record).unwrap(), first);
    // The master's pid from its control socket; that process alone is killed.
    let ctl = first.lines().next().unwrap();
    let check = std::process::Command::new("ssh").args(["-O", "check", "-S", ctl, "lo"]).output().unwrap();
    let said = String::from_utf8_lossy(&check.stderr).into_owned();
    let pid: u32 = said
        .split("pid=")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {said:?}"));
    assert!(std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    for _ in 0..100 {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The same transport goes on, through a new master.
    assert_eq!(t.run(&["echo", "two"]).await.unwrap().stdout_str(), "two\n");
    assert_ne!(std::fs::read_to_string(&record).unwrap(), first, "a new master was recorded");
    assert_eq!(t.run(&["echo", "three"]).await.unwrap().stdout_str(), "three\n");
    drop(sshd);
}
