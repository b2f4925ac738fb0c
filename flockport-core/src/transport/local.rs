//! [`LocalTransport`]: runs commands on this machine, no SSH.

use super::{within, Output, Transport, DEFAULT_COMMAND_TIMEOUT};
use crate::error::{Error, Result};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Runs commands on the local host.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    server: String,
    timeout: Option<Duration>,
}

impl LocalTransport {
    /// A local transport acting as server `server`; each command may run for
    /// [`DEFAULT_COMMAND_TIMEOUT`].
    pub fn new(server: &str) -> Self {
        LocalTransport { server: server.to_string(), timeout: Some(DEFAULT_COMMAND_TIMEOUT) }
    }

    /// The same with another limit per command (`None`: no limit). A command
    /// past it is killed (SIGKILL to the process it started) and fails with
    /// [`Error::Timeout`].
    pub fn with_command_timeout(mut self, limit: Option<Duration>) -> Self {
        self.timeout = limit;
        self
    }
}

/// Everything `pipe` yields until its end (nothing when there is no pipe).
async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    if let Some(mut p) = pipe {
        p.read_to_end(&mut out).await?;
    }
    Ok(out)
}

#[async_trait::async_trait]
impl Transport for LocalTransport {
    async fn open_tunnel(&self, target: std::net::SocketAddrV4) -> Result<std::net::SocketAddr> {
        Ok(target.into())
    }

    fn server(&self) -> &str {
        &self.server
    }

    #[tracing::instrument(level = "debug", skip(self, stdin), fields(server = %self.server))]
    async fn exec(&self, argv: Vec<String>, stdin: Option<Vec<u8>>) -> Result<Output> {
        let (prog, args) =
            argv.split_first().ok_or_else(|| Error::invalid("command", "", "an empty command cannot run"))?;
        let mut cmd = tokio::process::Command::new(prog);
        cmd.args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| Error::io("running", prog.as_str(), e))?;
        // Standard input is written while the output is read (no deadlock on
        // large outputs); a command that exits without reading all of it is
        // judged by its exit status, so a broken pipe here is not an error.
        let pipe = child.stdin.take();
        let feed = async move {
            if let (Some(data), Some(mut pipe)) = (stdin, pipe) {
                match pipe.write_all(&data).await {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        };
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let run = async {
            let (fed, stdout, stderr, status) = tokio::join!(feed, read_all(stdout), read_all(stderr), child.wait());
            fed.map_err(|e| Error::io("writing stdin of", prog.as_str(), e))?;
            let status = status.map_err(|e| Error::io("waiting for", prog.as_str(), e))?;
            let read = |e| Error::io("reading the output of", prog.as_str(), e);
            Ok(Output {
                status: status.code().unwrap_or(-1),
                stdout: stdout.map_err(read)?,
                stderr: stderr.map_err(read)?,
            })
        };
        let out = within(self.timeout, &self.server, &argv, run).await;
        if let Err(Error::Timeout { .. }) = &out {
            // Killed and reaped before the error is returned (an error here:
            // it had exited, its output still held open by a process it started).
            if let Err(e) = child.kill().await {
                tracing::debug!(error = %e, command = %prog, "killing a command past its time limit");
            }
        }
        out
    }
}
