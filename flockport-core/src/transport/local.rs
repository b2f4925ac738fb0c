//! [`LocalTransport`]: runs commands on this machine, no SSH.

use super::{Output, Transport};
use crate::error::{Error, Result};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// Runs commands on the local host.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    server: String,
}

impl LocalTransport {
    /// A local transport acting as server `server`.
    pub fn new(server: &str) -> Self {
        LocalTransport { server: server.to_string() }
    }
}

#[async_trait::async_trait]
impl Transport for LocalTransport {
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
        let (fed, out) = tokio::join!(feed, child.wait_with_output());
        fed.map_err(|e| Error::io("writing stdin of", prog.as_str(), e))?;
        let out = out.map_err(|e| Error::io("waiting for", prog.as_str(), e))?;
        Ok(Output { status: out.status.code().unwrap_or(-1), stdout: out.stdout, stderr: out.stderr })
    }
}
