//! `flockport`: the reference CLI. Parse -> call the core -> print a table or
//! `--json`. Verbs and flags follow Flockport's documentation.

mod db;
mod ep;
mod jobs;
mod output;
mod status;
mod vip;
mod ws;

use clap::{Args, Parser, Subcommand};
use flockport_core::cluster::{AddServer, ApplyOptions, ContainerSpec};
use flockport_core::{Cluster, Error, ErrorKind, LbSetting, LbSpec};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flockport managed services on LXC hosts over SSH.
#[derive(Debug, Parser)]
#[command(name = "flockport", version, about, propagate_version = true)]
struct Cli {
    /// Inventory file (default ./flockport.toml).
    #[arg(long, global = true, env = "FLOCKPORT_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// More logging (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct ListOpts {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct ChangeOpts {
    /// Show the plan (commands and files) and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print the result (or the plan) as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

impl ChangeOpts {
    pub(crate) fn apply(self) -> ApplyOptions {
        ApplyOptions { dry_run: self.dry_run }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add a server to the inventory.
    Addserver {
        /// Server name, e.g. s1.
        name: String,
        /// Host name or address (omit with --local).
        host: Option<String>,
        /// Container subnet in CIDR form, e.g. 10.0.4.0/24.
        #[arg(long)]
        subnet: String,
        /// This machine, without SSH.
        #[arg(long)]
        local: bool,
        /// SSH user (default root).
        #[arg(long)]
        user: Option<String>,
        /// SSH port (default 22).
        #[arg(long)]
        port: Option<u16>,
        /// SSH private key.
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        /// known_hosts file checked strictly.
        #[arg(long, value_name = "PATH")]
        known_hosts: Option<PathBuf>,
        /// ssh_config(5) file used instead of ~/.ssh/config and /etc/ssh/ssh_config (KexAlgorithms,
        /// ProxyJump, ...); flockport's strict host-key checks still apply, to jump hosts too.
        #[arg(long, value_name = "PATH")]
        ssh_config: Option<PathBuf>,
        /// Container bridge on the server (default lxcbr0).
        #[arg(long)]
        bridge: Option<String>,
    },
    /// List servers: reachability, LXC version, containers (one round trip each, in parallel).
    #[command(alias = "listserver")]
    Listservers(ListOpts),
    /// One view of everything deployed: every server read once, each family's records with
    /// their server, address, published ports and health (and why), drift. Exit 1 when
    /// anything is not healthy.
    Status {
        /// Redraw every SECONDS in place until Ctrl-C (with --json: one document per line).
        #[arg(long, value_name = "SECONDS")]
        watch: Option<f64>,
        #[command(flatten)]
        list: ListOpts,
    },
    /// Serve a read-only page of `status` (tables per family and a picture of the cluster),
    /// refreshing on its own, until Ctrl-C.
    Ui {
        /// Address to listen on; loopback unless --public.
        #[arg(long, value_name = "ADDRESS:PORT", default_value = status::DEFAULT_LISTEN)]
        listen: String,
        /// Allow a non-loopback --listen; every request then needs the token printed at start.
        #[arg(long)]
        public: bool,
    },
    /// Remove a server from the inventory.
    Delserver {
        /// Server name.
        name: String,
    },
    /// List containers on one server or all.
    #[command(alias = "listcontainer")]
    Listcontainers {
        /// Only this server.
        server: Option<String>,
        #[command(flatten)]
        list: ListOpts,
    },
    /// Create a container from an image (built on the server if missing), with a static address.
    Addcontainer {
        /// Server.
        server: String,
        /// Container name, unique across the cluster.
        name: String,
        /// Debian packages of its image, comma separated.
        #[arg(long, value_delimiter = ',')]
        packages: Vec<String>,
        /// Static address (default: a free one in the server's subnet).
        #[arg(long)]
        ip: Option<String>,
        /// Leave it stopped.
        #[arg(long)]
        no_start: bool,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Destroy a container flockport created.
    Delcontainer {
        /// Container name.
        name: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Start a container.
    Startcontainer {
        /// Container name.
        name: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Stop a container.
    Stopcontainer {
        /// Container name.
        name: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Build an image (template container) on a server, or reuse it.
    Buildimage {
        /// Server.
        server: String,
        /// Debian packages, comma separated.
        #[arg(long, value_delimiter = ',')]
        packages: Vec<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Run a command inside a container; exits with its status.
    Exec {
        /// Container name.
        container: String,
        /// The command and its arguments (after --).
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Deploy a load balancer (haproxy or nginx) on a server.
    Addlb {
        /// haproxy or nginx.
        kind: String,
        /// Server.
        server: String,
        /// Name (default: generated, e.g. ha1, nginxlb-1).
        #[arg(short = 'n', long = "name")]
        name: Option<String>,
        /// The host name served (required for nginx).
        #[arg(short = 'u', long = "url")]
        url: Option<String>,
        /// A backend (nginx: ip:port or host:port; haproxy: name:ip:port); repeatable.
        #[arg(short = 'b', long = "backend")]
        backends: Vec<String>,
        /// TLS certificate (PEM).
        #[arg(short = 'c', long = "cert")]
        cert: Option<PathBuf>,
        /// TLS key (PEM).
        #[arg(short = 'k', long = "key")]
        key: Option<PathBuf>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// List load balancers with backend health and published ports.
    #[command(alias = "listlb")]
    Listlbs(ListOpts),
    /// Add backends to a load balancer (haproxy: name:ip:port; nginx: ip:port or host:port).
    Addbackends {
        /// Load balancer.
        lb: String,
        /// Backends.
        #[arg(required = true)]
        backends: Vec<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Remove backends from a load balancer (haproxy: by name; nginx: ip:port).
    Delbackends {
        /// Load balancer.
        lb: String,
        /// Backends.
        #[arg(required = true)]
        backends: Vec<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Change a load balancer setting: mode MODE | url URL | ssl CERT KEY | workers N | resolvers IP...
    Setlb {
        /// Load balancer.
        lb: String,
        /// mode, url, ssl, workers or resolvers.
        setting: String,
        /// The value(s).
        #[arg(required = true)]
        values: Vec<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Forward a port of a service container (load balancer, webserver, ...) from its server's host addresses:
    /// pub [SERVER:]NAME HOSTPORT[:PORT].
    Pub {
        /// [SERVER:]NAME
        target: String,
        /// HOSTPORT, or HOSTPORT:PORT to forward to another port of the container.
        port: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Remove a forward made by pub: unpub [SERVER:]NAME HOSTPORT.
    Unpub {
        /// [SERVER:]NAME
        target: String,
        /// The host port.
        port: u16,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Remove a load balancer: its forwards, its container and its state.
    Dellb {
        /// Load balancer.
        lb: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    #[command(flatten)]
    Ws(ws::WsCommand),
    /// Copy a local file into a container.
    Push {
        /// Container name.
        container: String,
        /// Local file.
        source: PathBuf,
        /// Absolute path inside the container.
        dest: String,
        /// Octal mode.
        #[arg(long, default_value = "0644")]
        mode: String,
    },
    // ---- floating IPs (flockport-cli/src/vip.rs) ----
    #[command(flatten)]
    Vip(vip::VipCommand),
    // ---- databases (flockport-cli/src/db.rs) ----
    #[command(flatten)]
    Db(db::DbCommand),
    // ---- Consul endpoints (flockport-cli/src/ep.rs) ----
    #[command(flatten)]
    Ep(ep::EpCommand),
    // ---- the job scheduler (flockport-cli/src/jobs.rs) ----
    #[command(flatten)]
    Jobs(jobs::JobCommand),
    /// Where the state is kept: `state migrate --to consul|file`.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
}

/// `flockport state ...`.
#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Move the state to Consul's KV on the cluster's endpoints (shared by every operator's
    /// machine, locked per change) or back to a file, and switch the inventory's [state] to it.
    Migrate {
        /// `consul` or `file`.
        #[arg(long = "to", value_name = "BACKEND")]
        to: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,flockport_core=info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::NotFound | ErrorKind::AlreadyExists => 2,
        ErrorKind::Unreachable => 3,
        ErrorKind::RemoteCommandFailed | ErrorKind::ConfigRejected => 4,
        ErrorKind::Local => 1,
        ErrorKind::Interrupted => 130,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("flockport: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.spawn(interrupts());
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("flockport: error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

/// SIGINT/SIGTERM: the first asks the running change to stop starting
/// steps and roll back (the operation then fails with `Interrupted`, exit
/// 130); a second one ends the process at once.
async fn interrupts() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return;
    };
    let mut seen = false;
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        if seen {
            eprintln!("flockport: interrupted again: exiting now; what ran on the servers was not rolled back");
            std::process::exit(130);
        }
        seen = true;
        let changing = flockport_core::interrupt::change_running();
        flockport_core::interrupt::request();
        if changing {
            eprintln!(
                "flockport: interrupted: finishing the round trip under way, then rolling back (again to exit at once)"
            );
        }
    }
}

async fn run(cli: Cli) -> Result<u8, Error> {
    let mut cluster = Cluster::open(cli.config.as_deref())?;
    let progress = output::StepProgress::new();
    match cli.command {
        Command::Addserver { name, host, subnet, local, user, port, key, known_hosts, ssh_config, bridge } => {
            let s = cluster.add_server(AddServer {
                name,
                host,
                local,
                subnet,
                user,
                port,
                identity: key,
                known_hosts,
                ssh_config,
                bridge,
            })?;
            println!(
                "added server {} ({}) to {}",
                s.name,
                s.host.as_deref().unwrap_or("local"),
                cluster.inventory_path().display()
            );
        }
        Command::Listservers(o) => {
            let rows = cluster.list_servers().await;
            output::servers(&rows, o.json)?;
            if rows.iter().any(|r| !r.reachable) {
                return Ok(3);
            }
        }
        Command::Status { watch, list } => return status::run(&cluster, list.json, watch).await,
        Command::Ui { listen, public } => return status::ui(cluster, &listen, public).await,
        Command::Delserver { name } => {
            cluster.del_server(&name).await?;
            println!("removed server {name}");
        }
        Command::Listcontainers { server, list } => {
            let listing = cluster.containers_listing(server.as_deref()).await?;
            output::containers(&listing.items, list.json)?;
            if !listing.unread.is_empty() {
                let unread: Vec<(String, String)> =
                    listing.unread.iter().map(|(s, e)| (s.clone(), e.to_string())).collect();
                output::unread(&unread);
                return Ok(3);
            }
        }
        Command::Addcontainer { server, name, packages, ip, no_start, change } => {
            let spec = ContainerSpec { server, name: name.clone(), packages, address: ip, role: None, no_start };
            let a = cluster.add_container(spec, change.apply(), &progress).await?;
            output::applied(&a, change.json, |r| {
                format!("container {name} ready on {} at {} (image {})", r.server, r.address, r.image)
            })?;
        }
        Command::Delcontainer { name, change } => {
            let a = cluster.del_container(&name, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("deleted container {name} from {}", r.server))?;
        }
        Command::Startcontainer { name, change } => {
            let a = cluster.set_running(&name, true, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("{} is {}", r.name, r.state))?;
        }
        Command::Stopcontainer { name, change } => {
            let a = cluster.set_running(&name, false, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("{} is {}", r.name, r.state))?;
        }
        Command::Buildimage { server, packages, change } => {
            let a = cluster.build_image(&server, packages, change.apply(), &progress).await?;
            output::applied(&a, change.json, |r| format!("image {r} ready on {server}"))?;
        }
        Command::Addlb { kind, server, name, url, backends, cert, key, change } => {
            let spec = LbSpec { kind, server, name, url, backends, cert, key };
            let a = cluster.add_lb(spec, change.apply(), &progress).await?;
            output::applied(&a, change.json, |r| {
                format!("load balancer {} ({}) ready on {} at {}", r.name(), r.kind, r.server(), r.container.address)
            })?;
        }
        Command::Listlbs(o) => {
            let rows = cluster.lbs().await?;
            output::lbs(&rows, o.json)?;
            let code = output::unread_rows(rows.iter().map(|l| (l.record.server(), l.record.name(), l.error.as_ref())));
            if code != 0 {
                return Ok(code);
            }
        }
        Command::Addbackends { lb, backends, change } => {
            let a = cluster.add_backends(&lb, backends, change.apply()).await?;
            output::applied(&a, change.json, output::lb_line)?;
        }
        Command::Delbackends { lb, backends, change } => {
            let a = cluster.del_backends(&lb, backends, change.apply()).await?;
            output::applied(&a, change.json, output::lb_line)?;
        }
        Command::Setlb { lb, setting, values, change } => {
            let setting = LbSetting::parse(&setting, &values)?;
            let a = cluster.set_lb(&lb, setting, change.apply()).await?;
            output::applied(&a, change.json, output::lb_line)?;
        }
        Command::Pub { target, port, change } => {
            let a = cluster.publish(&target, &port, change.apply()).await?;
            let fw = flockport_core::service::ForwardSpec::parse(&port)?.0;
            output::applied(&a, change.json, |r| {
                format!("{}:{} now forwards to {} ({}:{})", r.server, fw.host_port, r.name, r.address, fw.port)
            })?;
        }
        Command::Unpub { target, port, change } => {
            let a = cluster.unpublish(&target, port, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("removed the forward of {}:{port} to {}", r.server, r.name))?;
        }
        Command::Dellb { lb, change } => {
            let a = cluster.del_lb(&lb, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("removed load balancer {} from {}", r.name(), r.server()))?;
        }
        Command::Ws(c) => return ws::run(&cluster, c, &progress).await,
        Command::Exec { container, command } => {
            let out = cluster.exec(&container, &command).await?;
            use std::io::Write;
            std::io::stdout().write_all(&out.stdout).ok();
            std::io::stderr().write_all(&out.stderr).ok();
            return Ok(u8::try_from(out.status).unwrap_or(1));
        }
        // ---- floating IPs (flockport-cli/src/vip.rs) ----
        Command::Vip(cmd) => return vip::run(&cluster, cmd, &progress).await,
        Command::Db(cmd) => return db::run(&cluster, cmd, &progress).await,
        Command::Ep(cmd) => return ep::run(&cluster, cmd, &progress).await,
        Command::Jobs(cmd) => return jobs::run(&cluster, cmd, &progress).await,
        Command::State { command: StateCommand::Migrate { to, change } } => {
            let a = cluster.migrate_state(&to, change.apply()).await?;
            output::applied(&a, change.json, |r| {
                let how = if r.wrote { "moved" } else { "already there; switched" };
                let via = if r.endpoints.is_empty() {
                    String::new()
                } else {
                    format!(" (endpoints {})", r.endpoints.join(", "))
                };
                format!("state {how}: {} -> {}, now in {}{via}", r.source, r.target, r.location)
            })?;
        }
        Command::Push { container, source, dest, mode } => {
            let mode = flockport_core::names::parse_mode(&mode)?;
            let bytes = std::fs::read(&source).map_err(|e| Error::io("reading", &source, e))?;
            cluster.push(&container, &dest, &bytes, mode).await?;
            println!("pushed {} to {container}:{dest}", source.display());
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command of README's CLI tour parses: its verbs and flags exist
    /// as written (optional parts, shown in brackets, given).
    #[test]
    fn readme_cli_tour_parses() {
        let readme = include_str!("../../README.md");
        let tour = readme.split("## CLI tour").nth(1).expect("README has a CLI tour");
        let block = tour.split("```text").nth(1).and_then(|b| b.split("```").next()).expect("its text block");
        let mut parsed = 0;
        for line in block.lines() {
            let line = line.split(" # ").next().unwrap_or_default().trim();
            if !line.starts_with("flockport ") {
                continue;
            }
            // `stopcontainer web1 / startcontainer web1`: two commands.
            for part in line.split(" / ") {
                let part = part.trim();
                let cmd = if part.starts_with("flockport ") { part.to_string() } else { format!("flockport {part}") };
                let cmd = cmd.replace(['[', ']'], "");
                let argv = shlex::split(&cmd).unwrap_or_else(|| panic!("README: `{cmd}` is not shell words"));
                if let Err(e) = Cli::try_parse_from(&argv) {
                    panic!("README: `{cmd}` does not parse:\n{e}");
                }
                parsed += 1;
            }
        }
        assert!(parsed >= 20, "only {parsed} commands found in README's CLI tour");
    }
}
