//! Databases: MySQL (MariaDB) and PostgreSQL instances across the cluster,
//! each in its own service container, holding databases each owned by one
//! user who may log in from given address ranges only; every verb of
//! Flockport's "Databases" section (adddb/addb, listdbs, deldb; `pub` and
//! `unpub` are the shared ones of `service/`).
//!
//! An instance is a service container (`service/`): provisioned the way
//! every family is. What is its own: users and databases made by SQL that
//! the engine's client runs in the container (idempotent scripts, see
//! [`sql`]), access by range (MariaDB accounts per range; PostgreSQL
//! `pg_hba.conf` lines, checked by PostgreSQL before it reloads them), and
//! passwords that are secrets everywhere: generated from a CSPRNG or given,
//! kept in 0600 files on this machine ([`crate::secrets`]), sent to the
//! container only on a step's stdin.

pub mod spec;
pub mod sql;
pub mod steps;

pub use spec::{Database, DbAdded, DbInfo, DbRecord, DbSpec, Engine};

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::error::{Error, Result};
use crate::lxc;
use crate::names;
use crate::plan::{NoProgress, Plan, Progress};
use crate::secrets::{Secret, SecretStore};
use crate::service::container::{removal_steps, ProvisionSpec};
use crate::service::Family;
use crate::state::State;
use crate::transport::Transport;
use ipnet::Ipv4Net;
use spec::{check_ident, check_password, parse_allowed, GENERATED_PASSWORD_LEN};

fn find_db<'a>(state: &'a State, name: &str) -> Result<&'a DbRecord> {
    crate::state::find(&state.dbs, "database instance", name, "flockport adddb mysql|postgresql SERVER USER DATABASE")
}

fn find_database<'a>(rec: &'a DbRecord, database: &str) -> Result<&'a Database> {
    rec.databases.get(database).ok_or_else(|| {
        let have: Vec<&str> = rec.databases.keys().map(String::as_str).collect();
        Error::not_found(
            "database",
            database,
            format!(
                "{} holds: {}",
                rec.container.name,
                if have.is_empty() { "no database".into() } else { have.join(", ") }
            ),
        )
    })
}

/// The secret key of `user`'s password on `instance`.
fn password_key<'a>(instance: &'a str, user: &'a str) -> [&'a str; 3] {
    ["db", instance, user]
}

impl Cluster {
    /// Where this cluster keeps secrets: beside its state file.
    pub(crate) fn secrets(&self) -> SecretStore {
        SecretStore::beside(&self.inventory().state_path(self.inventory_path()))
    }

