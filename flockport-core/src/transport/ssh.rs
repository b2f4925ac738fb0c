//! [`SshTransport`]: the `openssh` crate with one multiplexed master per
//! server, opened on first use and reused by every operation of the process
//! (checked before each command, and replaced once if it went away).
//!
//! Strict host-key checking is the default; an unknown or changed key is
//! [`Error::HostKeyNotTrusted`] with the command that trusts it. Command lines
//! are built by [`crate::quote::quote_argv`] and passed raw, so the crate's
//! own escaping never applies a second time. With the native mux, exit status
//! 255 is the remote command's own; a lost connection is an `openssh` error,
//! interpreted in [`classify`].
//!
//! Like Ansible's ControlPersist, a master outlives the process for
//! [`PERSIST_IDLE_SECS`] of idleness, so the next `flockport` run on the same
//! server skips the handshake: its control socket is recorded in a 0700
//! directory of the user's ([`persist_dir`]), and a later process resumes it
//! after a liveness check. `FLOCKPORT_SSH_PERSIST=0` turns this off.
//!
//! ssh always reads a wrapper (`config_wrapper`, given with `-F`) that first
//! fixes host-key checking (strict, against the inventory's known_hosts,
//! batch mode, no key updates, no DNS or command lookups) and then
//! `Include`s the server's `ssh_config` file, or `~/.ssh/config` and
//! `/etc/ssh/ssh_config` (what ssh reads without `-F`) when it has none. The
//! first value ssh obtains wins, so no included file can loosen these, and a
//! ProxyJump hop (which ssh starts with only `-F`) gets them too, in every
//! configuration: without the wrapper, ssh's default `UpdateHostKeys yes`
//! (for the default known_hosts files) would let a server add keys to
//! `~/.ssh/known_hosts`, and a hop from `~/.ssh/config` would be checked
//! with ssh's defaults only.

use super::{within, Output, Transport};
use crate::error::{Error, Result};
use crate::inventory::ServerConfig;
use crate::quote::quote_argv;
use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use sha2::{Digest, Sha256};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// How long to wait for a TCP connection and handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a persisted master may stay idle before it exits.
pub const PERSIST_IDLE_SECS: usize = 60;

/// The directory recording persisted masters: `$TMPDIR/flockport-ssh-UID`,
/// created 0700; `None` when persistence is off or that path is not a
/// directory private to this user (then every process connects afresh).
pub fn persist_dir() -> Option<PathBuf> {
    persistence_on().then(shared_dir).flatten()
}

/// Whether masters persist (`FLOCKPORT_SSH_PERSIST=0` turns it off).
fn persistence_on() -> bool {
    std::env::var("FLOCKPORT_SSH_PERSIST").map_or(true, |v| v != "0")
}

/// This process's user id (the owner of `/proc/self`).
fn uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// `$TMPDIR/flockport-ssh-UID` if it is usable (see [`private_dir_in`]); a
/// warning, once per process, says why not.
fn shared_dir() -> Option<PathBuf> {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let uid = uid()?;
    match private_dir_in(&std::env::temp_dir(), uid) {
        Ok(dir) => Some(dir),
        Err(why) => {
            if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(
                    reason = %why,
                    "ssh masters are not persisted; the ssh_config wrapper goes to a fresh private directory"
                );
            }
            None
        }
    }
}

