//! `pub` and `unpub` for any service container: checks (the host port free on
//! the server: no listener, no other DNAT), the forwards file and rules, the
//! record in state.

use super::{apply_forwards_steps, remove_forwards_steps, Forward, ServiceContainer};
use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::names;
use crate::plan::{NoProgress, Plan};
use crate::transport::TransportExt;

/// What `pub` takes after the target: `HOSTPORT` or `HOSTPORT:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardSpec(pub Forward);

impl ForwardSpec {
    /// Parses `80` (the same port both sides) or `8080:80`.
    pub fn parse(s: &str) -> Result<Self> {
        let port = |p: &str| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::invalid(
                "port",
                s,
                format!("{p:?} is not a port from 1 to 65535; give HOSTPORT or HOSTPORT:PORT, e.g. 80 or 8080:80"),
            )),
        };
        let (h, p) = match s.split_once(':') {
            Some((h, p)) => (port(h)?, port(p)?),
            None => {
                let p = port(s)?;
                (p, p)
            }
        };
        Ok(ForwardSpec(Forward { host_port: h, port: p }))
    }
}

/// Who holds a port on a server, from `ss -Hltnp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortUser {
    /// The local address:port listening.
    pub local: String,
    /// The process name, when `ss` could tell.
    pub process: Option<String>,
}

/// Reads, in one round trip, what already uses TCP `$1` on the server: its
/// listening sockets (`L` lines, from `ss`) and DNAT rules for it (`D` lines).
pub const PORT_CHECK_SCRIPT: &str = r#"p=$1
command -v ss >/dev/null 2>&1 || { echo "ss (iproute2) is not installed on the server; it is needed to check that port $p is free" >&2; exit 127; }
l=$(ss -Hltnp "sport = :$p") || { echo "cannot list the listening sockets (ss -Hltnp) to check port $p" >&2; exit 1; }
r=$(iptables -w -t nat -S PREROUTING && iptables -w -t nat -S OUTPUT) || { echo "cannot read the nat table to check port $p" >&2; exit 1; }
[ -z "$l" ] || printf '%s\n' "$l" | sed 's/^/L /'
printf '%s\n' "$r" | grep -e "--dport $p " | grep -e DNAT | sed 's/^/D /'
exit 0"#;

/// Parses [`PORT_CHECK_SCRIPT`]'s output: listeners, and DNAT rules.
pub fn parse_port_check(text: &str) -> (Vec<PortUser>, Vec<String>) {
    let mut users = Vec::new();
    let mut rules = Vec::new();
    for line in text.lines() {
        if let Some(l) = line.strip_prefix("L ") {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local = f.get(3).map(|s| s.to_string()).unwrap_or_default();
            let process = l.split("((\"").nth(1).and_then(|r| r.split('"').next()).map(str::to_string);
            users.push(PortUser { local, process });
        } else if let Some(r) = line.strip_prefix("D ") {
            rules.push(r.to_string());
        }
    }
    (users, rules)
}

impl Cluster {
    /// `pub [SERVER:]NAME HOSTPORT[:PORT]`: forwards HOSTPORT on the server's
    /// host addresses to PORT of service container NAME (any family).
    /// Refused when the server itself listens on HOSTPORT (its sshd first of
    /// all) or another DNAT rule uses it.
    pub async fn publish(&self, target: &str, forward: &str, opts: ApplyOptions) -> Result<Applied<ServiceContainer>> {
        let ForwardSpec(fw) = ForwardSpec::parse(forward)?;
        let (server_name, name) = split_target(target)?;
        if let Some(s) = server_name {
            self.server(s)?;
        }
        let txn = self.store().begin().await?;
        let st = txn.state();
        let sc = find_service(st, name)?.clone();
        if let Some(s) = server_name {
            if s != sc.server {
                return Err(Error::invalid("server", target, format!("{name} runs on {}, not {s}", sc.server)));
            }
        }
        if let Some(other) = st.services().find(|o| o.server == sc.server && o.host_ports().contains(&fw.host_port)) {
            return Err(Error::exists(
                "forward",
                format!("{}:{}", sc.server, fw.host_port),
                format!(
                    "port {} on {} already forwards to {}; `flockport unpub {}:{} {}` first",
                    fw.host_port, sc.server, other.name, sc.server, other.name, fw.host_port
                ),
            ));
        }
        let server = self.server(&sc.server)?.clone();
        let t = self.transport(&server)?;
        let out = t.run_script(PORT_CHECK_SCRIPT, &[&fw.host_port.to_string()]).await?;
        let (users, rules) = parse_port_check(&out.stdout_str());
        if let Some(u) = users.first() {
            let who = u.process.as_deref().map_or_else(|| "a process".to_string(), str::to_string);
            return Err(Error::invalid(
                "port",
                forward,
                format!(
                    "{who} listens on port {} of server {} ({}); forwarding it would take the port from {who}: \
                     pick another host port, e.g. `flockport pub {}:{} 8{:03}:{}`",
                    fw.host_port,
                    sc.server,
                    u.local,
                    sc.server,
                    sc.name,
                    fw.port % 1000,
                    fw.port
                ),
            ));
        }
        if !rules.is_empty() {
            return Err(Error::exists(
                "forward",
                format!("{}:{}", sc.server, fw.host_port),
                format!("an iptables DNAT rule flockport did not make already uses this port: {}", rules[0]),
            ));
        }
        let mut next = sc.clone();
        next.published.push(fw);
        let mut plan = Plan::new(format!("pub {}:{name} {fw}", sc.server));
        plan.steps = apply_forwards_steps(&server, &next);
        plan.rollback = remove_forwards_steps(&server, &next, &[fw]);
        plan.state_changes.push(format!("{name}: publish {}:{} -> {}:{}", sc.server, fw.host_port, name, fw.port));
        let rec = next.clone();
        self.finish(plan, txn, next, opts, &NoProgress, |st| st.set_service(rec)).await
    }

