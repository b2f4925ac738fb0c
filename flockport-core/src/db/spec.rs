//! Database types and what the user gives, validated before anything is
//! contacted: engine, user and database names, allowed ranges, passwords.

use crate::error::{Error, Result};
use crate::secrets::Secret;
use crate::service::ServiceContainer;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, crate::api::Record)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// MySQL as Debian ships it: MariaDB.
    Mysql,
    /// PostgreSQL (15 on Debian 12).
    Postgresql,
}

/// The PostgreSQL major version of the image (Debian 12's).
pub const PG_MAJOR: &str = "15";

impl Engine {
    /// Parses `mysql` or `postgresql` (the seed's words; `mariadb` and
    /// `postgres` are accepted too).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "mysql" | "mariadb" => Ok(Engine::Mysql),
            "postgresql" | "postgres" => Ok(Engine::Postgresql),
            _ => Err(Error::invalid("database type", s, "use mysql or postgresql")),
        }
    }
    /// Its name in state, JSON and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgresql => "postgresql",
        }
    }
    /// The port it listens on.
    pub fn port(self) -> u16 {
        match self {
            Engine::Mysql => 3306,
            Engine::Postgresql => 5432,
        }
    }
    /// The packages of its image.
    pub fn packages(self) -> Vec<String> {
        match self {
            Engine::Mysql => vec!["mariadb-server".into()],
            Engine::Postgresql => vec!["postgresql".into()],
        }
    }
    /// The prefix of generated instance names (`mysql1`, `pg1`).
    pub fn prefix(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgresql => "pg",
        }
    }
    /// The systemd unit of the server process.
    pub fn unit(self) -> String {
        match self {
            Engine::Mysql => "mariadb".into(),
            Engine::Postgresql => format!("postgresql@{PG_MAJOR}-main"),
        }
    }
    /// Longest user name the engine takes.
    fn max_user(self) -> usize {
        match self {
            Engine::Mysql => 80,
            Engine::Postgresql => 63,
        }
    }
    /// Longest database name the engine takes.
    fn max_database(self) -> usize {
        match self {
            Engine::Mysql => 64,
            Engine::Postgresql => 63,
        }
    }
    /// Names the engine (or flockport's administration) uses itself.
    fn reserved(self, field: &str, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        let common = ["root", "postgres", "mysql", "public", "admin"];
        if common.contains(&lower.as_str()) {
            return true;
        }
        match self {
            Engine::Mysql => ["information_schema", "performance_schema", "sys", "debian-sys-maint", "mariadb_sys"]
                .contains(&lower.as_str()),
            Engine::Postgresql => {
                lower.starts_with("pg_")
                    || (field == "database" && ["template0", "template1"].contains(&lower.as_str()))
            }
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks a user or database name (`field` is `user` or `database`) for
/// `engine`: ASCII letters, digits, `_` and `-`, starting with a letter or
/// `_`, within the engine's length limit, not reserved. Names are always
/// quoted as identifiers too; this keeps them plain in every place they go
/// (SQL, pg_hba.conf, file names).
pub fn check_ident(engine: Engine, field: &'static str, name: &str) -> Result<()> {
    let max = if field == "user" { engine.max_user() } else { engine.max_database() };
    let fix = format!(
        "use letters, digits, '_' or '-', starting with a letter or '_' (at most {max} characters for {engine})"
    );
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok {
        return Err(Error::invalid(field, name, fix));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))) {
        return Err(Error::invalid(field, name, format!("character {bad:?} is not allowed; {fix}")));
    }
    if name.len() > max {
        return Err(Error::invalid(field, name, format!("it has {} characters; {fix}", name.len())));
    }
    if engine.reserved(field, name) {
        return Err(Error::invalid(field, name, format!("{engine} or flockport uses that name itself; pick another")));
    }
    Ok(())
}

/// Parses `-a`: CIDRs separated by commas (an address alone is a /32).
pub fn parse_allowed(list: &[String]) -> Result<Vec<Ipv4Net>> {
    let mut out = Vec::new();
    for item in list.iter().flat_map(|s| s.split(',')).map(str::trim) {
        let fix = "write IPv4 ranges in CIDR form separated by commas, e.g. 10.0.4.0/24,10.0.5.0/24";
        let net = if item.contains('/') {
            let n: Ipv4Net = item.parse().map_err(|_| Error::invalid("allowed range", item, fix))?;
            if n.network() != n.addr() {
                return Err(Error::invalid(
                    "allowed range",
                    item,
                    format!("host bits are set; did you mean {}?", n.trunc()),
                ));
            }
            n
        } else {
            let a: std::net::Ipv4Addr = item.parse().map_err(|_| Error::invalid("allowed range", item, fix))?;
            Ipv4Net::from(a)
        };
        if !out.contains(&net) {
            out.push(net);
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("allowed range", list.join(","), "give at least one range, e.g. 10.0.4.0/24"));
    }
    out.sort();
    Ok(out)
}