/// `base/flockport-ssh-UID`, created 0700 if absent. Refused (with the
/// reason) unless it is a directory itself, not a symlink, owned by `uid`,
/// with mode 0700: whoever else created that path first (another user, a
/// symlink to elsewhere, a plain file) is never followed or written into.
fn private_dir_in(base: &Path, uid: u32) -> std::result::Result<PathBuf, String> {
    let dir = base.join(format!("flockport-ssh-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    // lstat: a symlink is judged as a symlink, never by what it points to.
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| format!("cannot inspect {}: {e}", dir.display()))?;
    let shown = dir.display();
    if meta.file_type().is_symlink() {
        Err(format!("{shown} is a symlink"))
    } else if !meta.is_dir() {
        Err(format!("{shown} is not a directory"))
    } else if meta.uid() != uid {
        Err(format!("{shown} belongs to uid {}, not {uid}", meta.uid()))
    } else if meta.permissions().mode() & 0o777 != 0o700 {
        Err(format!("{shown} has mode {:04o}, not 0700", meta.permissions().mode() & 0o777))
    } else {
        Ok(dir)
    }
}

/// Where one connection's ssh files go.
#[derive(Debug)]
enum WorkDir {
    /// The shared private directory: ssh_config wrappers and persisted masters.
    Shared(PathBuf),
    /// A fresh private directory (mkdtemp, 0700) used while connecting, when
    /// the shared one is unusable; removed when dropped, no persistence.
    Own(tempfile::TempDir),
}

impl WorkDir {
    /// The shared directory if usable, else a fresh one in `$TMPDIR`.
    fn get() -> Result<WorkDir> {
        match shared_dir() {
            Some(dir) => Ok(WorkDir::Shared(dir)),
            None => Self::own_in(&std::env::temp_dir()),
        }
    }

    /// A fresh private directory in `base`.
    fn own_in(base: &Path) -> Result<WorkDir> {
        tempfile::Builder::new()
            .prefix(&format!("flockport-ssh-{}-", uid().unwrap_or_default()))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(base)
            .map(WorkDir::Own)
            .map_err(|e| Error::io("creating a private directory in", base, e))
    }

    fn path(&self) -> &Path {
        match self {
            WorkDir::Shared(p) => p,
            WorkDir::Own(t) => t.path(),
        }
    }

    /// Where masters persist: the shared directory, unless persistence is off.
    fn persist(&self) -> Option<&Path> {
        match self {
            WorkDir::Shared(p) if persistence_on() => Some(p),
            _ => None,
        }
    }
}

/// Runs commands on a server over SSH.
///
/// The master is opened on first use and kept; before each command its
/// liveness is checked locally (the mux alive check, no round trip to the
/// server), and a master that went away (ControlPersist expired while the
/// process idled, killed, its connection lost) is replaced by one new
/// connection, once, before anything of the command was sent: a command is
/// never run twice. A command whose master dies while it runs fails.
#[derive(Debug)]
pub struct SshTransport {
    config: ServerConfig,
    host: String,
    session: Mutex<Option<Arc<Session>>>,
}

impl SshTransport {
    /// A transport for `config` (nothing is contacted until first use).
    pub fn new(config: ServerConfig) -> Result<Self> {
        let host = config
            .host
            .clone()
            .ok_or_else(|| Error::invalid("host", "", format!("server {} uses ssh and needs a host", config.name)))?;
        Ok(SshTransport { config, host, session: Mutex::new(None) })
    }

    /// The master, checked alive; connected (or reconnected) if need be.
    async fn session(&self) -> Result<Arc<Session>> {
        let mut slot = self.session.lock().await;
        if let Some(s) = slot.as_ref() {
            match s.check().await {
                Ok(()) => return Ok(s.clone()),
                Err(e) => {
                    tracing::info!(server = %self.config.name, error = %e, "the ssh master is gone; reconnecting")
                }
            }
        }
        *slot = None;
        let s = Arc::new(self.connect().await?);
        *slot = Some(s.clone());
        Ok(s)
    }

    #[tracing::instrument(level = "debug", skip(self), fields(server = %self.config.name))]
    async fn connect(&self) -> Result<Session> {
        let c = &self.config;
        if let Some(id) = &c.identity {
            if !id.is_file() {
                return Err(Error::invalid(
                    "identity file",
                    id.display().to_string(),
                    format!("server {}: no such file; fix `identity` in the inventory", c.name),
                ));
            }
        }
        let work = WorkDir::get()?;
        // Read before anything connects: a missing or unreadable file is named.
        let (wrapper, config_digest) = config_wrapper(c, work.path())?;
        let mut b = SessionBuilder::default();
        b.user(c.user.clone())
            .port(c.port)
            .known_hosts_check(KnownHosts::Strict)
            .connect_timeout(CONNECT_TIMEOUT)
            .server_alive_interval(Duration::from_secs(15))
            .control_directory(std::env::temp_dir());
        if let Some(id) = &c.identity {
            b.keyfile(id);
        }
        if let Some(kh) = &c.known_hosts {
            b.user_known_hosts_file(kh);
        }
        b.config_file(&wrapper);
        let Some(dir) = work.persist() else {
            return b.connect_mux(&self.host).await.map_err(|e| classify(c, &self.host, e));
        };
        let record = dir.join(format!("{}.ctl", self.persist_key(&config_digest)));
        if let Some(s) = resume(&record).await {
            tracing::debug!(server = %c.name, "reusing a persisted ssh master");
            return Ok(s);
        }
        b.control_directory(dir).control_persist(ControlPersist::IdleFor(
            std::num::NonZeroUsize::MIN.saturating_add(PERSIST_IDLE_SECS - 1),
        ));
        let session = b.connect_mux(&self.host).await.map_err(|e| classify(c, &self.host, e))?;
        let (ctl, log) = session.detach();
        let text =
            format!("{}\n{}\n", ctl.display(), log.as_deref().map(|l| l.display().to_string()).unwrap_or_default());
        if let Err(e) = crate::fsutil::atomic_write(&record, text.as_bytes(), 0o600) {
            tracing::warn!(error = %e, "cannot record the ssh master; it is not reused");
        }
        Ok(Session::resume_mux(ctl, log))
    }
}

impl SshTransport {
    /// The file recording this server's persisted master, when persistence is on.
    pub fn persist_record(&self) -> Option<PathBuf> {
        let (_, digest) = wrapper_text(&self.config).ok()?;
        persist_dir().map(|d| d.join(format!("{}.ctl", self.persist_key(&digest))))
    }

    /// What identifies a reusable master: user, host, port, key, and the
    /// contents of what ssh read (`config_digest`, from [`wrapper_text`]: the
    /// wrapper, the included ssh_config files, the known_hosts files). A
    /// master made before known_hosts was edited (a key removed) is not reused.
    fn persist_key(&self, config_digest: &str) -> String {
        let c = &self.config;
        let mut h = Sha256::new();
        for part in [
            c.user.as_str(),
            self.host.as_str(),
            &c.port.to_string(),
            &c.identity.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            // The files' contents: after an edit, a new master.
            config_digest,
        ] {
            h.update(part.as_bytes());
            h.update(b"\0");
        }
        hex::encode(h.finalize())[..20].to_string()
    }
}

/// Resumes the master recorded in `record` if it is alive; removes a stale record.
async fn resume(record: &Path) -> Option<Session> {
    let text = std::fs::read_to_string(record).ok()?;
    let mut lines = text.lines();
    let ctl = PathBuf::from(lines.next()?);
    let log = lines.next().filter(|l| !l.is_empty()).map(|l| PathBuf::from(l).into_boxed_path());
    let dir = record.parent()?;
    if ctl.exists() {
        let s = Session::resume_mux(ctl.clone().into_boxed_path(), log);
        if s.check().await.is_ok() {
            return Some(s);
        }
    }
    let _ = std::fs::remove_file(record);
    // The master's own temp dir, if it is ours and it left one behind.
    if let Some(d) = ctl.parent().filter(|d| d.parent() == Some(dir)) {
        let _ = std::fs::remove_dir_all(d);
    }
    None
}

/// Turns a connection failure into the error the user can act on.
pub fn classify(c: &ServerConfig, host: &str, e: openssh::Error) -> Error {
    let mut text = e.to_string();
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    let last_line = |t: &str| t.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
    if text.contains("Host key verification failed")
        || text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || text.contains("No ED25519 host key is known")
        || text.contains("host key is known")
    {
        let known_hosts =
            c.known_hosts.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "~/.ssh/known_hosts".to_string());
        return Error::HostKeyNotTrusted {
            server: c.name.clone(),
            host: host.to_string(),
            port: c.port,
            known_hosts,
            detail: "Host key verification failed".into(),
        };
    }
    // Where ssh's options come from, for the reasons that point at them.
    let config = c.ssh_config.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "~/.ssh/config".into());
    let reason = if text.contains("Connection refused") {
        format!("connection to {host}:{} refused (is sshd running?)", c.port)
    } else if text.contains("timed out") {
        format!("connection to {host}:{} timed out", c.port)
    } else if text.contains("Permission denied") {
        format!("permission denied for {}@{host} (check user and identity)", c.user)
    } else if text.contains("No route to host") || text.contains("Network is unreachable") {
        format!("no route to {host}")
    } else if text.contains("Could not resolve hostname") {
        format!("cannot resolve {host}")
    } else if c.ssh_config.is_some() && text.contains("Connection closed by UNKNOWN") {
        // What ssh says when a ProxyJump/ProxyCommand hop fails: the hop's
        // own message is not shown.
        format!(
            "the connection through a jump host or proxy command of {config} closed before the handshake \
             (is the jump host reachable, and its key in the known_hosts file?)"
        )
    } else if text.contains("no matching") {
        // e.g. "no matching key exchange method found": the algorithms allowed
        // (by the ssh_config file, or ssh's defaults) and the server's differ.
        format!("{} (check the algorithms allowed in {config} against the server's)", last_line(&text))
    } else if let Some(line) = text.lines().find(|l| l.contains("Bad configuration option") || l.contains("Bad SSH2")) {
        // ssh names the file and line first, then says it terminates.
        format!("ssh refused the configuration included from {config}: {}", line.trim())
    } else {
        last_line(&text)
    };
    Error::Unreachable { server: c.name.clone(), reason, source: Some(Box::new(e)) }
}

