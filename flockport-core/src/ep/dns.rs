//! The `consul` domain on every server: a dnsmasq forwarder listening on
//! the server's bridge address (its containers' gateway, port 53) sends
//! `*.consul` queries to every endpoint's DNS interface (port 8600) at once
//! (`all-servers`: the first answer wins, so a dead endpoint costs nothing)
//! and everything else to the server's own resolvers. Nothing is cached for
//! `consul` (Consul answers with TTL 0, and negative answers are not kept),
//! so an instance that fails its check leaves the answers at once.
//!
//! The endpoints are in a servers file that dnsmasq re-reads on SIGHUP, so
//! `addep`/`delep` change the forwarding without a restart. With systemd on
//! the server the forwarder is the unit `flockport-dns`; otherwise a daemon
//! with its pid file in [`DIR`] (see [`crate::service::DETECT_INIT`]).
//! Containers, load balancers and webservers use `GATEWAY:53` as resolver.

use super::EpRecord;
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};

/// The forwarder's files on a server.
pub const DIR: &str = "/var/lib/flockport/dns";
/// Consul's DNS port on an endpoint.
pub const CONSUL_DNS_PORT: u16 = 8600;

/// dnsmasq's config for `server`: listen on its bridge address only.
pub fn config(server: &ServerConfig) -> String {
    format!(
        "# Managed by flockport: the consul domain for the containers of server {name}.\n\
         listen-address={gw}\n\
         bind-interfaces\n\
         port=53\n\
         no-hosts\n\
         no-negcache\n\
         all-servers\n\
         servers-file={DIR}/servers\n\
         pid-file={DIR}/dnsmasq.pid\n",
        name = server.name,
        gw = server.gateway(),
    )
}

/// The servers file: `consul` goes to every endpoint.
pub fn servers(eps: &[&EpRecord]) -> String {
    let mut s = String::from("# Managed by flockport: the Consul endpoints' DNS interfaces.\n");
    for e in eps {
        s.push_str(&format!("server=/consul/{}#{CONSUL_DNS_PORT}\n", e.container.address));
    }
    s
}

/// Starts the forwarder when it does not run, else makes it re-read the
/// servers file (SIGHUP); `$1` is the bridge address. When another program serves `$1:53` (e.g. lxc-net's own dnsmasq
/// on its bridge), nothing is started and the step fails with what to do.
const ENSURE: &str = r#"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
D=/var/lib/flockport/dns
# dnsmasq re-reads the servers file on SIGHUP after dropping to `nobody`.
chmod 0755 "$D" || exit 1
if [ "$INIT" = systemd ]; then
  if systemctl is-active -q flockport-dns; then exec systemctl kill -s HUP flockport-dns; fi
  systemctl daemon-reload && systemctl enable -q flockport-dns || exit 1
  systemctl start flockport-dns && exit 0
  journalctl -u flockport-dns -n 5 --no-pager >&2; exit 1
fi
p=$(cat "$D/dnsmasq.pid" 2>/dev/null)
if daemon_alive "$p" dnsmasq; then exec kill -HUP "$p"; fi
command -v dnsmasq >/dev/null 2>&1 || { echo "dnsmasq is not installed on this server (Debian: apt-get install dnsmasq-base)" >&2; exit 1; }
out=$(dnsmasq --conf-file="$D/dnsmasq.conf" 2>&1) && exit 0
echo "cannot start the consul DNS forwarder on $1:53: $out" >&2
case $out in *"in use"*) echo "another DNS server already answers on $1:53 (lxc-net's dnsmasq?): forward the consul domain there (server=/consul/ENDPOINT#8600 for each endpoint) or free the address" >&2;; esac
exit 1
"#;

/// The systemd unit (used when the server runs systemd).
const UNIT: &str = "# Managed by flockport: the consul domain for this server's containers.\n\
[Unit]\n\
Description=flockport: forward the consul domain to the Consul endpoints\n\
After=network.target\n\n\
[Service]\n\
Type=forking\n\
PIDFile=/var/lib/flockport/dns/dnsmasq.pid\n\
ExecStart=/usr/sbin/dnsmasq --conf-file=/var/lib/flockport/dns/dnsmasq.conf\n\
ExecReload=/bin/kill -HUP $MAINPID\n\
Restart=on-failure\n\n\
[Install]\n\
WantedBy=multi-user.target\n";

/// The steps that make `server` forward `consul` to `eps`: files, then the
/// forwarder started or told to re-read them.
pub fn steps(server: &ServerConfig, eps: &[&EpRecord]) -> Vec<Step> {
    let write = |path: &str, text: String| {
        Step::run_with_stdin(
            &server.name,
            format!("write {path}"),
            crate::transport::write_file_argv(path, 0o644),
            Content::text(text),
        )
    };
    let script = format!("{}\n{}\n{ENSURE}", crate::service::DETECT_INIT, crate::service::DAEMON_ALIVE);
    vec![
        write(&format!("{DIR}/dnsmasq.conf"), config(server)),
        write(&format!("{DIR}/servers"), servers(eps)),
        write("/var/lib/flockport/dns/flockport-dns.service", UNIT.to_string()),
        Step::run(
            &server.name,
            format!("forward the consul domain on {}:53 to {} endpoint(s)", server.gateway(), eps.len()),
            vec![
                "sh".into(),
                "-c".into(),
                format!(
                    "[ -d /run/systemd/system ] && ln -sf {DIR}/flockport-dns.service /etc/systemd/system/flockport-dns.service\n{script}"
                ),
                "sh".into(),
                server.gateway().to_string(),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forwarder_listens_on_the_bridge_and_asks_every_endpoint() {
        let s1 = crate::lb::tests::server();
        let c = config(&s1);
        assert!(c.contains("listen-address=10.0.4.1\n"), "{c}");
        assert!(c.contains("all-servers\n") && c.contains("no-negcache\n"), "{c}");
        let ep = |a: [u8; 4]| EpRecord {
            container: crate::service::ServiceContainer {
                family: crate::service::Family::Ep,
                name: format!("consul-{}", a[3]),
                server: "s1".into(),
                address: a.into(),
                image: String::new(),
                published: vec![],
            },
        };
        let (a, b) = (ep([10, 0, 4, 10]), ep([10, 0, 5, 10]));
        let s = servers(&[&a, &b]);
        assert!(s.contains("server=/consul/10.0.4.10#8600\nserver=/consul/10.0.5.10#8600\n"), "{s}");
    }
}
