//! A scripted fake [`Transport`] for tests of exact command sequences: it
//! records every step a plan sends (a batch script is split back into its
//! steps, each with its own standard input), counts round trips, and answers
//! from rules (first match wins; default: success with no output), producing
//! a batch's markers as the real shell would. It asserts what flockport
//! sends, never that a feature works: the lab tests do that.

use crate::error::Result;
use crate::transport::{display_argv, Output, Transport};
use std::sync::{Arc, Mutex};

/// One command the fake received (a step of a batch, or a plain command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Which round trip (exec call) carried it, from 0.
    pub round_trip: usize,
    /// The argv.
    pub argv: Vec<String>,
    /// Its standard input.
    pub stdin: Option<Vec<u8>>,
}

impl Call {
    /// The command line as people read it.
    pub fn line(&self) -> String {
        display_argv(&self.argv)
    }
}

type Rule = (String, Box<dyn Fn(&Call) -> Output + Send + Sync>);

/// The fake. Cheap to clone (shared log and rules).
#[derive(Clone)]
pub struct FakeTransport {
    server: String,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    round_trips: usize,
    rules: Vec<Rule>,
    tunnel: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for FakeTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FakeTransport({})", self.server)
    }
}

impl FakeTransport {
    /// A fake for `server`.
    pub fn new(server: &str) -> Self {
        FakeTransport { server: server.into(), inner: Arc::new(Mutex::new(Inner::default())) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers commands whose argv, joined by spaces, contains `needle` with `out`.
    pub fn on(&self, needle: &str, out: Output) -> &Self {
        self.lock().rules.push((needle.to_string(), Box::new(move |_| out.clone())));
        self
    }

    /// Answers commands whose line contains `needle` by `f`.
    pub fn on_with(&self, needle: &str, f: impl Fn(&Call) -> Output + Send + Sync + 'static) -> &Self {
        self.lock().rules.push((needle.to_string(), Box::new(f)));
        self
    }

    /// Tunnels ([`Transport::open_tunnel`]) lead to `local` (a test's own
    /// listener, e.g. [`http_answering`]); without it they fail.
    pub fn tunnel(&self, local: std::net::SocketAddr) -> &Self {
        self.lock().tunnel = Some(local);
        self
    }

    /// Every command received, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Every command line received, in order (long arguments shortened).
    pub fn lines(&self) -> Vec<String> {
        self.calls().iter().map(Call::line).collect()
    }

    /// Every command received as its whole argv joined by spaces, in order.
    pub fn full_lines(&self) -> Vec<String> {
        self.calls().iter().map(|c| c.argv.join(" ")).collect()
    }

    /// How many exec calls (round trips) were made.
    pub fn round_trips(&self) -> usize {
        self.lock().round_trips
    }

    /// Forgets what was received (the rules stay).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.calls.clear();
        g.round_trips = 0;
    }

    fn answer(&self, call: &Call) -> Output {
        // Matched against the whole argv (a display line shortens long scripts).
        let line = call.argv.join(" ");
        let g = self.lock();
        for (needle, f) in &g.rules {
            if line.contains(needle.as_str()) {
                return f(call);
            }
        }
        Output::ok("")
    }
}

/// Splits a batch script made by [`crate::plan::batch_script`] back into
/// its steps' argvs and stdin byte counts (a step's command line may span
/// several lines: quoted scripts keep their newlines).
pub fn split_batch(script: &str) -> Option<Vec<(Vec<String>, usize)>> {
    if !script.starts_with("m() {") {
        return None;
    }
    if script.contains("\n: gather 0\n") {
        return split_gather(script);
    }
    let mut steps = Vec::new();
    let mut rest = script;
    for i in 0.. {
        let open = format!("\nm {i}\n");
        let Some(at) = rest.find(&open) else { break };
        let body = &rest[at + open.len()..];
        let close = format!("\nr=$?; if [ \"$r\" -ne 0 ]; then printf '\\n\\001flockport-step failed {i} ");
        let end = body.find(&close)?;
        let cmd = &body[..end];
        if let Some(dd) = cmd.strip_prefix("dd bs=") {
            let (n, tail) = dd.split_once(' ')?;
            let line = tail.split_once(" | ")?.1;
            steps.push((shlex::split(line)?, n.parse().ok()?));
        } else {
            steps.push((shlex::split(cmd.strip_suffix(" </dev/null")?)?, 0));
        }
        rest = &body[end..];
    }
    Some(steps)
}

/// Splits a [`crate::plan::gather`] script back into its commands.
fn split_gather(script: &str) -> Option<Vec<(Vec<String>, usize)>> {
    let mut out = Vec::new();
    for i in 0.. {
        let open = format!("\n: gather {i}\n{{ timeout -k 1 ");
        let Some(at) = script.find(&open) else { break };
        let body = &script[at + open.len()..];
        // After the time limit's seconds.
        let body = &body[body.find(' ')? + 1..];
        let end = body.find(&format!(" </dev/null >\"$d/{i}\" 2>"))?;
        out.push((shlex::split(&body[..end])?, 0));
    }
    Some(out)
}

#[async_trait::async_trait]
impl Transport for FakeTransport {
    fn server(&self) -> &str {
        &self.server
    }

    async fn open_tunnel(&self, target: std::net::SocketAddrV4) -> Result<std::net::SocketAddr> {
        self.lock().tunnel.ok_or_else(|| crate::error::Error::Unreachable {
            server: self.server.clone(),
            reason: format!("(fake) {target} does not answer"),
            source: None,
        })
    }

    async fn exec(&self, argv: Vec<String>, stdin: Option<Vec<u8>>) -> Result<Output> {
        let round_trip = {
            let mut g = self.lock();
            g.round_trips += 1;
            g.round_trips - 1
        };
        let (batch, gather) = match argv.as_slice() {
            [sh, c, script] if sh == "sh" && c == "-c" => {
                (split_batch(script), script.contains("\\001flockport-step status "))
            }
            _ => (None, false),
        };
        let Some(steps) = batch else {
            let call = Call { round_trip, argv, stdin };
            self.lock().calls.push(call.clone());
            return Ok(self.answer(&call));
        };
        let input = stdin.unwrap_or_default();
        let mut at = 0;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        for (i, (argv, n)) in steps.into_iter().enumerate() {
            let bytes = input.get(at..at + n).map(<[u8]>::to_vec);
            at += n;
            let call = Call { round_trip, argv, stdin: if n == 0 { None } else { bytes } };
            self.lock().calls.push(call.clone());
            let out = self.answer(&call);
            for (buf, part) in [(&mut stdout, &out.stdout), (&mut stderr, &out.stderr)] {
                buf.extend_from_slice(format!("\n\u{1}flockport-step {i}\n").as_bytes());
                buf.extend_from_slice(part);
            }
            if gather {
                stderr.extend_from_slice(format!("\n\u{1}flockport-step status {i} {}\n", out.status).as_bytes());
            } else if out.status != 0 {
                stderr.extend_from_slice(format!("\n\u{1}flockport-step failed {i} {}\n", out.status).as_bytes());
                return Ok(Output { status: out.status, stdout, stderr });
            }
        }
        Ok(Output { status: 0, stdout, stderr })
    }
}

/// Output of a failed command.
pub fn fail(status: i32, stderr: &str) -> Output {
    Output { status, stdout: Vec::new(), stderr: stderr.as_bytes().to_vec() }
}

/// A loopback HTTP listener answering every request with `200` and `body`
/// (JSON) until the test ends: what a tunnel of a [`FakeTransport`] reaches.
pub fn http_answering(body: &'static str) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = l.local_addr().expect("its address");
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}
