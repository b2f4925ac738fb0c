//! Pure builders of a database instance's steps (no I/O): the engine's
//! server config at creation, SQL scripts run by the engine's own client in
//! the container (secrets on stdin only), PostgreSQL's `pg_hba.conf` change
//! (staged, checked by PostgreSQL, reloaded, awaited), and the one-command
//! probe `listdbs` runs.

use super::spec::{DbRecord, Engine, PG_MAJOR};
use super::sql;
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};
use crate::service::container::{attach, push, Activate, ConfigChange};

/// PostgreSQL's config directory in the container.
pub fn pg_dir() -> String {
    format!("/etc/postgresql/{PG_MAJOR}/main")
}

/// MariaDB's config file of flockport.
pub const MYSQL_CNF: &str = "/etc/mysql/mariadb.conf.d/90-flockport.cnf";

/// The argv (in the container) of the engine's client as its administrator,
/// reading a script on stdin and stopping at the first error.
pub fn client_argv(engine: Engine) -> Vec<&'static str> {
    match engine {
        Engine::Mysql => vec!["mariadb", "--batch", "--skip-column-names"],
        // From `/`: psql warns when it cannot enter root's working directory.
        Engine::Postgresql => {
            vec!["sh", "-c", "cd / && exec runuser -u postgres -- psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres"]
        }
    }
}

/// Runs `script` (SQL) in instance `rec` as the administrator. A script
/// holding a password is sent as a secret (never shown, never in argv).
pub fn sql_step(server: &ServerConfig, rec: &DbRecord, description: String, script: String, secret: bool) -> Step {
    let argv: Vec<String> = client_argv(rec.engine).iter().map(|s| s.to_string()).collect();
    let argv = crate::lxc::attach_argv(server, &rec.container.name, &argv);
    let content = if secret { Content::secret(script.into_bytes()) } else { Content::text(script) };
    Step::run_with_stdin(&server.name, description, argv, content)
}

/// Installs `$2` (staged) as PostgreSQL's `pg_hba.conf` `$1`, keeping its
/// owner and mode, and asks PostgreSQL to parse it (`pg_hba_file_rules`);
/// on any error the previous file is put back and the step fails with
/// PostgreSQL's words. PostgreSQL reads the file only when it reloads, so
/// the file in place between the two does not change who may log in.
pub const PG_HBA_INSTALL_CHECKED: &str = r#"cd / || exit 1; live=$1; next=$2; prev=$live.flockport-prev
cp -p "$live" "$prev" || exit 1
chown --reference="$prev" "$next" && chmod --reference="$prev" "$next" && mv -f "$next" "$live" || { rm -f "$prev"; exit 1; }
bad=$(runuser -u postgres -- psql -X -q -A -t -d postgres -c "SELECT 'line ' || line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL" 2>&1); rc=$?
if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then mv -f "$prev" "$live"; echo "PostgreSQL rejects the new pg_hba.conf: $bad" >&2; exit 1; fi
rm -f "$prev""#;

/// Asks PostgreSQL to reload its config and returns once a new session sees
/// the new load time (the postmaster has read pg_hba.conf again), at most 10 s.
pub const PG_RELOAD_AND_WAIT: &str = r#"cd / || exit 1
q() { runuser -u postgres -- psql -X -q -A -t -d postgres "$@"; }
t0=$(q -c "SELECT pg_conf_load_time()") || exit 1
q -c "SELECT pg_reload_conf()" >/dev/null || exit 1
i=0
while [ "$i" -lt 500 ]; do
  t=$(printf '%s\n' "SELECT pg_conf_load_time() > :'t0'::timestamptz" | q -v t0="$t0") || exit 1
  [ "$t" = t ] && exit 0
  sleep 0.02; i=$((i+1))
done
echo "PostgreSQL did not load its new configuration within 10 s" >&2; exit 1"#;

