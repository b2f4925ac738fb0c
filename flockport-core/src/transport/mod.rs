//! The one seam for remote work: run an argv on a server.
//!
//! [`Transport::exec`] is the only required method; [`TransportExt`] builds
//! running a script, writing a file with a mode and reading a file on top of
//! it, so every transport (SSH, local, the mockall mock) behaves the same.
//!
//! Architecture invariant: a non-zero exit becomes an error in exactly one
//! place, [`Output::check`].

mod local;
mod ssh;

pub use local::LocalTransport;
pub(crate) use ssh::wrapper_text as ssh_config_wrapper_text;
pub use ssh::{SshTransport, CONNECT_TIMEOUT};

use crate::error::{tail, Error, Result};
use crate::inventory::{ServerConfig, TransportKind};
use crate::quote::quote_argv;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

/// How long one command may run unless the server's `command_timeout_secs`
/// says otherwise: long enough for an image build (`lxc-create` and package
/// installs), short enough that a hung command does not hold the state lock
/// forever.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(900);

/// Runs `command` (the future running `argv`) within `limit`; past it, the
/// future is dropped and the result is [`Error::Timeout`].
pub(crate) async fn within<T>(
    limit: Option<Duration>,
    server: &str,
    argv: &[String],
    command: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let Some(limit) = limit else { return command.await };
    tokio::time::timeout(limit, command).await.unwrap_or_else(|_| {
        Err(Error::Timeout { server: server.to_string(), command: display_argv(argv), secs: limit.as_secs() })
    })
}

/// What a command produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Exit status; -1 when killed by a signal.
    pub status: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl Output {
    /// A successful output with `stdout`.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Output { status: 0, stdout: stdout.into(), stderr: Vec::new() }
    }

    /// Standard output as text (lossy).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The one place a non-zero exit becomes [`Error::RemoteCommand`].
    pub fn check(self, server: &str, argv: &[String]) -> Result<Output> {
        if self.status == 0 {
            return Ok(self);
        }
        let stderr_tail =
            if self.stderr.iter().any(|b| !b.is_ascii_whitespace()) { tail(&self.stderr) } else { tail(&self.stdout) };
        Err(Error::RemoteCommand {
            server: server.to_string(),
            command: display_argv(argv),
            status: self.status,
            stderr_tail,
        })
    }
}

/// A command line for messages: quoted, long scripts shortened.
pub fn display_argv(argv: &[String]) -> String {
    let shown: Vec<String> = argv
        .iter()
        .map(|a| {
            if a.len() > 120 {
                format!("{}…", &a[..a.char_indices().nth(100).map_or(a.len(), |(i, _)| i)])
            } else {
                a.clone()
            }
        })
        .collect();
    quote_argv(&shown).unwrap_or_else(|_| shown.join(" "))
}

/// Runs commands on one server.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// The server's name (for errors and logs).
    fn server(&self) -> &str;
    /// Runs `argv` with optional standard input. A non-zero exit is not an
    /// error here (see [`Output::check`]); failing to run at all is.
    async fn exec(&self, argv: Vec<String>, stdin: Option<Vec<u8>>) -> Result<Output>;

    /// A TCP address on this machine that reaches `target` as the server
    /// reaches it (a service in one of its containers): an SSH local forward
    /// through the server's master, or `target` itself for this machine.
    /// [`Transport::close_tunnel`] ends it.
    async fn open_tunnel(&self, target: SocketAddrV4) -> Result<SocketAddr> {
        Err(Error::Unreachable {
            server: self.server().to_string(),
            reason: format!("this transport cannot reach {target} (no tunnel)"),
            source: None,
        })
    }

    /// Ends a tunnel [`Transport::open_tunnel`] opened (nothing to do for
    /// this machine).
    async fn close_tunnel(&self, _local: SocketAddr, _target: SocketAddrV4) -> Result<()> {
        Ok(())
    }
}

/// Convenience operations built on [`Transport::exec`].
#[async_trait::async_trait]
pub trait TransportExt: Transport {
    /// Runs `argv`; a non-zero exit is an error.
    async fn run(&self, argv: &[&str]) -> Result<Output> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        self.exec(argv.clone(), None).await?.check(self.server(), &argv)
    }

    /// Runs `script` with `sh -c`, `args` as `$1`, `$2`, ...; a non-zero exit is an error.
    async fn run_script(&self, script: &str, args: &[&str]) -> Result<Output> {
        let mut argv = vec!["sh".to_string(), "-c".to_string(), script.to_string(), "sh".to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        self.exec(argv.clone(), None).await?.check(self.server(), &argv)
    }

    /// Writes `contents` to `path` atomically (temp file, chmod, rename) with `mode`.
    async fn write_file(&self, path: &str, contents: &[u8], mode: u32) -> Result<()> {
        let argv = write_file_argv(path, mode);
        self.exec(argv.clone(), Some(contents.to_vec())).await?.check(self.server(), &argv)?;
        Ok(())
    }

    /// Reads a file.
    async fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        let argv = vec!["cat".to_string(), "--".to_string(), path.to_string()];
        Ok(self.exec(argv.clone(), None).await?.check(self.server(), &argv)?.stdout)
    }
}

impl<T: Transport + ?Sized> TransportExt for T {}

/// The argv that writes stdin to `path` atomically with `mode`.
pub fn write_file_argv(path: &str, mode: u32) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        r#"umask 077; mkdir -p "$(dirname "$1")" && t=$(mktemp "$1.XXXXXX") && cat > "$t" && chmod "$2" "$t" && mv -f "$t" "$1""#.into(),
        "sh".into(),
        path.into(),
        format!("{mode:04o}"),
    ]
}

