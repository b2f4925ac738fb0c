//! Floating IPs: the types (spec, record, listing), parsing and the checks
//! that need no server (names, the address, the advert interval, tracked
//! ports), and the checks against what the servers' probes found (the LAN
//! that holds each server's own address, addresses in use).

use crate::error::{Error, Result};
use crate::names;
use crate::state::State;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Priority of the first server (the master while both run).
pub const MASTER_PRIORITY: u8 = 150;
/// Priority of the second server (the backup).
pub const BACKUP_PRIORITY: u8 = 100;
/// The default advert interval, in centiseconds (1 s).
pub const DEFAULT_ADVERT_CENTIS: u16 = 100;
/// Prefix of generated names (`vip1`, `vip2`, ...).
pub const NAME_PREFIX: &str = "vip";

/// What `addvip` takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VipSpec {
    /// The first server: holds the address while both run (the master).
    pub server1: String,
    /// The second server: takes the address over when the first fails (the backup).
    pub server2: String,
    /// The floating IPv4 address, in the LAN of both servers.
    pub ip: String,
    /// Name (default: generated, `vip1`, `vip2`, ...).
    pub name: Option<String>,
    /// VRRP advert interval in seconds (default 1). Whole seconds from 1 to
    /// 255 run VRRPv2 with authentication; a fraction (0.01 to 40.95, in
    /// hundredths) runs VRRPv3, which has no authentication in keepalived.
    pub advert_int: Option<f64>,
    /// Ports whose local service must answer on a server for it to hold the
    /// address (a TCP connect to the server's own LAN address).
    pub track: Vec<u16>,
}

/// One of the two servers of a floating IP, as found on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct VipMember {
    /// The server's name.
    pub server: String,
    /// Its own LAN address (the VRRP unicast source; its peer's unicast peer).
    pub address: Ipv4Addr,
    /// The interface holding that address (where the floating IP goes).
    pub interface: String,
    /// VRRP priority.
    pub priority: u8,
}

/// A floating IP as the API returns it (the record without its VRRP password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct Vip {
    /// Name.
    pub name: String,
    /// The floating address.
    pub ip: Ipv4Addr,
    /// The LAN both servers share (the floating address's prefix).
    pub network: Ipv4Net,
    /// The server that holds it while both run.
    pub master: VipMember,
    /// The server that takes it over.
    pub backup: VipMember,
    /// VRRP virtual router id, unique among the floating IPs of `network`.
    pub vrid: u8,
    /// Advert interval in hundredths of a second.
    pub advert_centis: u16,
    /// VRRP version (2 for whole seconds, 3 for fractions).
    pub version: u8,
    /// Tracked ports.
    #[serde(default)]
    pub track: Vec<u16>,
}

impl Vip {
    /// Whether `server` is one of its two servers.
    pub fn on(&self, server: &str) -> bool {
        self.master.server == server || self.backup.server == server
    }
    /// The advert interval in seconds.
    pub fn advert_secs(&self) -> f64 {
        f64::from(self.advert_centis) / 100.0
    }
    /// Its two servers, master first.
    pub fn members(&self) -> [&VipMember; 2] {
        [&self.master, &self.backup]
    }
    /// The other member than `server`'s.
    pub fn peer_of(&self, server: &str) -> &VipMember {
        if self.master.server == server {
            &self.backup
        } else {
            &self.master
        }
    }
    /// The advert interval as keepalived's `advert_int` (`1`, `0.1`, `0.25`).
    pub fn advert_text(&self) -> String {
        advert_text(self.advert_centis)
    }
    /// The seconds RFC 3768/5798 give a backup to take over after the master
    /// stops sending adverts: 3 x advert + skew, where skew is
    /// (256 - backup priority) / 256 s for VRRPv2 and that many advert
    /// intervals / 256 for VRRPv3.
    pub fn master_down_secs(&self) -> f64 {
        3.0 * self.advert_secs() + self.skew_secs()
    }
    /// The backup's skew time (what a graceful stop costs: the master sends
    /// priority 0 and the backup takes over after the skew).
    pub fn skew_secs(&self) -> f64 {
        let p = f64::from(256 - u16::from(self.backup.priority));
        if self.version == 3 {
            p * self.advert_secs() / 256.0
        } else {
            p / 256.0
        }
    }
}

