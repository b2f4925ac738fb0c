//! The SQL and config text of each engine, pure: the quoting of literals and
//! identifiers, the scripts that make a user and its database what the
//! record says (idempotent, so a retry after a fault converges), the ones
//! that drop them, MariaDB's server config, PostgreSQL's `listen_addresses`
//! and `pg_hba.conf`.
//!
//! Names reach this module already checked by `spec::check_ident` (letters,
//! digits, `_`, `-`), and are quoted as identifiers anyway. A password is
//! checked by `spec::check_password` (no control characters) and quoted as a
//! string literal here: this is the one place SQL literals are made. A
//! script holding a password is only ever sent on a step's stdin as a secret
//! (`Content::secret`).

use super::spec::{Database, Engine};
use crate::secrets::Secret;
use ipnet::Ipv4Net;

/// A string literal of `engine`: MariaDB reads backslash escapes in
/// literals (its default `sql_mode`), PostgreSQL does not
/// (`standard_conforming_strings`, on since 9.1).
pub fn literal(engine: Engine, s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if engine == Engine::Mysql => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An identifier of `engine`: `` `name` `` (MariaDB) or `"name"` (PostgreSQL).
pub fn ident(engine: Engine, s: &str) -> String {
    match engine {
        Engine::Mysql => format!("`{}`", s.replace('`', "``")),
        Engine::Postgresql => format!("\"{}\"", s.replace('"', "\"\"")),
    }
}

/// The host part of a MariaDB account for range `net`: `'10.0.4.0/255.255.255.0'`,
/// or the address alone for a /32.
pub fn mysql_host(net: &Ipv4Net) -> String {
    if net.prefix_len() == 32 {
        net.addr().to_string()
    } else {
        format!("{}/{}", net.network(), net.netmask())
    }
}

/// `'user'@'host'`.
fn mysql_account(user: &str, net: &Ipv4Net) -> String {
    format!("{}@{}", literal(Engine::Mysql, user), literal(Engine::Mysql, &mysql_host(net)))
}

/// A database name in a MariaDB GRANT, where `_` and `%` are wildcards: escaped,
/// so `word_press` does not also grant `wordXpress`.
fn mysql_grant_db(db: &str) -> String {
    ident(Engine::Mysql, &db.replace('_', "\\_").replace('%', "\\%"))
}

/// Parses a record's ranges (written by flockport, so valid).
pub fn ranges(db: &Database) -> Vec<Ipv4Net> {
    db.allowed.iter().filter_map(|s| s.parse().ok()).collect()
}

/// The script that makes `db`'s user and database what the record says,
/// with `password`; `dropped` are ranges the user had and no longer has.
/// Idempotent.
pub fn ensure_script(engine: Engine, db: &Database, password: &Secret, dropped: &[Ipv4Net]) -> String {
    let pw = literal(engine, password.expose());
    let mut s = String::new();
    match engine {
        Engine::Mysql => {
            s.push_str(&format!("CREATE DATABASE IF NOT EXISTS {};\n", ident(engine, &db.name)));
            for net in ranges(db) {
                let acct = mysql_account(&db.user, &net);
                s.push_str(&format!("CREATE USER IF NOT EXISTS {acct} IDENTIFIED BY {pw};\n"));
                s.push_str(&format!("ALTER USER {acct} IDENTIFIED BY {pw};\n"));
                s.push_str(&format!("GRANT ALL PRIVILEGES ON {}.* TO {acct};\n", mysql_grant_db(&db.name)));
            }
            for net in dropped {
                s.push_str(&format!("DROP USER IF EXISTS {};\n", mysql_account(&db.user, net)));
            }
        }
        Engine::Postgresql => {
            let (u, d) = (ident(engine, &db.user), ident(engine, &db.name));
            let (ul, dl) = (literal(engine, &db.user), literal(engine, &db.name));
            // A failing statement is not written to the server's log with its text.
            s.push_str("SET log_min_error_statement = panic;\nSET log_statement = 'none';\n");
            s.push_str(&format!(
                "SELECT 'CREATE ROLE ' || {} || ' LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {ul})\\gexec\n",
                literal(engine, &u)
            ));
            s.push_str(&format!("ALTER ROLE {u} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {pw};\n"));
            s.push_str(&format!(
                "SELECT 'CREATE DATABASE ' || {} || ' OWNER ' || {} WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {dl})\\gexec\n",
                literal(engine, &d),
                literal(engine, &u)
            ));
            s.push_str(&format!("ALTER DATABASE {d} OWNER TO {u};\n"));
            s.push_str(&format!("REVOKE ALL ON DATABASE {d} FROM PUBLIC;\n"));
        }
    }
    s
}

/// The script that drops `db` and its user (every account of it). Idempotent.
pub fn drop_script(engine: Engine, db: &Database) -> String {
    let mut s = String::new();
    match engine {
        Engine::Mysql => {
            for net in ranges(db) {
                s.push_str(&format!("DROP USER IF EXISTS {};\n", mysql_account(&db.user, &net)));
            }
            s.push_str(&format!("DROP DATABASE IF EXISTS {};\n", ident(engine, &db.name)));
        }
        Engine::Postgresql => {
            s.push_str(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE);\n", ident(engine, &db.name)));
            s.push_str(&format!("DROP ROLE IF EXISTS {};\n", ident(engine, &db.user)));
        }
    }
    s
}

/// MariaDB's server config: listen on the container's address only (local
/// administration goes through the unix socket), no reverse DNS lookups
/// (accounts are per address range).
pub fn mysql_server_cnf(instance: &str, address: std::net::Ipv4Addr) -> String {
    format!(
        "# Managed by flockport: database instance {instance}. Changes here are overwritten.\n[mysqld]\nbind-address = {address}\nskip-name-resolve\n"
    )
}

/// PostgreSQL's settings of flockport (a file in `conf.d`).
pub fn pg_conf(instance: &str, address: std::net::Ipv4Addr) -> String {
    format!(
        "# Managed by flockport: database instance {instance}. Changes here are overwritten.\nlisten_addresses = 'localhost,{address}'\npassword_encryption = 'scram-sha-256'\n"
    )
}

/// PostgreSQL's `pg_hba.conf` for `databases`: the administrator through
/// the local socket, then each user to its own database from its ranges
/// with scram-sha-256; nothing else.
pub fn pg_hba<'a>(instance: &str, databases: impl IntoIterator<Item = &'a Database>) -> String {
    let mut s = format!(
        "# Managed by flockport: database instance {instance}. Changes here are overwritten.\n# TYPE  DATABASE  USER  ADDRESS  METHOD\nlocal   all       postgres          peer\n"
    );
    for db in databases {
        for net in ranges(db) {
            s.push_str(&format!(
                "host    {}  {}  {net}  scram-sha-256\n",
                ident(Engine::Postgresql, &db.name),
                ident(Engine::Postgresql, &db.user)
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wp(allowed: &[&str]) -> Database {
        Database {
            name: "word_press".into(),
            user: "wp".into(),
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn scripts() {
        let pw = Secret::new("it's a \\ secret");
        let gone: Ipv4Net = "10.0.9.0/24".parse().unwrap();
        insta::assert_snapshot!(
            "mysql_ensure",
            ensure_script(Engine::Mysql, &wp(&["10.0.4.0/24", "10.0.5.7/32"]), &pw, &[gone])
        );
        insta::assert_snapshot!("pg_ensure", ensure_script(Engine::Postgresql, &wp(&["10.0.4.0/24"]), &pw, &[]));
        insta::assert_snapshot!("mysql_drop", drop_script(Engine::Mysql, &wp(&["10.0.4.0/24"])));
        insta::assert_snapshot!("pg_drop", drop_script(Engine::Postgresql, &wp(&["10.0.4.0/24"])));
        insta::assert_snapshot!("pg_hba", pg_hba("pg1", [&wp(&["10.0.4.0/24", "10.0.5.0/24"])]));
    }

    /// Undoes [`literal`] the way each engine reads a literal.
    fn read_literal(engine: Engine, lit: &str) -> Option<String> {
        let inner = lit.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut it = inner.chars();
        while let Some(c) = it.next() {
            match c {
                '\'' => {
                    // Only a doubled quote may appear inside.
                    if it.next()? != '\'' {
                        return None;
                    }
                    out.push('\'');
                }
                '\\' if engine == Engine::Mysql => out.push(it.next()?),
                c => out.push(c),
            }
        }
        Some(out)
    }

    proptest! {
        #[test]
        fn literals_round_trip(s in "[^\\x00-\\x1f]{0,40}") {
            for engine in [Engine::Mysql, Engine::Postgresql] {
                let lit = literal(engine, &s);
                prop_assert_eq!(read_literal(engine, &lit), Some(s.clone()), "{}", lit);
            }
        }
    }
}