/// Makes transports for servers (a seam so tests can inject mocks).
pub trait TransportFactory: Send + Sync + std::fmt::Debug {
    /// A transport for `server`.
    fn connect(&self, server: &ServerConfig) -> Result<Arc<dyn Transport>>;
}

/// One transport per server per process, made by a factory on first use
/// and shared: the cluster's operations and its state store (a Consul store
/// reaches its endpoints through the same SSH connections).
#[derive(Debug)]
pub struct TransportPool {
    factory: Arc<dyn TransportFactory>,
    map: std::sync::Mutex<std::collections::BTreeMap<String, Arc<dyn Transport>>>,
}

impl TransportPool {
    /// An empty pool over `factory`.
    pub fn new(factory: Arc<dyn TransportFactory>) -> Self {
        TransportPool { factory, map: std::sync::Mutex::new(Default::default()) }
    }

    /// The factory (for a new pool over the same one).
    pub fn factory(&self) -> &Arc<dyn TransportFactory> {
        &self.factory
    }

    fn map(&self) -> Result<std::sync::MutexGuard<'_, std::collections::BTreeMap<String, Arc<dyn Transport>>>> {
        self.map.lock().map_err(|_| Error::invalid("transport cache", "", "poisoned lock"))
    }

    /// The transport for `server`: the pool's, or a new one.
    pub fn get(&self, server: &ServerConfig) -> Result<Arc<dyn Transport>> {
        let mut map = self.map()?;
        if let Some(t) = map.get(&server.name) {
            return Ok(t.clone());
        }
        let t = self.factory.connect(server)?;
        map.insert(server.name.clone(), t.clone());
        Ok(t)
    }

    /// Forgets the transport of server `name` (it left the inventory).
    pub fn forget(&self, name: &str) -> Result<()> {
        self.map()?.remove(name);
        Ok(())
    }
}

/// The real factory: SSH or local as the inventory says.
#[derive(Debug, Default)]
pub struct DefaultTransportFactory;

impl TransportFactory for DefaultTransportFactory {
    fn connect(&self, server: &ServerConfig) -> Result<Arc<dyn Transport>> {
        Ok(match server.transport {
            TransportKind::Ssh => Arc::new(SshTransport::new(server.clone())?),
            TransportKind::Local => {
                Arc::new(LocalTransport::new(&server.name).with_command_timeout(server.command_timeout()))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn check_maps_non_zero_exit() {
        let out = Output { status: 3, stdout: b"x".to_vec(), stderr: b"boom\n".to_vec() };
        let e = out.check("s1", &["lxc-start".into(), "-n".into(), "c 1".into()]).unwrap_err();
        match &e {
            Error::RemoteCommand { server, command, status, stderr_tail } => {
                assert_eq!(server, "s1");
                assert_eq!(command, "lxc-start -n 'c 1'");
                assert_eq!(*status, 3);
                assert_eq!(stderr_tail, "boom");
            }
            other => panic!("{other:?}"),
        }
        assert!(Output::ok("y").check("s1", &[]).is_ok());
    }

    #[tokio::test]
    async fn local_write_and_read_file() {
        let t = LocalTransport::new("local");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/f 1.txt");
        let p = p.to_str().unwrap();
        t.write_file(p, b"hello\n", 0o640).await.unwrap();
        assert_eq!(t.read_file(p).await.unwrap(), b"hello\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o640);
        let e = t.run(&["false"]).await.unwrap_err();
        assert!(matches!(e, Error::RemoteCommand { status: 1, .. }), "{e}");
        let o = t.run_script(r#"printf '%s|' "$@""#, &["a b", "$(x)"]).await.unwrap();
        assert_eq!(o.stdout_str(), "a b|$(x)|");
    }

    #[tokio::test]
    async fn a_command_past_its_limit_is_killed_and_fails_with_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let t = LocalTransport::new("here").with_command_timeout(Some(Duration::from_secs(1)));
        let started = std::time::Instant::now();
        let e = t.exec(vec!["sleep".into(), "5".into()], None).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        match &e {
            Error::Timeout { server, command, secs } => {
                assert_eq!((server.as_str(), command.as_str(), *secs), ("here", "sleep 5", 1));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.kind(), crate::ErrorKind::RemoteCommandFailed);
        assert!(e.to_string().contains("command_timeout_secs"), "{e}");
        // The process itself is gone (killed and reaped), not left running.
        let script = r#"echo $$ > "$1"; exec sleep 5"#;
        let e = t.run_script(script, &[pidfile.to_str().unwrap()]).await.unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(!Path::new(&format!("/proc/{}", pid.trim())).exists(), "process {pid} still exists");
        // Within the limit nothing changes.
        assert_eq!(t.run(&["echo", "ok"]).await.unwrap().stdout_str(), "ok\n");
    }

    #[test]
    fn the_command_limit_comes_from_the_inventory() {
        let server = |extra: &str| -> ServerConfig {
            toml::from_str(&format!("name = \"s1\"\nhost = \"h\"\nsubnet = \"10.0.4.0/24\"\n{extra}")).unwrap()
        };
        assert_eq!(server("").command_timeout(), Some(DEFAULT_COMMAND_TIMEOUT));
        assert_eq!(DEFAULT_COMMAND_TIMEOUT, Duration::from_secs(900));
        assert_eq!(server("command_timeout_secs = 30").command_timeout(), Some(Duration::from_secs(30)));
        assert_eq!(server("command_timeout_secs = 0").command_timeout(), None);
    }
}