/// A floating IP as recorded in state: the [`Vip`] and its VRRP password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct VipRecord {
    /// The floating IP (flattened into the record's JSON).
    #[serde(flatten)]
    pub vip: Vip,
    /// The VRRPv2 PASS authentication shared by the two servers (8
    /// characters; VRRPv3 has none). Travels only in `Content::secret`;
    /// never shown by the bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(skip)]
    pub auth_pass: Option<String>,
}

/// A tracked port as a server sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct TrackStatus {
    /// The port.
    pub port: u16,
    /// Whether its service answered a TCP connect on the server's own address.
    pub up: bool,
}

/// One server of a floating IP as `listvips` reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct VipServerStatus {
    /// The server.
    pub server: String,
    /// `master` or `backup`: its configured role (priority).
    pub role: String,
    /// keepalived's state of this VRRP instance: `MASTER`, `BACKUP`,
    /// `FAULT`, `STOPPED` (keepalived is not running), or `unknown`.
    pub keepalived: String,
    /// Whether the floating address is on the server's interface now.
    pub has_address: bool,
    /// The tracked ports.
    pub tracks: Vec<TrackStatus>,
    /// Why the server could not be read; `None` when it was.
    pub error: Option<String>,
}

/// A floating IP as `listvips` shows it: read from the servers, not from state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct VipInfo {
    /// The floating IP.
    #[serde(flatten)]
    #[record(nested)]
    pub vip: Vip,
    /// The server that holds the address now: the one whose keepalived is
    /// MASTER with the address on its interface (or, when keepalived was
    /// killed and left it behind, the only one that has it); `None` when
    /// neither holds it, or both claim it.
    pub holder: Option<String>,
    /// Every server whose interface has the address now.
    pub address_on: Vec<String>,
    /// The two servers, master first.
    pub servers: Vec<VipServerStatus>,
}

/// Formats centiseconds as keepalived's `advert_int`.
pub fn advert_text(centis: u16) -> String {
    if centis % 100 == 0 {
        format!("{}", centis / 100)
    } else {
        let s = format!("{}.{:02}", centis / 100, centis % 100);
        s.trim_end_matches('0').to_string()
    }
}

/// Checks an advert interval in seconds; returns (centiseconds, VRRP version).
pub fn check_advert(secs: f64) -> Result<(u16, u8)> {
    let shown = format!("{secs}");
    let fix = "give seconds: a whole number from 1 to 255 (VRRPv2), or a fraction from 0.01 to 40.95 in \
               hundredths (VRRPv3, e.g. 0.1)";
    if !secs.is_finite() || secs <= 0.0 || secs > 255.0 {
        return Err(Error::invalid("advert interval", shown, fix));
    }
    let centis = (secs * 100.0).round();
    if (secs * 100.0 - centis).abs() > 1e-6 || centis < 1.0 {
        return Err(Error::invalid("advert interval", shown, fix));
    }
    // In range by the checks above (1..=25500).
    let centis = centis as u16;
    if centis % 100 == 0 {
        return Ok((centis, 2));
    }
    if centis > 4095 {
        return Err(Error::invalid("advert interval", shown, fix));
    }
    Ok((centis, 3))
}

/// Parses an advert interval as the CLI gets it.
pub fn parse_advert(s: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| Error::invalid("advert interval", s, "give seconds, e.g. 1 or 0.1 (for sub-second failover)"))
}