#[async_trait::async_trait]
impl Transport for SshTransport {
    fn server(&self) -> &str {
        &self.config.name
    }

    #[tracing::instrument(level = "debug", skip(self, stdin), fields(server = %self.config.name))]
    async fn exec(&self, argv: Vec<String>, stdin: Option<Vec<u8>>) -> Result<Output> {
        let line = quote_argv(&argv)?;
        let session = self.session().await?;
        // Past the limit the command's future is dropped: its channel is
        // closed (the mux protocol cannot signal the remote process, which
        // sees its standard streams close).
        within(self.config.command_timeout(), &self.config.name, &argv, self.run(&session, &line, stdin)).await
    }

    /// A local forward through the server's master: 127.0.0.1 and a port
    /// that was free a moment ago (the mux protocol takes a fixed port; a
    /// port taken in between fails the request and the next one is tried).
    async fn open_tunnel(&self, target: std::net::SocketAddrV4) -> Result<std::net::SocketAddr> {
        let session = self.session().await?;
        let mut last = None;
        for _ in 0..3 {
            let local = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| Error::io("choosing a local port for a tunnel", "127.0.0.1", e))?;
            match session
                .request_port_forward(openssh::ForwardType::Local, local, std::net::SocketAddr::from(target))
                .await
            {
                Ok(()) => return Ok(local),
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Ssh {
            server: self.config.name.clone(),
            context: format!("forwarding a local port to {target}"),
            source: last.unwrap_or(openssh::Error::Disconnected),
        })
    }

