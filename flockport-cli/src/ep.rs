//! The service discovery verbs (Flockport's "Service discovery" section):
//! addep, listep, delep; pubservice, pubcheck, unpubservice, unpubcheck
//! (ad-hoc services and checks); addservice, listservice, delservice,
//! addcheck, delcheck (containers' services); services.

use crate::output::{self, StepProgress};
use crate::{ChangeOpts, ListOpts};
use clap::Subcommand;
use flockport_core::ep::{AdhocService, ContainerServiceListing, ContainerServices, EpListing, ServiceListing};
use flockport_core::{Cluster, Error};

/// The endpoint verbs.
#[derive(Debug, Subcommand)]
pub enum EpCommand {
    /// Deploy a Consul endpoint (server agent) on a server at a static IP in its subnet;
    /// the first bootstraps the cluster, the next ones join it.
    Addep {
        /// Server.
        server: String,
        /// Static address in the server's container subnet, e.g. 10.0.4.10.
        ip: String,
        /// Name (default: consul- and the address's last number, e.g. consul-10).
        #[arg(short = 'n', long = "name")]
        name: Option<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// List endpoints: raft role and health read from Consul now, peers, fault tolerance.
    Listep(ListOpts),
    /// Remove an endpoint: it leaves the cluster, then its container goes.
    Delep {
        /// Endpoint.
        name: String,
        /// Remove it even when fewer than two endpoints would remain or some are down.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Publish an ad-hoc service on every endpoint: NAME.service.consul (or NAME.consul
    /// where flockport takes a host) answers with IP. Another IP:PORT under the same
    /// name is a further instance.
    Pubservice {
        /// Service name: lower-case letters, digits, '-' (a DNS label).
        name: String,
        /// IP:PORT of the instance, e.g. 10.0.7.20:9000.
        address: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Add a check to the ad-hoc service instance it targets, run by every endpoint:
    /// `tcp IP:PORT` or `http URL`. A failing check takes the instance out of DNS answers.
    Pubcheck {
        /// Check name (unique among ad-hoc checks).
        name: String,
        /// tcp or http.
        kind: String,
        /// tcp: IP:PORT; http: an http:// or https:// URL (2xx passes).
        target: String,
        /// The service it checks (default: the instance at the target's address and port).
        #[arg(long)]
        service: Option<String>,
        /// Seconds between runs (default 3).
        #[arg(long)]
        interval: Option<u32>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Withdraw an ad-hoc service (every instance, or the one at IP:PORT) and its checks.
    Unpubservice {
        /// Service name.
        name: String,
        /// Only the instance at IP:PORT.
        address: Option<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Withdraw an ad-hoc check.
    Unpubcheck {
        /// Check name.
        name: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// List every service and check the endpoints know now, with instances, addresses,
    /// check states, the container and server of containers' services, and drift.
    Services(ListOpts),
    /// Define a service of a container: registered with its server's Consul agent
    /// whenever the container runs (NAME.service.consul answers with its address).
    Addservice {
        /// Container.
        container: String,
        /// Service name: lower-case letters, digits, '-' (a DNS label).
        name: String,
        /// Port it serves on the container's address (1-65535).
        port: u32,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Show a container's services and checks, as defined and as Consul holds them now.
    Listservice {
        /// Container.
        container: String,
        #[command(flatten)]
        list: ListOpts,
    },
    /// Remove one service of a container, or all of them (and then its checks).
    Delservice {
        /// Container.
        container: String,
        /// Service (default: every one).
        name: Option<String>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Add a check of a container's services, run by its server's agent: `tcp PORT`,
    /// or `http URL` (or `http HOSTNAME`: the container's address with that Host header).
    Addcheck {
        /// Container.
        container: String,
        /// Check name (unique on the container).
        name: String,
        /// tcp or http.
        kind: String,
        /// tcp: the container's port; http: a URL, or a host name such as mywordpress.org.
        target: String,
        /// Seconds between runs (default 3).
        #[arg(long)]
        interval: Option<u32>,
        #[command(flatten)]
        change: ChangeOpts,
    },
    /// Remove a check of a container.
    Delcheck {
        /// Container.
        container: String,
        /// Check name.
        name: String,
        #[command(flatten)]
        change: ChangeOpts,
    },
}

fn container_line(r: &ContainerServices) -> String {
    let services: Vec<String> = r.services.iter().map(|s| format!("{} (port {})", s.name, s.port)).collect();
    let checks: Vec<String> = r.checks.iter().map(|c| c.name.clone()).collect();
    format!(
        "{} on {} at {}: services {}{}",
        r.container,
        r.server,
        r.address,
        if services.is_empty() { "none".into() } else { services.join(", ") },
        if checks.is_empty() { String::new() } else { format!("; checks {}", checks.join(", ")) }
    )
}

fn container_listing(l: &ContainerServiceListing, as_json: bool) -> Result<(), Error> {
    if as_json {
        return output::json(l);
    }
    let r = &l.record;
    let mut t = output::table(&["SERVICE", "ADDRESS", "CHECKS", "IN CONSUL", "HEALTHY"]);
    for s in &r.services {
        let id = r.service_id(&s.name);
        let reg = l.registered.iter().find(|i| i.id == id);
        let checks: Vec<String> = r
            .checks
            .iter()
            .map(|c| {
                let state = reg.and_then(|i| i.checks.iter().find(|x| x.name == c.name)).map(|x| x.status.clone());
                format!(
                    "{} {} {} ({})",
                    c.name,
                    if c.kind == flockport_core::ep::CheckKind::Tcp { "tcp" } else { "http" },
                    c.target,
                    state.unwrap_or_else(|| "-".into())
                )
            })
            .collect();
        t.add_row(vec![
            s.name.clone(),
            format!("{}:{}", r.address, s.port),
            if checks.is_empty() { "-".into() } else { checks.join("\n") },
            if reg.is_some() { "yes".into() } else { "no".into() },
            reg.map_or("-".into(), |i| if i.healthy { "yes".into() } else { "no".into() }),
        ]);
    }
    println!("{t}");
    println!("{} on {}", r.container, r.server);
    if let Some(n) = &l.note {
        eprintln!("note: {n}");
    }
    Ok(())
}

fn service_line(r: &AdhocService) -> String {
    let checks: Vec<String> = r.checks.iter().map(|c| c.name.clone()).collect();
    format!(
        "{} at {}:{} ({}.service.consul){}",
        r.name,
        r.address,
        r.port,
        r.name,
        if checks.is_empty() { String::new() } else { format!(", checks: {}", checks.join(", ")) }
    )
}

fn services_listing(l: &ServiceListing, as_json: bool) -> Result<(), Error> {
    if as_json {
        return output::json(l);
    }
    let mut t = output::table(&["SERVICE", "ADDRESS", "ORIGIN", "CONTAINER", "HEALTHY", "CHECKS", "AGENTS"]);
    for s in &l.services {
        let checks: Vec<String> = s
            .checks
            .iter()
            .map(|c| {
                let mut x = format!("{} {} ({}/{})", c.name, c.status, c.passing, c.runs);
                if c.status != "passing" && !c.output.is_empty() {
                    x.push_str(&format!(": {}", c.output.lines().next().unwrap_or_default()));
                }
                x
            })
            .collect();
        t.add_row(vec![
            s.name.clone(),
            format!("{}:{}", s.address, s.port),
            s.origin.clone(),
            match (&s.container, &s.server) {
                (Some(c), Some(srv)) => format!("{c} on {srv}"),
                (Some(c), None) => c.clone(),
                _ => "-".into(),
            },
            if s.healthy { "yes".into() } else { "no".into() },
            if checks.is_empty() { "-".into() } else { checks.join("\n") },
            s.nodes.join(" "),
        ]);
    }
    println!("{t}");
    println!("read from endpoint {}", l.endpoint);
    if !l.missing.is_empty() {
        eprintln!("warning: published but not in Consul: {}", l.missing.join(", "));
    }
    if !l.stale.is_empty() {
        eprintln!("warning: in Consul but not published: {}", l.stale.join(", "));
    }
    Ok(())
}

fn listing(l: &EpListing, as_json: bool) -> Result<(), Error> {
    if as_json {
        return output::json(l);
    }
    let mut t = output::table(&["NAME", "SERVER", "ADDRESS", "ROLE", "VOTER", "STATUS", "UI", "DNS"]);
    for e in &l.endpoints {
        let r = &e.record.container;
        t.add_row(vec![
            r.name.clone(),
            r.server.clone(),
            r.address.to_string(),
            e.role.clone().unwrap_or_else(|| "-".into()),
            if e.voter { "yes".into() } else { "no".into() },
            if e.answers { e.status.clone() } else { format!("{} (not answering)", e.status) },
            format!("http://{}:8500/ui/", r.address),
            format!("{}:8600", r.address),
        ]);
    }
    println!("{t}");
    println!(
        "leader: {}; peers: {}; fault tolerance: {}",
        l.leader.as_deref().unwrap_or("none"),
        l.peers,
        l.fault_tolerance
    );
    if let Some(w) = &l.warning {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Runs an endpoint verb; the exit code.
pub async fn run(cluster: &Cluster, cmd: EpCommand, progress: &StepProgress) -> Result<u8, Error> {
    match cmd {
        EpCommand::Addep { server, ip, name, change } => {
            let a = cluster.add_ep(&server, &ip, name.as_deref(), change.apply(), progress).await?;
            output::applied(&a, change.json, |r| {
                format!(
                    "endpoint {} ready on {} at {} (UI http://{}:8500/ui/, DNS {}:8600)",
                    r.container.name, r.container.server, r.container.address, r.container.address, r.container.address
                )
            })?;
        }
        EpCommand::Listep(o) => {
            let l = cluster.endpoints().await?;
            listing(&l, o.json)?;
            let code = output::unread_rows(
                l.endpoints
                    .iter()
                    .map(|e| (e.record.container.server.as_str(), e.record.container.name.as_str(), e.error.as_ref())),
            );
            if code != 0 {
                return Ok(code);
            }
        }
        EpCommand::Delep { name, force, change } => {
            let a = cluster.del_ep(&name, force, change.apply()).await?;
            output::applied(&a, change.json, |r| {
                format!("removed endpoint {} from {}", r.container.name, r.container.server)
            })?;
        }
        EpCommand::Pubservice { name, address, change } => {
            let a = cluster.pub_service(&name, &address, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("published {}", service_line(r)))?;
        }
        EpCommand::Pubcheck { name, kind, target, service, interval, change } => {
            let a = cluster.pub_check(&name, &kind, &target, service.as_deref(), interval, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("check {name} added: {}", service_line(r)))?;
        }
        EpCommand::Unpubservice { name, address, change } => {
            let a = cluster.unpub_service(&name, address.as_deref(), change.apply()).await?;
            output::applied(&a, change.json, |r| {
                r.iter().map(|s| format!("withdrew {}", service_line(s))).collect::<Vec<_>>().join("\n")
            })?;
        }
        EpCommand::Unpubcheck { name, change } => {
            let a = cluster.unpub_check(&name, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("check {name} withdrawn: {}", service_line(r)))?;
        }
        EpCommand::Services(o) => {
            let l = cluster.services().await?;
            services_listing(&l, o.json)?;
            if !l.missing.is_empty() || !l.stale.is_empty() {
                return Ok(1);
            }
        }
        EpCommand::Addservice { container, name, port, change } => {
            let a = cluster.add_service(&container, &name, port, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("service {name} added: {}", container_line(r)))?;
        }
        EpCommand::Listservice { container, list } => {
            let l = cluster.list_service(&container).await?;
            container_listing(&l, list.json)?;
        }
        EpCommand::Delservice { container, name, change } => {
            let a = cluster.del_service(&container, name.as_deref(), change.apply()).await?;
            output::applied(&a, change.json, |_| match &name {
                Some(n) => format!("service {n} removed from {container}"),
                None => format!("removed every service of {container} (and its checks)"),
            })?;
        }
        EpCommand::Addcheck { container, name, kind, target, interval, change } => {
            let a = cluster.add_check(&container, &name, &kind, &target, interval, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("check {name} added: {}", container_line(r)))?;
        }
        EpCommand::Delcheck { container, name, change } => {
            let a = cluster.del_check(&container, &name, change.apply()).await?;
            output::applied(&a, change.json, |r| format!("check {name} removed: {}", container_line(r)))?;
        }
    }
    Ok(0)
}