/// Checks a floating address on its own: a unicast host address.
pub fn parse_vip(s: &str) -> Result<Ipv4Addr> {
    let ip = names::parse_ipv4("floating IP", s)?;
    if ip.is_loopback() || ip.is_multicast() || ip.is_unspecified() || ip.is_broadcast() || ip.is_link_local() {
        return Err(Error::invalid(
            "floating IP",
            s,
            "a loopback, link-local, multicast or broadcast address cannot float; give an address of the servers' LAN",
        ));
    }
    Ok(ip)
}

/// A spec whose every value was checked without contacting anything.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSpec {
    /// First server (master).
    pub server1: String,
    /// Second server (backup).
    pub server2: String,
    /// The address.
    pub ip: Ipv4Addr,
    /// The name given, if any.
    pub name: Option<String>,
    /// Advert interval, centiseconds.
    pub advert_centis: u16,
    /// VRRP version.
    pub version: u8,
    /// Tracked ports, sorted.
    pub track: Vec<u16>,
}

impl VipSpec {
    /// Checks everything that needs no server; `servers` are the inventory's names.
    pub fn check(&self, servers: &[&str]) -> Result<CheckedSpec> {
        names::check_name("server name", &self.server1)?;
        names::check_name("server name", &self.server2)?;
        if let Some(n) = &self.name {
            names::check_name("floating IP name", n)?;
        }
        let ip = parse_vip(&self.ip)?;
        let (advert_centis, version) = check_advert(self.advert_int.unwrap_or(1.0))?;
        let mut track = Vec::new();
        for p in &self.track {
            if *p == 0 {
                return Err(Error::invalid("tracked port", "0", "give a port from 1 to 65535"));
            }
            if track.contains(p) {
                return Err(Error::invalid("tracked port", p.to_string(), "each port may be tracked once"));
            }
            track.push(*p);
        }
        track.sort_unstable();
        if self.server1 == self.server2 {
            return Err(Error::invalid(
                "server",
                &self.server2,
                format!("a floating IP needs two different servers; {} was given twice", self.server2),
            ));
        }
        for s in [&self.server1, &self.server2] {
            if !servers.contains(&s.as_str()) {
                return Err(Error::not_found(
                    "server",
                    s,
                    format!("known: {}; add it with `flockport addserver`", servers.join(", ")),
                ));
            }
        }
        Ok(CheckedSpec {
            server1: self.server1.clone(),
            server2: self.server2.clone(),
            ip,
            name: self.name.clone(),
            advert_centis,
            version,
            track,
        })
    }
}

impl CheckedSpec {
    /// Whether `rec` was made with these arguments (a rerun of `addvip`).
    pub fn same_as(&self, rec: &Vip) -> bool {
        rec.master.server == self.server1
            && rec.backup.server == self.server2
            && rec.ip == self.ip
            && rec.advert_centis == self.advert_centis
            && rec.track == self.track
    }

    /// How this spec differs from `rec`, for the refusal.
    pub fn differences(&self, rec: &Vip) -> String {
        let mut d = Vec::new();
        if rec.master.server != self.server1 || rec.backup.server != self.server2 {
            d.push(format!(
                "servers {} {} (asked {} {})",
                rec.master.server, rec.backup.server, self.server1, self.server2
            ));
        }
        if rec.ip != self.ip {
            d.push(format!("address {} (asked {})", rec.ip, self.ip));
        }
        if rec.advert_centis != self.advert_centis {
            d.push(format!(
                "advert interval {} s (asked {} s)",
                advert_text(rec.advert_centis),
                advert_text(self.advert_centis)
            ));
        }
        if rec.track != self.track {
            d.push(format!("tracked ports {:?} (asked {:?})", rec.track, self.track));
        }
        d.join(", ")
    }

