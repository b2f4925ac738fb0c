//! What ssh is told and what it may touch, in every configuration of a
//! server: the master's options as ssh itself resolves them (captured by a
//! stand-in `ssh` in front of the real one, no connection made), and real
//! connections to a loopback sshd (known_hosts never modified, a known_hosts
//! edit honoured by the next process, a hostile control directory never used).

use flockport_core::transport::SshTransport;
use flockport_core::{Cluster, Error};
use flockport_tests::{flockport_bin, free_port, write_inventory, Sshd};
use std::path::Path;
use std::process::Command;

/// Runs `flockport --config inv listservers --json` with extra environment.
fn listservers(inv: &Path, env: &[(&str, &Path)]) -> serde_json::Value {
    let mut cmd = Command::new(flockport_bin());
    cmd.arg("--config").arg(inv).args(["listservers", "--json"]).env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    println!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn real_ssh() -> String {
    let out = Command::new("sh").args(["-c", "command -v ssh"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn every_configuration_keeps_host_keys_strict_for_the_master_and_its_hops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The stand-in: for the master launch (-M), what `ssh -G` resolves for the
    // master's own arguments, and for a ProxyJump hop as ssh would start it
    // (`ssh [-F CONFIG] -W ... HOP`: only -F is handed on); then it fails.
    let bin = d.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let capture = d.join("capture");
    std::fs::create_dir(&capture).unwrap();
    let script = format!(
        "#!/bin/sh\nmaster=no; f=; prev=\nfor a in \"$@\"; do [ \"$a\" = -M ] && master=yes; [ \"$prev\" = -F ] && f=$a; prev=$a; done\n\
         [ $master = yes ] || exec {ssh} \"$@\"\nout=\"$FP_CAPTURE/$$\"\n{ssh} -G \"$@\" >\"$out.master\" 2>&1\n\
         if [ -n \"$f\" ]; then {ssh} -G -F \"$f\" fphop >\"$out.hop\" 2>&1; else {ssh} -G fphop >\"$out.hop\" 2>&1; fi\n\
         printf '%s\\n' \"$@\" >\"$out.argv\"\nexit 255\n",
        ssh = real_ssh()
    );
    std::fs::write(bin.join("ssh"), script).unwrap();
    Command::new("chmod").arg("+x").arg(bin.join("ssh")).status().unwrap();
    let kh = d.join("known_hosts");
    std::fs::write(&kh, "").unwrap();
    // A file that asks for everything loose, for the hop too.
    let loose = d.join("loose_config");
    std::fs::write(
        &loose,
        "StrictHostKeyChecking no\nUpdateHostKeys yes\nUserKnownHostsFile /dev/null\nHost fphop\n  BatchMode no\n",
    )
    .unwrap();
    // ssh's own default user known_hosts files (`~` expanded as ssh does).
    let defaults = Command::new(real_ssh()).args(["-G", "-F", "/dev/null", "127.0.0.1"]).output().unwrap();
    let default_known_hosts = String::from_utf8_lossy(&defaults.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("userknownhostsfile ").map(str::to_string))
        .unwrap();
    // Neither, known_hosts only, ssh_config only, both; loopback ports nobody listens on.
    let mut inv = String::new();
    let mut expect = Vec::new();
    for (i, (with_kh, with_config)) in [(false, false), (true, false), (false, true), (true, true)].iter().enumerate() {
        let port = free_port();
        inv.push_str(&format!(
            "[[server]]\nname = \"s{i}\"\nhost = \"127.0.0.1\"\nport = {port}\nsubnet = \"10.0.{i}.0/24\"\n"
        ));
        if *with_kh {
            inv.push_str(&format!("known_hosts = \"{}\"\n", kh.display()));
        }
        if *with_config {
            inv.push_str(&format!("ssh_config = \"{}\"\n", loose.display()));
        }
        let files = if *with_kh { kh.display().to_string() } else { default_known_hosts.clone() };
        expect.push((port, files));
    }
    let inv = write_inventory(d, &inv);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let status = listservers(&inv, &[("PATH", Path::new(&path)), ("FP_CAPTURE", &capture)]);
    assert_eq!(status.as_array().map(Vec::len), Some(4), "{status}");
    let mut seen = 0;
    for entry in std::fs::read_dir(&capture).unwrap().flatten() {
        let p = entry.path();
        if p.extension().and_then(|e| e.to_str()) != Some("argv") {
            continue;
        }
        let argv = std::fs::read_to_string(&p).unwrap();
        let args: Vec<&str> = argv.lines().collect();
        let port: u16 = args.iter().position(|a| *a == "-p").map(|i| args[i + 1].parse().unwrap()).unwrap();
        let (_, files) = expect.iter().find(|(p, _)| *p == port).unwrap();
        let user_files = |opts: &str| {
            opts.lines().find_map(|l| l.strip_prefix("userknownhostsfile ")).unwrap_or_default().to_string()
        };
        for (what, ext) in [("master", "master"), ("ProxyJump hop", "hop")] {
            let opts = std::fs::read_to_string(p.with_extension(ext)).unwrap();
            for want in ["stricthostkeychecking true", "updatehostkeys false", "batchmode yes"] {
                assert!(
                    opts.lines().any(|l| l == want),
                    "port {port}, {what}: {want:?} not in\n{opts}\nmaster argv:\n{argv}"
                );
            }
            assert_eq!(&user_files(&opts), files, "port {port}, {what}: the known_hosts files");
        }
        seen += 1;
    }
    assert_eq!(seen, 4, "one master launch per server");
}

#[tokio::test]
async fn known_hosts_is_never_modified_by_a_server_offering_more_keys() {
    let Some(sshd) = Sshd::start_offering(&["ecdsa"]) else { return };
    let dir = tempfile::tempdir().unwrap();
    // The file asks ssh to learn the server's other keys.
    let config = dir.path().join("ssh_config");
    std::fs::write(&config, "UpdateHostKeys yes\n").unwrap();
    let before = std::fs::read(sshd.known_hosts()).unwrap();
    let inv = write_inventory(
        dir.path(),
        &sshd.server_toml(&sshd.known_hosts(), &format!("ssh_config = \"{}\"\n", config.display())),
    );
    let cluster = Cluster::open(Some(&inv)).unwrap();
    let status = cluster.list_servers().await;
    assert!(status[0].reachable, "{:?}", status[0].error);
    // ssh writes learnt keys once the server proved them, after the session is up.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(cluster.list_servers().await[0].reachable);
    let after = std::fs::read(sshd.known_hosts()).unwrap();
    assert_eq!(String::from_utf8_lossy(&after), String::from_utf8_lossy(&before), "known_hosts was modified");
    drop(sshd);
}

#[test]
fn a_control_directory_planted_by_someone_else_is_never_used() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::create_dir(&elsewhere).unwrap();
    Command::new("chmod").arg("700").arg(&elsewhere).status().unwrap();
    let uid = Command::new("id").arg("-u").output().unwrap();
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
    // $TMPDIR/flockport-ssh-UID exists already, as a symlink to a private directory.
    std::os::unix::fs::symlink(&elsewhere, tmp.join(format!("flockport-ssh-{uid}"))).unwrap();
    let config = dir.path().join("ssh_config");
    std::fs::write(&config, "KexAlgorithms curve25519-sha256\n").unwrap();
    let inv = write_inventory(
        dir.path(),
        &sshd.server_toml(&sshd.known_hosts(), &format!("ssh_config = \"{}\"\n", config.display())),
    );
    let status = listservers(&inv, &[("TMPDIR", &tmp)]);
    assert_eq!(status[0]["reachable"], true, "{status}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "something was written through the symlink");
    drop(sshd);
}

#[tokio::test]
async fn a_known_hosts_edit_is_honoured_by_the_next_process() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    std::fs::copy(sshd.known_hosts(), &kh).unwrap();
    let inv = write_inventory(dir.path(), &sshd.server_toml(&kh, ""));
    let cluster = Cluster::open(Some(&inv)).unwrap();
    cluster.probe("lo").await.unwrap();
    let Some(record) = SshTransport::new(cluster.server("lo").unwrap().clone()).unwrap().persist_record() else {
        println!("SKIP: ssh masters are not persisted here");
        return;
    };
    assert!(record.exists(), "the master is persisted");
    drop(cluster);
    // The key is removed from the same file: a later process must not resume
    // the master made while it was trusted.
    std::fs::write(&kh, "").unwrap();
    let e = Cluster::open(Some(&inv)).unwrap().probe("lo").await.unwrap_err();
    assert!(matches!(e, Error::HostKeyNotTrusted { .. }), "{e:?}");
    drop(sshd);
}
