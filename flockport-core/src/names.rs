//! Validation of names and addresses the user gives, before anything is touched.
//!
//! Architecture invariant: every user-supplied name passes through here before
//! it reaches a plan; a name with shell metacharacters never gets further.

use crate::error::{Error, Result};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// Longest name accepted for servers and containers (LXC and hostname limits).
pub const MAX_NAME: usize = 63;

/// Checks a server, container or service name: ASCII letters, digits, `-`,
/// `_` and `.`, starting with a letter or digit, at most [`MAX_NAME`] bytes.
pub fn check_name(field: &'static str, name: &str) -> Result<()> {
    let fix = "use letters, digits, '-', '_' or '.', starting with a letter or digit (at most 63 characters)";
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || name.len() > MAX_NAME {
        return Err(Error::invalid(field, name, fix));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(Error::invalid(field, name, format!("character {bad:?} is not allowed; {fix}")));
    }
    Ok(())
}

/// Checks a host name or IP address for SSH.
pub fn check_host(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with('-')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("host", host, "give a DNS name or an IP address (letters, digits, '-', '.', ':')"))
    }
}

/// Parses a container subnet in CIDR form, e.g. `10.0.4.0/24`.
pub fn parse_subnet(s: &str) -> Result<Ipv4Net> {
    let net: Ipv4Net =
        s.parse().map_err(|_| Error::invalid("subnet", s, "write an IPv4 network in CIDR form, e.g. 10.0.4.0/24"))?;
    if net.prefix_len() > 30 {
        return Err(Error::invalid("subnet", s, "the prefix must be /30 or shorter to leave room for containers"));
    }
    if net.network() != net.addr() {
        return Err(Error::invalid("subnet", s, format!("host bits are set; did you mean {}?", net.trunc())));
    }
    Ok(net)
}

/// Parses an IPv4 address.
pub fn parse_ipv4(field: &'static str, s: &str) -> Result<Ipv4Addr> {
    s.parse().map_err(|_| Error::invalid(field, s, "write an IPv4 address such as 10.0.4.20"))
}

/// Checks that `addr` is a usable host address of `net` (not the network,
/// broadcast or gateway address).
pub fn check_in_subnet(field: &'static str, addr: Ipv4Addr, net: Ipv4Net, gateway: Ipv4Addr) -> Result<()> {
    if !net.contains(&addr) {
        return Err(Error::invalid(field, addr.to_string(), format!("it must be inside the server's subnet {net}")));
    }
    if addr == net.network() || addr == net.broadcast() || addr == gateway {
        return Err(Error::invalid(
            field,
            addr.to_string(),
            format!("it is the network, broadcast or gateway address of {net}; pick a host address"),
        ));
    }
    Ok(())
}

/// Parses an octal file mode such as `0644`.
pub fn parse_mode(s: &str) -> Result<u32> {
    let m = u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .map_err(|_| Error::invalid("file mode", s, "write an octal mode such as 0644"))?;
    if m > 0o7777 {
        return Err(Error::invalid("file mode", s, "a mode is at most 07777"));
    }
    Ok(m)
}

/// Checks an absolute path inside a container or on a server: no NUL, absolute.
pub fn check_abs_path(field: &'static str, p: &str) -> Result<()> {
    if !p.starts_with('/') || p.contains('\0') || p.contains('\n') {
        return Err(Error::invalid(field, p, "give an absolute path (starting with '/', no newlines)"));
    }
    Ok(())
}

/// Checks a Debian package name.
pub fn check_package(p: &str) -> Result<()> {
    let ok = p.len() >= 2
        && p.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("package", p, "Debian package names use lowercase letters, digits, '+', '-', '.'"))
    }
}

/// A DNS host name: at most 253 bytes of dot-separated labels of letters,
/// digits and '-', none empty, longer than 63, or starting or ending with
/// '-' (a leading one would read as an option in a config: "-i -x").
pub fn is_dns_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Checks a served host name (an LB's or an app's URL): a DNS name, no scheme.
pub fn check_url(url: &str) -> Result<()> {
    let host = url.trim_start_matches("http://").trim_start_matches("https://");
    if host != url {
        return Err(Error::invalid("url", url, "give the host name only, e.g. mywordpress.org"));
    }
    if is_dns_name(host) {
        Ok(())
    } else {
        Err(Error::invalid(
            "url",
            url,
            "a host name uses letters, digits, '-' (not first or last in a label) and dots, e.g. mywordpress.org",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("server name", "s1").is_ok());
        assert!(check_name("server name", "web-1.a_b").is_ok());
        for bad in ["", "-x", "a b", "a;rm", "$(x)", "a/b", "a`b`", &"x".repeat(64)] {
            let e = check_name("server name", bad).unwrap_err();
            assert!(e.to_string().contains("server name"), "{e}");
        }
    }

    #[test]
    fn subnets() {
        assert_eq!(parse_subnet("10.0.4.0/24").unwrap().to_string(), "10.0.4.0/24");
        let e = parse_subnet("10.0.4.1/24").unwrap_err().to_string();
        assert!(e.contains("10.0.4.0/24"), "{e}");
        assert!(parse_subnet("10.0.4.0/33").is_err());
        assert!(parse_subnet("banana").unwrap_err().to_string().contains("banana"));
        assert!(parse_subnet("10.0.4.0/31").is_err());
    }

    #[test]
    fn addresses_in_subnet() {
        let net = parse_subnet("10.0.4.0/24").unwrap();
        let gw = Ipv4Addr::new(10, 0, 4, 1);
        assert!(check_in_subnet("address", Ipv4Addr::new(10, 0, 4, 20), net, gw).is_ok());
        assert!(check_in_subnet("address", Ipv4Addr::new(10, 0, 5, 20), net, gw).is_err());
        assert!(check_in_subnet("address", gw, net, gw).is_err());
        assert!(check_in_subnet("address", Ipv4Addr::new(10, 0, 4, 255), net, gw).is_err());
    }

    #[test]
    fn modes_and_paths() {
        assert_eq!(parse_mode("0644").unwrap(), 0o644);
        assert!(parse_mode("999").is_err());
        assert!(check_abs_path("path", "/etc/x").is_ok());
        assert!(check_abs_path("path", "etc/x").is_err());
        assert!(check_package("haproxy").is_ok());
        assert!(check_package("Bad;pkg").is_err());
    }
}