    /// The checks against the state: the address is no other floating IP's
    /// and no server's inventory address.
    pub fn check_against_state(&self, state: &State, own: Option<&str>, hosts: &[(String, String)]) -> Result<()> {
        if let Some(other) = state.vips.values().find(|v| v.vip.ip == self.ip && Some(v.vip.name.as_str()) != own) {
            return Err(Error::invalid(
                "floating IP",
                self.ip.to_string(),
                format!(
                    "it is already floating IP {} (on {} and {})",
                    other.vip.name, other.vip.master.server, other.vip.backup.server
                ),
            ));
        }
        if let Some((server, _)) = hosts.iter().find(|(_, h)| h.parse::<Ipv4Addr>().ok() == Some(self.ip)) {
            return Err(Error::invalid(
                "floating IP",
                self.ip.to_string(),
                format!("it is the address of server {server}"),
            ));
        }
        Ok(())
    }
}

/// An IPv4 address on an interface, as a server's probe lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface.
    pub interface: String,
    /// Address.
    pub address: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
}

impl IfAddr {
    /// The network it is in.
    pub fn network(&self) -> Ipv4Net {
        Ipv4Net::new(self.address, self.prefix).map(|n| n.trunc()).unwrap_or_else(|_| Ipv4Net::default())
    }
}

/// Checks an interface name read from a server before it goes into a config.
pub fn check_interface(server: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Parse {
            server: server.into(),
            command: "ip -o -4 addr show".into(),
            reason: format!("interface name {name:?} is not one flockport writes into a keepalived config"),
        })
    }
}

/// The server's own LAN address and its interface: the interface address
/// equal to `own` (the inventory's host, or the address the SSH connection
/// reached).
pub fn lan_of(server: &str, addrs: &[IfAddr], own: Option<Ipv4Addr>) -> Result<IfAddr> {
    let Some(own) = own else {
        return Err(Error::invalid(
            "server",
            server,
            "its own LAN address is unknown (its inventory host is not an IPv4 address and it was not reached over SSH)",
        ));
    };
    addrs.iter().find(|a| a.address == own).cloned().ok_or_else(|| {
        Error::invalid(
            "server",
            server,
            format!("no interface of the server holds its address {own}; a floating IP needs the LAN that holds it"),
        )
    })
}

/// Checks that `ip` can float between two servers whose LANs are `a` and `b`.
pub fn check_lan(ip: Ipv4Addr, a: (&str, &IfAddr), b: (&str, &IfAddr)) -> Result<Ipv4Net> {
    for (server, lan) in [a, b] {
        let net = lan.network();
        if !net.contains(&ip) {
            return Err(Error::invalid(
                "floating IP",
                ip.to_string(),
                format!(
                    "it is outside the LAN of server {server} ({net} on {}, which holds {}); give an address of that LAN",
                    lan.interface, lan.address
                ),
            ));
        }
        if ip == net.network() || ip == net.broadcast() {
            return Err(Error::invalid(
                "floating IP",
                ip.to_string(),
                format!("it is the network or broadcast address of {net}"),
            ));
        }
    }
    if a.1.network() != b.1.network() {
        return Err(Error::invalid(
            "server",
            b.0,
            format!(
                "servers {} ({}) and {} ({}) are not on the same LAN; a floating IP moves only within one",
                a.0,
                a.1.network(),
                b.0,
                b.1.network()
            ),
        ));
    }
    Ok(a.1.network())
}

/// The lowest virtual router id from 1 to 255 not in `used`.
pub fn pick_vrid(network: Ipv4Net, used: &[u8]) -> Result<u8> {
    (1..=255u8).find(|v| !used.contains(v)).ok_or_else(|| {
        Error::invalid("floating IP", network.to_string(), "all 255 VRRP virtual router ids of this LAN are in use")
    })
}

