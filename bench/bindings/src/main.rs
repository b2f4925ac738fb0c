//! `flockport-bench-bindings`: the Rust side of `bench/bindings`, the
//! benchmark of the per-call overhead of the Python and Node bindings.
//!
//! ```text
//! flockport-bench-bindings setup DIR
//! flockport-bench-bindings measure DIR [--iters N] [--cheap-iters M] [--op-iters K] [--list-iters L] [--batches B] [--warmup-batches W] [--only ARM]...
//! ```
//!
//! `setup` writes `DIR/flockport.toml` (one server, local transport) and
//! `DIR/flockport-state.json` (50 load balancers, mode 0600). `measure` times
//! the same calls the bindings' measurements time (`list_servers`, `lbs`,
//! `state`, `state_blocking`, `server`) and prints JSON on stdout. No remote
//! server is contacted (the one server is this host, local transport).
//! `bench/bindings/run` drives it; see bench/README.md.

mod measure;
mod setup;

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  flockport-bench-bindings setup DIR
  flockport-bench-bindings measure DIR [--iters N] [--cheap-iters M] [--op-iters K] [--list-iters L] [--batches B] [--warmup-batches W] [--only ARM]...

  setup    writes DIR/flockport.toml (one local server) and DIR/flockport-state.json
           (50 load balancers, mode 0600)
  measure  times list_servers(), lbs(), state(), state_blocking() and server(\"s1\") on the
           cluster in DIR, prints JSON (ns per call of every batch, median, p90)
           --iters N          calls per batch of the state() arms (default 100)
           --cheap-iters M    calls per batch of the server() arms (default 10000)
           --op-iters K       calls per batch of the list_servers() arm (default 4)
           --list-iters L     calls per batch of the lbs() arm (default 2)
           --batches B        timed batches per arm (default 25)
           --warmup-batches W untimed batches before them (default 3)
           --only ARM         only this arm (repeatable; for profiling): server, server_cloned,
                              list_servers, lbs, state, state_blocking";

/// A command-line mistake, shown with the usage.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n\n{USAGE}", self.0)
    }
}

impl Error for UsageError {}

fn usage(msg: impl Into<String>) -> Box<dyn Error> {
    Box::new(UsageError(msg.into()))
}

/// Parses the value of `--flag` as a positive count.
fn count(flag: &str, value: Option<String>) -> Result<usize, Box<dyn Error>> {
    let v = value.ok_or_else(|| usage(format!("{flag} needs a number")))?;
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(usage(format!("{flag} {v:?}: give a whole number greater than 0"))),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flockport-bench-bindings: {e}");
            ExitCode::from(if e.is::<UsageError>() { 2 } else { 1 })
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or_else(|| usage("no command given"))?;
    match command.as_str() {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        "setup" => {
            let dir = PathBuf::from(args.next().ok_or_else(|| usage("setup needs a directory"))?);
            if let Some(extra) = args.next() {
                return Err(usage(format!("unexpected argument {extra:?}")));
            }
            let summary = setup::write(&dir)?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        "measure" => {
            let dir = PathBuf::from(args.next().ok_or_else(|| usage("measure needs a directory"))?);
            let mut opts = measure::Options::default();
            while let Some(flag) = args.next() {
                match flag.as_str() {
                    "--iters" => opts.iters = count(&flag, args.next())?,
                    "--cheap-iters" => opts.cheap_iters = count(&flag, args.next())?,
                    "--op-iters" => opts.op_iters = count(&flag, args.next())?,
                    "--list-iters" => opts.list_iters = count(&flag, args.next())?,
                    "--batches" => opts.batches = count(&flag, args.next())?,
                    "--warmup-batches" => opts.warmup_batches = count(&flag, args.next())?,
                    "--only" => opts.only.push(args.next().ok_or_else(|| usage("--only needs an arm's name"))?),
                    other => return Err(usage(format!("unknown option {other:?}"))),
                }
            }
            let report = measure::run(&dir, &opts)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        other => Err(usage(format!("unknown command {other:?}"))),
    }
}