/// Checks a password given with `-p`: not empty, at most 256 characters, no
/// control characters (NUL, newline...). The value is never shown.
pub fn check_password(p: &Secret) -> Result<()> {
    let s = p.expose();
    if s.is_empty() {
        return Err(Error::invalid("password", "<secret>", "it is empty; give one or leave -p out to generate one"));
    }
    if s.chars().count() > 256 {
        return Err(Error::invalid("password", "<secret>", "it is longer than 256 characters"));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(
            "password",
            "<secret>",
            format!(
                "it holds the control character U+{:04X}; NUL, newlines and other control characters are not allowed",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// Length of a generated password.
pub const GENERATED_PASSWORD_LEN: usize = 28;

/// A database of an instance and the user that owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct Database {
    /// The database's name.
    pub name: String,
    /// The user that owns it (all privileges on it, nothing else).
    pub user: String,
    /// The ranges (CIDR) the user may log in from.
    pub allowed: Vec<String>,
}

/// A database instance: its container and its databases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(name, engine, server, address, databases, published))]
pub struct DbRecord {
    /// Its service container: name, server, address, image, published ports
    /// (flattened into the record's JSON).
    #[serde(flatten)]
    pub container: ServiceContainer,
    /// The engine.
    pub engine: Engine,
    /// The port it listens on at its address.
    pub port: u16,
    /// Its databases by name.
    #[serde(default)]
    pub databases: BTreeMap<String, Database>,
}

/// What `adddb` is given.
#[derive(Debug, Clone, Default)]
pub struct DbSpec {
    /// `mysql` or `postgresql`.
    pub engine: String,
    /// The server of a new instance (an existing one's must match).
    pub server: String,
    /// The user.
    pub user: String,
    /// The database.
    pub database: String,
    /// The instance (`-n`): new, or an existing one of the same engine.
    pub name: Option<String>,
    /// Allowed ranges (`-a`, CIDRs, comma separated); default: the server's
    /// container subnet for a new user, unchanged for an existing one.
    pub allowed: Vec<String>,
    /// The password (`-p`); default: generated for a new user, unchanged
    /// for an existing one.
    pub password: Option<Secret>,
}

/// What `adddb` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct DbAdded {
    /// The instance after the change.
    pub instance: DbRecord,
    /// The database added or updated.
    pub database: String,
    /// What changed (`created instance`, `created user and database`,
    /// `password`, `allowed ranges`); empty when nothing had to.
    pub changes: Vec<String>,
    /// Whether the password was generated here (then it is shown once).
    pub generated_password: bool,
    /// The file (mode 0600) holding the user's password.
    pub password_file: String,
}

/// An instance as `listdbs` shows it: the record and what it says now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
pub struct DbInfo {
    /// The record.
    pub instance: DbRecord,
    /// Whether it answered a query and accepts connections at its address now.
    pub answers: bool,
    /// The engine's version as it reports it.
    pub version: Option<String>,
    /// Size in bytes of each database, by name.
    pub sizes: BTreeMap<String, u64>,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_per_engine() {
        for bad in ["wo'rd", "wo rd", "a;b", "-a", "", "1abc", "wo\"rd", "a\nb", "a`b", "a.b"] {
            assert!(check_ident(Engine::Mysql, "user", bad).is_err(), "{bad:?}");
            assert!(check_ident(Engine::Postgresql, "database", bad).is_err(), "{bad:?}");
        }
        for reserved in ["root", "postgres", "mysql", "ROOT"] {
            let e = check_ident(Engine::Mysql, "user", reserved).unwrap_err().to_string();
            assert!(e.contains(reserved) && e.contains("pick another"), "{e}");
            assert!(check_ident(Engine::Postgresql, "user", reserved).is_err());
        }
        assert!(check_ident(Engine::Postgresql, "user", "pg_monitor2").is_err());
        let long = "a".repeat(64);
        assert!(check_ident(Engine::Mysql, "database", &long).is_ok());
        assert!(check_ident(Engine::Postgresql, "database", &long).is_err());
        assert!(check_ident(Engine::Mysql, "user", &"u".repeat(80)).is_ok());
        let e = check_ident(Engine::Mysql, "user", &"u".repeat(81)).unwrap_err().to_string();
        assert!(e.contains("81 characters"), "{e}");
        for ok in ["wordpress", "discourse", "my_app-2", "_x"] {
            check_ident(Engine::Mysql, "user", ok).unwrap();
            check_ident(Engine::Postgresql, "database", ok).unwrap();
        }
    }

    #[test]
    fn ranges_and_passwords() {
        let r = parse_allowed(&["10.0.5.0/24,10.0.4.0/24".into(), "10.0.4.7".into()]).unwrap();
        let shown: Vec<String> = r.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["10.0.4.0/24", "10.0.4.7/32", "10.0.5.0/24"]);
        for bad in ["10.0.4.0/33", "10.0.4.1/24", "banana", "10.0.4.0/24;x", ""] {
            let e = parse_allowed(&[bad.into()]).unwrap_err().to_string();
            assert!(e.contains("allowed range"), "{bad}: {e}");
        }
        assert!(check_password(&Secret::new("fine 'quoted' \\ pass")).is_ok());
        for bad in ["", "a\0b", "a\nb", "a\rb"] {
            let e = check_password(&Secret::new(bad)).unwrap_err().to_string();
            assert!(e.contains("<secret>") && !e.contains("a\nb"), "{e}");
        }
        assert!(Engine::parse("mongodb").unwrap_err().to_string().contains("mongodb"));
    }
}