    /// `adddb mysql|postgresql SERVER USER DATABASE [-n NAME] [-a CIDR,...]
    /// [-p PASSWORD]`: a new instance on SERVER (or the existing instance
    /// `-n`), with USER owning DATABASE, reachable from the allowed ranges
    /// (default: the server's container subnet). Idempotent: the same
    /// settings again change nothing; a changed `-a` or `-p` changes exactly
    /// that.
    pub async fn add_db(&self, spec: DbSpec, opts: ApplyOptions, progress: &dyn Progress) -> Result<Applied<DbAdded>> {
        let engine = Engine::parse(&spec.engine)?;
        let server = self.server(&spec.server)?.clone();
        check_ident(engine, "user", &spec.user)?;
        check_ident(engine, "database", &spec.database)?;
        if let Some(n) = &spec.name {
            names::check_name("database instance", n)?;
        }
        let allowed = if spec.allowed.is_empty() { None } else { Some(parse_allowed(&spec.allowed)?) };
        if let Some(p) = &spec.password {
            check_password(p)?;
        }
        let txn = self.store().begin().await?;
        let state = txn.state().clone();
        let existing = match &spec.name {
            Some(n) => state.dbs.get(n).cloned(),
            None => None,
        };
        if let Some(rec) = &existing {
            check_joins(rec, engine, &server.name, &spec)?;
        }
        let store = self.secrets();
        let before = existing.as_ref().and_then(|r| r.databases.get(&spec.database)).cloned();
        let instance_name_given = spec.name.clone();

        // The user's ranges and password after the change.
        let ranges: Vec<Ipv4Net> = match (&allowed, &before) {
            (Some(a), _) => a.clone(),
            (None, Some(b)) => sql::ranges(b),
            (None, None) => vec![server.subnet],
        };
        let db = Database {
            name: spec.database.clone(),
            user: spec.user.clone(),
            allowed: ranges.iter().map(|n| n.to_string()).collect(),
        };
        let mut changes = Vec::new();
        let mut generated = false;
        let stored = match (&existing, &before) {
            (Some(rec), Some(_)) => store.get(&password_key(&rec.container.name, &spec.user))?,
            _ => None,
        };
        let password = match (&spec.password, &before, &stored) {
            (Some(p), Some(_), Some(old)) => {
                if p != old {
                    changes.push("password".to_string());
                }
                p.clone()
            }
            (Some(p), Some(_), None) => {
                changes.push("password".to_string());
                p.clone()
            }
            (None, Some(_), Some(old)) => old.clone(),
            (None, Some(_), None) => {
                let path = store.path(&password_key(spec.name.as_deref().unwrap_or_default(), &spec.user))?;
                return Err(Error::invalid(
                    "password",
                    "<secret>",
                    format!(
                        "no password of user {} is kept in {}; give it (or a new one) with -p",
                        spec.user,
                        path.display()
                    ),
                ));
            }
            (Some(p), None, _) => p.clone(),
            (None, None, _) => {
                generated = true;
                Secret::generate(GENERATED_PASSWORD_LEN)?
            }
        };
        let dropped: Vec<Ipv4Net> = match &before {
            Some(b) => sql::ranges(b).into_iter().filter(|n| !ranges.contains(n)).collect(),
            None => Vec::new(),
        };
        if let Some(b) = &before {
            if b.allowed != db.allowed {
                changes.push(format!("allowed ranges {} -> {}", b.allowed.join(","), db.allowed.join(",")));
            }
        }

        let mut counters = None;
        let (mut plan, mut rec) = match existing {
            Some(rec) => (Plan::new(String::new()), rec),
            None => {
                let facts = self.probe_for(&[&server.name]).await?;
                let pspec = ProvisionSpec {
                    family: Family::Db,
                    kind: "database instance",
                    server: &server,
                    name: instance_name_given.as_deref(),
                    prefix: engine.prefix(),
                    packages: engine.packages(),
                    role: format!("{engine}-db"),
                    address: None,
                };
                let (mut plan, container, st) = self.plan_service_container(&pspec, &state, &facts)?;
                counters = Some(st.counters);
                let rec = DbRecord { container, engine, port: engine.port(), databases: Default::default() };
                // (A failed creation leaves no container behind: the provisioning
                // plan's rollback destroys it, so a retry starts clean.)
                plan.steps.extend(steps::setup_steps(&server, &rec));
                changes.push(format!("created {engine} instance {}", rec.container.name));
                (plan, rec)
            }
        };
        let name = rec.container.name.clone();
        plan.operation = format!("adddb {engine} {} {} {} -n {name}", server.name, spec.user, spec.database);
        if before.is_none() {
            changes.push(format!("created user {} owning database {}", spec.user, spec.database));
        }
        rec.databases.insert(db.name.clone(), db.clone());
        let key = password_key(&name, &spec.user);
        let password_file = store.path(&key)?.display().to_string();
        let added = DbAdded {
            instance: rec.clone(),
            database: spec.database.clone(),
            changes: changes.clone(),
            generated_password: generated,
            password_file,
        };
        if changes.is_empty() {
            // Nothing to do: no server is contacted, nothing is written.
            plan.state_changes
                .push(format!("nothing to change: {name} already has {} owned by {} as given", db.name, db.user));
            return Ok(Applied { plan, executed: !opts.dry_run, record: added });
        }
        plan.steps.push(steps::sql_step(
            &server,
            &rec,
            format!(
                "make user {} (password on stdin) own database {} from {}",
                db.user,
                db.name,
                db.allowed.join(", ")
            ),
            sql::ensure_script(engine, &db, &password, &dropped),
            true,
        ));
        if engine == Engine::Postgresql {
            plan.steps.extend(steps::pg_hba_steps(&server, &rec));
        }
        plan.state_changes.extend(changes.iter().map(|c| format!("{name}: {c}")));
        let record = rec.clone();
        let write_secret = before.is_none() || changes.iter().any(|c| c == "password");
        self.finish(plan, txn, added, opts, progress, |st| {
            // Between the change on the server and the state commit: a
            // password the server has is kept before the state names it.
            if write_secret {
                store.put(&key, &password)?;
            }
            if let Some(c) = counters {
                st.counters = c;
            }
            st.dbs.insert(record.container.name.clone(), record);
            Ok(())
        })
        .await
    }

    /// `listdbs`: every instance with what it says now (version, sizes,
    /// whether it answers), servers in parallel.
    pub async fn dbs(&self) -> Result<Vec<DbInfo>> {
        let state = self.store().load().await?;
        let futs = state.dbs.values().map(|rec| async move {
            match self.db_probe(rec).await {
                Ok((version, sizes, tcp_up)) => {
                    DbInfo { instance: rec.clone(), answers: version.is_some() && tcp_up, version, sizes, error: None }
                }
                Err(e) => {
                    tracing::debug!(db = %rec.container.name, error = %e, "instance not read");
                    DbInfo {
                        instance: rec.clone(),
                        answers: false,
                        version: None,
                        sizes: Default::default(),
                        error: Some(e.to_string()),
                    }
                }
            }
        });
        Ok(futures::future::join_all(futs).await)
    }

    async fn db_probe(
        &self,
        rec: &DbRecord,
    ) -> Result<(Option<String>, std::collections::BTreeMap<String, u64>, bool)> {
        let server = self.server(&rec.container.server)?.clone();
        let t = self.transport(&server)?;
        let t: &dyn Transport = t.as_ref();
        let argv = steps::probe_argv(rec);
        let out = lxc::exec(t, &server, &rec.container.name, &argv).await?.check(&server.name, &argv)?;
        Ok(probe_answer(rec, &out.stdout_str()))
    }