    /// `unpub [SERVER:]NAME HOSTPORT`: removes a forward (also when a reboot
    /// or a flushed nat table already took its rules away).
    pub async fn unpublish(
        &self,
        target: &str,
        host_port: u16,
        opts: ApplyOptions,
    ) -> Result<Applied<ServiceContainer>> {
        let (server_name, name) = split_target(target)?;
        let txn = self.store().begin().await?;
        let sc = find_service(txn.state(), name)?.clone();
        if let Some(s) = server_name {
            if s != sc.server {
                return Err(Error::invalid("server", target, format!("{name} runs on {}, not {s}", sc.server)));
            }
        }
        let Some(fw) = sc.published.iter().find(|f| f.host_port == host_port).copied() else {
            let have: Vec<String> = sc.published.iter().map(|f| f.to_string()).collect();
            return Err(Error::not_found(
                "forward",
                format!("{name} {host_port}"),
                format!("published ports of {name}: {}", if have.is_empty() { "none".into() } else { have.join(", ") }),
            ));
        };
        let server = self.server(&sc.server)?.clone();
        let mut next = sc.clone();
        next.published.retain(|f| *f != fw);
        let mut plan = Plan::new(format!("unpub {}:{name} {host_port}", sc.server));
        plan.steps = remove_forwards_steps(&server, &sc, &[fw]);
        plan.state_changes.push(format!("{name}: unpublish port {host_port}"));
        let rec = next.clone();
        self.finish(plan, txn, next, opts, &NoProgress, |st| st.set_service(rec)).await
    }
}

fn split_target(target: &str) -> Result<(Option<&str>, &str)> {
    let (server, name) = match target.split_once(':') {
        Some((s, n)) => (Some(s), n),
        None => (None, target),
    };
    if let Some(s) = server {
        names::check_name("server name", s)?;
    }
    names::check_name("service name", name)?;
    Ok((server, name))
}

fn find_service<'a>(st: &'a crate::state::State, name: &str) -> Result<&'a ServiceContainer> {
    st.service(name).ok_or_else(|| {
        let known: Vec<&str> = st.services().map(|s| s.name.as_str()).collect();
        Error::not_found(
            "service container",
            name,
            if known.is_empty() {
                "there are none; add one with `flockport addlb`".to_string()
            } else {
                format!("known: {}", known.join(", "))
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_specs() {
        assert_eq!(ForwardSpec::parse("80").unwrap().0, Forward { host_port: 80, port: 80 });
        assert_eq!(ForwardSpec::parse("8080:80").unwrap().0, Forward { host_port: 8080, port: 80 });
        for bad in ["0", "80:0", "x", "70000", "8080:", ":80", "1:2:3", ""] {
            let e = ForwardSpec::parse(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn port_check_names_the_listener() {
        let text = "L LISTEN 0      128    192.168.122.11:22        0.0.0.0:*    users:((\"sshd\",pid=4242,fd=3))\nD -A PREROUTING -p tcp -m tcp --dport 22 -j DNAT --to-destination 10.0.4.9:22\n";
        let (users, rules) = parse_port_check(text);
        assert_eq!(users, vec![PortUser { local: "192.168.122.11:22".into(), process: Some("sshd".into()) }]);
        assert_eq!(rules.len(), 1);
        assert_eq!(parse_port_check(""), (vec![], vec![]));
    }
}