    async fn close_tunnel(&self, local: std::net::SocketAddr, target: std::net::SocketAddrV4) -> Result<()> {
        let session = self.session().await?;
        session
            .close_port_forward(openssh::ForwardType::Local, local, std::net::SocketAddr::from(target))
            .await
            .map_err(|e| Error::Ssh {
                server: self.config.name.clone(),
                context: format!("closing the forward of {local} to {target}"),
                source: e,
            })
    }
}

impl SshTransport {
    /// Runs the command line `line` on `session`.
    async fn run(&self, session: &Session, line: &str, stdin: Option<Vec<u8>>) -> Result<Output> {
        let ssh_err = |context: &str, source: openssh::Error| Error::Ssh {
            server: self.config.name.clone(),
            context: context.to_string(),
            source,
        };
        let mut cmd = session.raw_command(line);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().await.map_err(|e| ssh_err("starting a command", e))?;
        // As in the local transport: stdin is fed while output is read, and a
        // remote command that does not read all of it is judged by its status.
        let pipe = child.stdin().take();
        let feed = async move {
            if let (Some(data), Some(mut pipe)) = (stdin, pipe) {
                match pipe.write_all(&data).await {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                    _ => {}
                }
                pipe.shutdown().await.ok();
            }
            Ok(())
        };
        let (fed, out) = tokio::join!(feed, child.wait_with_output());
        fed.map_err(|e| ssh_err("writing standard input", openssh::Error::ChildIo(e)))?;
        let out = out.map_err(|e| ssh_err("waiting for a command", e))?;
        Ok(Output { status: out.status.code().unwrap_or(-1), stdout: out.stdout, stderr: out.stderr })
    }
}