    /// `listdbs --show-password INSTANCE DATABASE`: the password of the user
    /// owning DATABASE, read from its 0600 file on this machine.
    pub fn db_password(&self, instance: &str, database: &str) -> Result<Secret> {
        let state = self.state_blocking()?;
        let rec = find_db(&state, instance)?;
        let db = find_database(rec, database)?;
        let store = self.secrets();
        let key = password_key(instance, &db.user);
        store.get(&key)?.ok_or_else(|| {
            let path = store.path(&key).map(|p| p.display().to_string()).unwrap_or_default();
            Error::not_found(
                "password",
                format!("{instance}/{database}"),
                format!("{path} is missing; set a new one with `flockport adddb ... -n {instance} -p PASSWORD`"),
            )
        })
    }

    /// `deldb INSTANCE DATABASE`: drops the database and its user (access
    /// first, then the data); `deldb INSTANCE`: removes the instance: its
    /// forwards, its container, its state and its passwords.
    pub async fn del_db(
        &self,
        instance: &str,
        database: Option<&str>,
        opts: ApplyOptions,
    ) -> Result<Applied<DbRecord>> {
        names::check_name("database instance", instance)?;
        let txn = self.store().begin().await?;
        let rec = find_db(txn.state(), instance)?.clone();
        let server = self.server(&rec.container.server)?.clone();
        let store = self.secrets();
        let Some(database) = database else {
            let mut plan = Plan::new(format!("deldb {instance}"));
            plan.steps = removal_steps(&server, &rec.container);
            plan.state_changes.push(format!(
                "remove {} instance {instance}, its {} database(s) and its container",
                rec.engine,
                rec.databases.len()
            ));
            return self
                .finish(plan, txn, rec, opts, &NoProgress, |st| {
                    st.dbs.remove(instance);
                    store.remove(&["db", instance])
                })
                .await;
        };
        let db = find_database(&rec, database)?.clone();
        let mut next = rec.clone();
        next.databases.remove(database);
        let mut plan = Plan::new(format!("deldb {instance} {database}"));
        if rec.engine == Engine::Postgresql {
            plan.steps.extend(steps::pg_hba_steps(&server, &next));
        }
        plan.steps.push(steps::sql_step(
            &server,
            &rec,
            format!("drop database {} and user {}", db.name, db.user),
            sql::drop_script(rec.engine, &db),
            false,
        ));
        plan.state_changes.push(format!("{instance}: drop database {} and user {}", db.name, db.user));
        let record = next.clone();
        self.finish(plan, txn, next, opts, &NoProgress, |st| {
            st.dbs.insert(instance.to_string(), record);
            store.remove(&password_key(instance, &db.user))
        })
        .await
    }
}

/// Checks that `spec` may join existing instance `rec`: same engine, same
/// server, and a user that owns no other database there (one user per
/// database), a database owned by no other user.
fn check_joins(rec: &DbRecord, engine: Engine, server: &str, spec: &DbSpec) -> Result<()> {
    let n = &rec.container.name;
    if rec.engine != engine {
        return Err(Error::invalid(
            "database instance",
            n.as_str(),
            format!("it is a {} instance, not {engine}; give `{}` or pick another -n", rec.engine, rec.engine),
        ));
    }
    if rec.container.server != server {
        return Err(Error::invalid(
            "server",
            server,
            format!("instance {n} runs on {}; give {} or pick another -n", rec.container.server, rec.container.server),
        ));
    }
    if let Some(d) = rec.databases.values().find(|d| d.user == spec.user && d.name != spec.database) {
        return Err(Error::exists(
            "user",
            spec.user.as_str(),
            format!("it owns database {} on {n}; each user owns one database: pick another user", d.name),
        ));
    }
    if let Some(d) = rec.databases.get(&spec.database).filter(|d| d.user != spec.user) {
        return Err(Error::exists(
            "database",
            spec.database.as_str(),
            format!("user {} owns it on {n}; pick another database name", d.user),
        ));
    }
    Ok(())
}

/// What [`steps::probe_argv`] printed: the engine's version, each
/// database's size, whether its port takes TCP connections.
pub(crate) fn probe_answer(
    rec: &DbRecord,
    text: &str,
) -> (Option<String>, std::collections::BTreeMap<String, u64>, bool) {
    let mut version = None;
    let mut sizes = std::collections::BTreeMap::new();
    let mut up = false;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("version ") {
            version = Some(v.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("size ") {
            if let Some((db, n)) = rest.rsplit_once(' ') {
                if rec.databases.contains_key(db) {
                    sizes.insert(db.to_string(), n.trim().parse().unwrap_or(0));
                }
            }
        } else if line.trim() == "tcp UP" {
            up = true;
        }
    }
    (version, sizes, up)
}

#[cfg(test)]
mod tests;