/// The steps that make PostgreSQL's `pg_hba.conf` what `rec` says: staged,
/// checked by PostgreSQL (put back if rejected), reload awaited.
pub fn pg_hba_steps(server: &ServerConfig, rec: &DbRecord) -> Vec<Step> {
    let name = rec.container.name.as_str();
    let live = format!("{}/pg_hba.conf", pg_dir());
    let next = format!("{live}.flockport-next");
    let change = ConfigChange {
        server,
        container: name,
        tls: Vec::new(),
        stage: vec![push(server, name, &next, 0o640, Content::text(sql::pg_hba(name, rec.databases.values())))],
        check: attach(
            server,
            name,
            "install pg_hba.conf, checked by PostgreSQL (the previous one is put back if rejected)".into(),
            &["sh", "-c", PG_HBA_INSTALL_CHECKED, "sh", &live, &next],
        )
        .checks_config("postgresql"),
        swap: Vec::new(),
        unit: ("postgresql", "", ""),
        // PostgreSQL reloads in place (no new workers to wait for): its own
        // reload, awaited by the configuration's load time.
        activate: Activate::WriteOnly,
        after: vec![attach(
            server,
            name,
            "reload PostgreSQL's access rules and wait until it has".into(),
            &["sh", "-c", PG_RELOAD_AND_WAIT],
        )],
        tls_keep: None,
    };
    change.steps()
}

/// The engine's server config of a new instance, then a restart with it.
pub fn setup_steps(server: &ServerConfig, rec: &DbRecord) -> Vec<Step> {
    let (name, addr) = (rec.container.name.as_str(), rec.container.address);
    let unit = rec.engine.unit();
    let mut steps = match rec.engine {
        Engine::Mysql => vec![push(server, name, MYSQL_CNF, 0o644, Content::text(sql::mysql_server_cnf(name, addr)))],
        Engine::Postgresql => vec![
            push(
                server,
                name,
                &format!("{}/conf.d/90-flockport.conf", pg_dir()),
                0o644,
                Content::text(sql::pg_conf(name, addr)),
            ),
            push(server, name, &format!("{}/pg_hba.conf", pg_dir()), 0o640, Content::text(sql::pg_hba(name, []))),
            attach(
                server,
                name,
                "pg_hba.conf readable by PostgreSQL only".into(),
                &["chown", "postgres:postgres", &format!("{}/pg_hba.conf", pg_dir())],
            ),
        ],
    };
    steps.push(attach(
        server,
        name,
        format!("restart {} listening on {addr}:{}", rec.engine, rec.port),
        &["systemctl", "restart", &unit],
    ));
    steps
}

/// What `listdbs` runs in an instance (one command): the engine's version
/// and each database's size from its own client, then whether the port
/// answers at the container's address. Lines: `version V`, `size DB BYTES`,
/// `tcp UP|DOWN`.
pub fn probe_argv(rec: &DbRecord) -> Vec<String> {
    let query = match rec.engine {
        Engine::Mysql => {
            r#"mariadb --batch --skip-column-names -e "SELECT CONCAT('version ', VERSION()); SELECT CONCAT('size ', s.schema_name, ' ', COALESCE(SUM(t.data_length + t.index_length), 0)) FROM information_schema.schemata s LEFT JOIN information_schema.tables t ON t.table_schema = s.schema_name GROUP BY s.schema_name""#
        }
        Engine::Postgresql => {
            r#"cd / && runuser -u postgres -- psql -X -q -A -t -d postgres -c "SELECT 'version ' || current_setting('server_version')" -c "SELECT 'size ' || datname || ' ' || pg_database_size(datname) FROM pg_database WHERE NOT datistemplate""#
        }
    };
    let script = format!(
        r#"{query}; if timeout 2 bash -c ": </dev/tcp/$1/$2" 2>/dev/null; then echo "tcp UP"; else echo "tcp DOWN"; fi"#
    );
    vec!["bash".into(), "-c".into(), script, "bash".into(), rec.container.address.to_string(), rec.port.to_string()]
}