/// The wrapper ssh reads (`-F`) for every server: flockport's host-key
/// settings first, then `Include` of the server's `ssh_config` file, or of
/// `~/.ssh/config` and `/etc/ssh/ssh_config` (what ssh reads without `-F`)
/// when it has none. Returns the wrapper's path (in `dir`, private, mode
/// 0600, named by the digest of its text) and the digest of everything ssh
/// reads (see [`wrapper_text`]).
fn config_wrapper(c: &ServerConfig, dir: &Path) -> Result<(PathBuf, String)> {
    let (text, digest) = wrapper_text(c)?;
    let path = dir.join(format!("ssh_config-{}", &hex::encode(Sha256::digest(text.as_bytes()))[..20]));
    if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
        crate::fsutil::atomic_write(&path, text.as_bytes(), 0o600)?;
    }
    Ok((path, digest))
}

/// The wrapper's text and the digest of everything ssh reads through it: the
/// text, the included files' contents and the known_hosts files' contents
/// (so a persisted master made before an edit of any of them is not reused).
/// Refuses a path ssh_config could read otherwise than as one file.
pub(crate) fn wrapper_text(c: &ServerConfig) -> Result<(String, String)> {
    // `~` as ssh expands it (for the digest only: the text keeps `~`).
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let (include, contents) = match &c.ssh_config {
        Some(file) => {
            let bad = |why: &str| Error::invalid("ssh_config file", file.display().to_string(), why.to_string());
            let abs = std::path::absolute(file).map_err(|e| Error::io("reading ssh_config", file, e))?;
            let shown = abs.to_str().ok_or_else(|| bad("give a path in UTF-8"))?;
            if shown.chars().any(|ch| matches!(ch, '"' | '*' | '?' | '[' | '%' | '\\') || ch.is_control()) {
                return Err(bad("give a path without quotes, wildcards, '%', backslashes or control characters"));
            }
            let contents =
                std::fs::read(&abs).map_err(|_| bad("no such readable file; fix `ssh_config` in the inventory"))?;
            (format!("Include \"{shown}\"\n"), contents)
        }
        None => {
            // What ssh reads without -F, as they are now (for the digest).
            let mut contents = std::fs::read(home.join(".ssh/config")).unwrap_or_default();
            contents.push(0);
            contents.extend(std::fs::read("/etc/ssh/ssh_config").unwrap_or_default());
            ("Include ~/.ssh/config\nInclude /etc/ssh/ssh_config\n".to_string(), contents)
        }
    };
    let known_hosts_files = match &c.known_hosts {
        Some(kh) => vec![kh.clone()],
        None => vec![home.join(".ssh/known_hosts"), home.join(".ssh/known_hosts2")],
    };
    let known_hosts = match &c.known_hosts {
        Some(kh) => {
            let bad = |why: &str| Error::invalid("known_hosts file", kh.display().to_string(), why.to_string());
            let abs = std::path::absolute(kh).map_err(|e| Error::io("reading known_hosts", kh, e))?;
            let abs = abs.to_str().ok_or_else(|| bad("give a path in UTF-8"))?.to_string();
            if abs.contains('"') || abs.chars().any(char::is_control) {
                return Err(bad("give a path without quotes or control characters"));
            }
            format!("\"{abs}\"")
        }
        None => "~/.ssh/known_hosts ~/.ssh/known_hosts2".to_string(),
    };
    let text = format!(
        "# Written by flockport for server {name}: its host-key settings first (ssh keeps the\n\
         # first value it obtains, so the included files cannot loosen them), then the files.\n\
         StrictHostKeyChecking yes\n\
         BatchMode yes\n\
         UpdateHostKeys no\n\
         VerifyHostKeyDNS no\n\
         KnownHostsCommand none\n\
         UserKnownHostsFile {known_hosts}\n\
         GlobalKnownHostsFile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2\n\
         {include}",
        name = c.name,
    );
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    h.update(&contents);
    let global = [PathBuf::from("/etc/ssh/ssh_known_hosts"), PathBuf::from("/etc/ssh/ssh_known_hosts2")];
    for f in known_hosts_files.iter().chain(&global) {
        // A missing file and an empty one differ.
        let bytes = std::fs::read(f).ok();
        h.update([u8::from(bytes.is_some())]);
        h.update(Sha256::digest(bytes.unwrap_or_default()));
    }
    Ok((text, hex::encode(h.finalize())))
}

#[cfg(test)]
#[path = "ssh_tests.rs"]
mod tests;
