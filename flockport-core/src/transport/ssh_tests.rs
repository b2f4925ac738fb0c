//! Tests of the SSH transport: the config wrapper, host-key checking, the
//! control directory.
use super::*;

fn server(kh: &Path, file: &Path) -> ServerConfig {
    toml::from_str(&format!(
        "name = \"s1\"\nhost = \"10.9.9.9\"\nsubnet = \"10.0.4.0/24\"\nknown_hosts = {:?}\nssh_config = {:?}\n",
        kh.display().to_string(),
        file.display().to_string()
    ))
    .unwrap()
}

/// What `ssh -G` (ssh's own resolution of its options) says for `host`.
fn resolved(wrapper: &Path, host: &str) -> String {
    let out = std::process::Command::new("ssh")
        .arg("-G")
        .arg("-F")
        .arg(wrapper)
        .arg(host)
        .output()
        .expect("the ssh client (openssh-client) runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_included_file_cannot_loosen_host_key_checking() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known hosts");
    std::fs::write(&kh, "").unwrap();
    let file = dir.path().join("ssh_config");
    std::fs::write(
        &file,
        "StrictHostKeyChecking no\nUserKnownHostsFile /dev/null\nBatchMode no\nUpdateHostKeys yes\n\
         KexAlgorithms curve25519-sha256\nHost 10.9.9.9\n  ProxyJump jumphost\n",
    )
    .unwrap();
    let c = server(&kh, &file);
    let (wrapper, _) = config_wrapper(&c, dir.path()).unwrap();
    assert_eq!(std::fs::metadata(&wrapper).unwrap().permissions().mode() & 0o777, 0o600);
    let opts = resolved(&wrapper, "10.9.9.9");
    for want in [
        "stricthostkeychecking true".to_string(),
        "batchmode yes".into(),
        "updatehostkeys false".into(),
        format!("userknownhostsfile {}", kh.display()),
        "kexalgorithms curve25519-sha256".into(),
        "proxyjump jumphost".into(),
    ] {
        assert!(opts.lines().any(|l| l == want), "{want:?} not in:\n{opts}");
    }
    // The hop, as ssh starts it (`ssh -F WRAPPER -W ... jumphost`), is held the same way.
    let hop = resolved(&wrapper, "jumphost");
    for want in [
        "stricthostkeychecking true".to_string(),
        "updatehostkeys false".into(),
        format!("userknownhostsfile {}", kh.display()),
    ] {
        assert!(hop.lines().any(|l| l == want), "{want:?} not in the hop's:\n{hop}");
    }
    // An edit of the file, or of known_hosts (a key removed), is a
    // different master; the wrapper's text stays the same.
    let t = SshTransport::new(c.clone()).unwrap();
    let key = |c: &ServerConfig| t.persist_key(&wrapper_text(c).unwrap().1);
    let first = key(&c);
    assert_eq!(key(&c), first, "nothing changed, the same master");
    std::fs::write(&file, "KexAlgorithms sntrup761x25519-sha512@openssh.com\n").unwrap();
    let edited = key(&c);
    assert_ne!(edited, first);
    std::fs::write(
        &kh,
        "[10.9.9.9]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEudilsYhdFBG93B1xh00Htbc5fjrKKVZLIbWw+rsvH7\n",
    )
    .unwrap();
    let with_key = key(&c);
    assert_ne!(with_key, edited, "known_hosts edited at the same path");
    std::fs::write(&kh, "").unwrap();
    assert_ne!(key(&c), with_key, "the key removed again");
    assert_eq!(key(&c), edited, "by contents, not by time");
    assert_eq!(config_wrapper(&c, dir.path()).unwrap().0, wrapper);
}

#[test]
fn without_an_ssh_config_file_the_wrapper_still_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    // Neither ssh_config nor known_hosts: ssh alone would default to
    // `UpdateHostKeys yes` (it does for its default known_hosts files).
    let c: ServerConfig = toml::from_str("name = \"s1\"\nhost = \"10.9.9.9\"\nsubnet = \"10.0.4.0/24\"\n").unwrap();
    let (wrapper, _) = config_wrapper(&c, dir.path()).unwrap();
    let text = std::fs::read_to_string(&wrapper).unwrap();
    assert!(text.ends_with("Include ~/.ssh/config\nInclude /etc/ssh/ssh_config\n"), "{text}");
    for host in ["10.9.9.9", "some-hop"] {
        let opts = resolved(&wrapper, host);
        for want in ["stricthostkeychecking true", "batchmode yes", "updatehostkeys false", "verifyhostkeydns false"] {
            assert!(opts.lines().any(|l| l == want), "{host}: {want:?} not in:\n{opts}");
        }
    }
}

#[test]
fn a_path_ssh_would_not_read_as_one_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("kh");
    std::fs::write(&kh, "").unwrap();
    for name in ["a\"b", "a*b", "a%h"] {
        let file = dir.path().join(name);
        std::fs::write(&file, "").unwrap();
        let e = wrapper_text(&server(&kh, &file)).unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { value, .. } if value.ends_with(name)), "{e}");
    }
    let e = wrapper_text(&server(&kh, &dir.path().join("none"))).unwrap_err();
    assert!(e.to_string().contains("no such readable file"), "{e}");
}

#[test]
fn a_control_directory_someone_else_made_is_never_used() {
    let me = uid().unwrap();
    let base = tempfile::tempdir().unwrap();
    let path = base.path().join(format!("flockport-ssh-{me}"));
    // Absent: created, 0700, and used.
    assert_eq!(private_dir_in(base.path(), me).unwrap(), path);
    assert_eq!(std::fs::symlink_metadata(&path).unwrap().permissions().mode() & 0o777, 0o700);
    std::fs::remove_dir(&path).unwrap();

    // A symlink to a directory that is ours and 0700: still refused.
    let elsewhere = base.path().join("elsewhere");
    std::fs::DirBuilder::new().mode(0o700).create(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    let why = private_dir_in(base.path(), me).unwrap_err();
    assert!(why.contains("symlink"), "{why}");
    std::fs::remove_file(&path).unwrap();
    // A plain file.
    std::fs::write(&path, "").unwrap();
    assert!(private_dir_in(base.path(), me).unwrap_err().contains("not a directory"));
    std::fs::remove_file(&path).unwrap();
    // A directory others can enter.
    std::fs::DirBuilder::new().mode(0o700).create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(private_dir_in(base.path(), me).unwrap_err().contains("0755"));
    // Another user's (root can hand it over; others skip this case).
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    if std::process::Command::new("chown").arg("65534").arg(&path).status().is_ok_and(|s| s.success()) {
        assert!(private_dir_in(base.path(), me).unwrap_err().contains("65534"));
    }

    // The fallback: a fresh private directory of ours, no persistence.
    let own = WorkDir::own_in(base.path()).unwrap();
    let meta = std::fs::symlink_metadata(own.path()).unwrap();
    assert!(meta.is_dir() && meta.uid() == me && meta.permissions().mode() & 0o777 == 0o700);
    assert_ne!(own.path(), path);
    assert!(own.persist().is_none());
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing went through the symlink");
}