/// A VRRPv2 PASS password: 8 random letters and digits.
pub fn new_auth_pass() -> Result<String> {
    Ok(crate::secrets::Secret::generate(8)?.expose().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advert_intervals() {
        assert_eq!(check_advert(1.0).unwrap(), (100, 2));
        assert_eq!(check_advert(3.0).unwrap(), (300, 2));
        assert_eq!(check_advert(0.1).unwrap(), (10, 3));
        assert_eq!(check_advert(0.25).unwrap(), (25, 3));
        assert_eq!(check_advert(1.5).unwrap(), (150, 3));
        for bad in [0.0, -1.0, 0.001, 256.0, 1e9, f64::NAN, f64::INFINITY, 41.5] {
            let e = check_advert(bad).unwrap_err();
            assert!(e.to_string().contains("advert interval"), "{bad}: {e}");
        }
        assert!(parse_advert("abc").unwrap_err().to_string().contains("\"abc\""));
        assert_eq!(advert_text(100), "1");
        assert_eq!(advert_text(10), "0.1");
        assert_eq!(advert_text(25), "0.25");
        assert_eq!(advert_text(150), "1.5");
    }

    #[test]
    fn spec_checks_name_the_bad_value() {
        let servers = ["s1", "s2", "s3"];
        let ok =
            VipSpec { server1: "s1".into(), server2: "s2".into(), ip: "192.168.122.100".into(), ..Default::default() };
        let c = ok.check(&servers).unwrap();
        assert_eq!((c.advert_centis, c.version), (100, 2));
        let cases: Vec<(VipSpec, &str)> = vec![
            (VipSpec { server2: "s1".into(), ..ok.clone() }, "s1 was given twice"),
            (VipSpec { server2: "s9".into(), ..ok.clone() }, "\"s9\" not found"),
            (VipSpec { ip: "192.168.122.300".into(), ..ok.clone() }, "\"192.168.122.300\""),
            (VipSpec { ip: "127.0.0.1".into(), ..ok.clone() }, "loopback"),
            (VipSpec { advert_int: Some(0.0), ..ok.clone() }, "advert interval \"0\""),
            (VipSpec { advert_int: Some(-2.0), ..ok.clone() }, "advert interval \"-2\""),
            (VipSpec { track: vec![80, 80], ..ok.clone() }, "tracked port \"80\""),
            (VipSpec { name: Some("a b".into()), ..ok.clone() }, "floating IP name \"a b\""),
        ];
        for (spec, want) in cases {
            let e = spec.check(&servers).unwrap_err().to_string();
            assert!(e.contains(want), "{e} should contain {want}");
        }
    }

    #[test]
    fn lan_checks() {
        let a = IfAddr { interface: "eth0".into(), address: "192.168.122.11".parse().unwrap(), prefix: 24 };
        let b = IfAddr { interface: "eth0".into(), address: "192.168.122.12".parse().unwrap(), prefix: 24 };
        let ip = "192.168.122.100".parse().unwrap();
        assert_eq!(check_lan(ip, ("s1", &a), ("s2", &b)).unwrap().to_string(), "192.168.122.0/24");
        let e = check_lan("10.9.9.9".parse().unwrap(), ("s1", &a), ("s2", &b)).unwrap_err().to_string();
        assert!(e.contains("10.9.9.9") && e.contains("outside the LAN of server s1"), "{e}");
        let e = check_lan("192.168.122.255".parse().unwrap(), ("s1", &a), ("s2", &b)).unwrap_err().to_string();
        assert!(e.contains("broadcast"), "{e}");
        let c = IfAddr { interface: "eth0".into(), address: "192.168.122.12".parse().unwrap(), prefix: 25 };
        let e = check_lan(ip, ("s1", &a), ("s2", &c)).unwrap_err().to_string();
        assert!(e.contains("not on the same LAN"), "{e}");
        let e = check_lan("192.168.122.200".parse().unwrap(), ("s1", &a), ("s2", &c)).unwrap_err().to_string();
        assert!(e.contains("outside the LAN of server s2"), "{e}");
        assert_eq!(pick_vrid("192.168.122.0/24".parse().unwrap(), &[1, 2, 4]).unwrap(), 3);
        let p = new_auth_pass().unwrap();
        assert_eq!(p.len(), 8);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
