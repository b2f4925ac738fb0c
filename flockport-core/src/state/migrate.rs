//! `state migrate --to consul|file`: moves the state between the file store
//! and the Consul store and switches the inventory's `[state]` to it.
//!
//! To Consul: the endpoints come from the state's own (`addep`); the store's
//! ACL token (policy `flockport-state-PREFIX`: write on the prefix's keys and
//! on sessions) is made with the management token and kept in a 0600 file
//! next to the inventory, or an existing one is used; the state goes in with a
//! check-and-set on an absent key. A Consul that already holds the same state
//! is fine (a second operator joins that way), a different one is refused.
//! The file is then moved aside (`.moved-to-consul`) so no stale copy looks
//! live. Run again when already on Consul, it refreshes the endpoint list.
//!
//! To a file: the Consul state (under its lock) is written to the
//! inventory's state path (refused if that file holds a different state),
//! then deleted from Consul (check-and-set) with a `moved` mark, so another
//! operator still on Consul gets an error saying where it went, never an
//! empty state.

use crate::cluster::{Applied, ApplyOptions, Cluster};
use crate::consul::{Call, ConsulClient};
use crate::error::{Error, Result};
use crate::inventory::{Inventory, StateBackend, StateConfig, StateEndpoint, StateSetting};
use crate::plan::Plan;
use crate::secrets::Secret;
use crate::state::consul::ConsulStateStore;
use crate::state::{FileStateStore, State, StateStore, StateTxn};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The token file `state migrate --to consul` makes, next to the inventory.
pub const DEFAULT_TOKEN_FILE: &str = "flockport-state.token";

/// What `state migrate` did (or would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct StateMove {
    /// The backend it came from: `file` or `consul`.
    pub source: String,
    /// The backend it is in now.
    pub target: String,
    /// Where it is now (`Consul KV flockport/state`, or the file's path).
    pub location: String,
    /// The Consul endpoints the inventory names (`SERVER/ADDRESS`).
    pub endpoints: Vec<String>,
    /// Whether the state was written (false: the target held it already).
    pub wrote: bool,
}

fn backend_name(b: StateBackend) -> &'static str {
    match b {
        StateBackend::File => "file",
        StateBackend::Consul => "consul",
    }
}

/// The endpoints of `state` as the `[state]` table names them.
fn endpoints_of(state: &State) -> Result<Vec<StateEndpoint>> {
    let eps: Vec<StateEndpoint> = state
        .eps
        .values()
        .map(|e| StateEndpoint { server: e.container.server.clone(), address: e.container.address })
        .collect();
    if eps.is_empty() {
        return Err(Error::invalid(
            "--to",
            "consul",
            "the cluster has no Consul endpoints to keep the state on: add them with `flockport addep SERVER` first",
        ));
    }
    Ok(eps)
}

impl Cluster {
    /// `state migrate --to consul|file`.
    pub async fn migrate_state(&mut self, to: &str, opts: ApplyOptions) -> Result<Applied<StateMove>> {
        let to = match to {
            "consul" => StateBackend::Consul,
            "file" => StateBackend::File,
            other => return Err(Error::invalid("--to", other, "use `consul` or `file`")),
        };
        let cfg = self.inventory().state_config();
        match to {
            StateBackend::Consul => self.move_to_consul(cfg, opts).await,
            StateBackend::File => self.move_to_file(cfg, opts).await,
        }
    }

    /// The inventory with `[state]` set to `cfg` (written only by
    /// [`Inventory::update`]).
    fn with_state(&self, cfg: StateConfig) -> Inventory {
        let mut inv = self.inventory().clone();
        inv.state = Some(StateSetting::Table(cfg));
        inv
    }

    async fn move_to_consul(&mut self, cfg: StateConfig, opts: ApplyOptions) -> Result<Applied<StateMove>> {
        let inv_path = self.inventory_path().to_path_buf();
        let file = self.inventory().state_path(&inv_path);
        let mut plan = Plan::new("state migrate --to consul");
        let from = backend_name(cfg.backend).to_string();
        // The source, locked: the file (held to the end), or Consul itself.
        let file_txn = match cfg.backend {
            StateBackend::File => Some(FileStateStore::new(&file).begin().await?),
            StateBackend::Consul => None,
        };
        let source = match &file_txn {
            Some(t) => t.state().clone(),
            None => self.state().await?,
        };
        let endpoints = endpoints_of(&source)?;
        let token_rel = cfg.token_file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_TOKEN_FILE));
        let token_path = crate::inventory::relative_to(&inv_path, &token_rel);
        let new_cfg = StateConfig {
            backend: StateBackend::Consul,
            endpoints: endpoints.clone(),
            token_file: Some(token_rel),
            ..cfg.clone()
        };
        let names: Vec<String> = endpoints.iter().map(|e| format!("{}/{}", e.server, e.address)).collect();
        let location = format!("Consul KV {}/state", new_cfg.prefix());
        let record = |wrote| StateMove {
            source: from.clone(),
            target: "consul".into(),
            location: location.clone(),
            endpoints: names.clone(),
            wrote,
        };
        if !token_path.exists() {
            plan.state_changes.push(format!(
                "make ACL policy {} and a token of it in {} (0600)",
                policy_name(new_cfg.prefix()),
                token_path.display()
            ));
        }
        if file_txn.is_some() {
            plan.state_changes.push(format!("write the state to {location} (through {})", names.join(", ")));
            plan.state_changes.push(format!("move {} aside to {}", file.display(), aside(&file).display()));
        }
        plan.state_changes.push(format!(
            "[state] in {}: backend consul, endpoints {}",
            inv_path.display(),
            names.join(", ")
        ));
        if opts.dry_run {
            return Ok(Applied { plan, executed: false, record: record(true) });
        }
        if !token_path.exists() {
            self.make_state_token(&endpoints, new_cfg.prefix(), &token_path).await?;
        }
        let inv = self.with_state(new_cfg.clone());
        inv.validate()?;
        let store = ConsulStateStore::open(&new_cfg, &inv, &inv_path, self.pool().clone())?;
        let mut wrote = false;
        if file_txn.is_some() {
            store.clear_moved().await?;
            let txn = store.lock().await?;
            if txn.index() == 0 {
                Box::new(txn).commit(source.clone()).await?;
                wrote = true;
            } else if txn.state() == &source {
                txn.release().await;
            } else {
                let held = txn.state().clone();
                txn.release().await;
                return Err(Error::StateConflict {
                    store: location,
                    reason: format!(
                        "it already holds a different state ({} containers, {} load balancers, {} endpoints; this \
                         inventory's has {}, {}, {}): nothing was changed; to join it, take the other operator's \
                         inventory `[state]` table and token file",
                        held.containers.len(),
                        held.lbs.len(),
                        held.eps.len(),
                        source.containers.len(),
                        source.lbs.len(),
                        source.eps.len()
                    ),
                });
            }
        }
        let (inv, ()) = Inventory::update(&inv_path, |i| {
            i.state = Some(StateSetting::Table(new_cfg.clone()));
            Ok(())
        })?;
        if file_txn.is_some() && file.exists() {
            std::fs::rename(&file, aside(&file)).map_err(|e| Error::io("moving aside", &file, e))?;
        }
        drop(file_txn);
        self.switch_store(inv, Arc::new(store));
        Ok(Applied { plan, executed: true, record: record(wrote) })
    }

    async fn move_to_file(&mut self, cfg: StateConfig, opts: ApplyOptions) -> Result<Applied<StateMove>> {
        let inv_path = self.inventory_path().to_path_buf();
        let file = self.inventory().state_path(&inv_path);
        if cfg.backend == StateBackend::File {
            return Err(Error::invalid(
                "--to",
                "file",
                format!("the state is in a file already ({}); nothing to move", file.display()),
            ));
        }
        let store = ConsulStateStore::open(&cfg, self.inventory(), &inv_path, self.pool().clone())?;
        let mut plan = Plan::new("state migrate --to file");
        plan.state_changes.push(format!("write {} to {}", store.describe(), file.display()));
        plan.state_changes.push(format!("delete {} (a `moved` mark says where it went)", store.describe()));
        plan.state_changes.push(format!("[state] in {}: backend file", inv_path.display()));
        let record = |wrote| StateMove {
            source: "consul".into(),
            target: "file".into(),
            location: file.display().to_string(),
            endpoints: Vec::new(),
            wrote,
        };
        let existing = match std::fs::read(&file) {
            Ok(b) => Some(FileStateStore::parse(&file, &b)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("reading", &file, e)),
        };
        if opts.dry_run {
            return Ok(Applied { plan, executed: false, record: record(true) });
        }
        let txn = store.lock().await?;
        let st = txn.state().clone();
        if existing.as_ref().is_some_and(|e| e != &st) {
            txn.release().await;
            return Err(Error::StateConflict {
                store: file.display().to_string(),
                reason: "the file already holds a different state: nothing was changed; move it aside and run again"
                    .into(),
            });
        }
        let file_txn = FileStateStore::new(&file).begin_blocking()?;
        file_txn.commit_blocking(st)?;
        let line = format!(
            "moved to a file by {}",
            crate::fsutil::holder_line().replace(" since unix time ", " at unix time ")
        );
        let index = txn.index();
        let deleted = store.move_out(&line, index).await;
        txn.release().await;
        if !deleted? {
            return Err(Error::StateConflict {
                store: store.describe(),
                reason: format!(
                    "it changed while it was moved out; {} holds the earlier state, Consul the newer: run again",
                    file.display()
                ),
            });
        }
        let (inv, ()) = Inventory::update(&inv_path, |i| {
            i.state = cfg.path.clone().map(StateSetting::Path);
            Ok(())
        })?;
        let store: Arc<dyn StateStore> = Arc::new(FileStateStore::new(&file));
        self.switch_store(inv, store);
        Ok(Applied { plan, executed: true, record: record(true) })
    }

    /// Makes the state store's ACL policy and token through the first
    /// endpoint that answers, with the management token, and writes the
    /// token to `path` (0600).
    async fn make_state_token(&self, endpoints: &[StateEndpoint], prefix: &str, path: &Path) -> Result<()> {
        let management = self.secrets().get(&["consul", "management"])?.ok_or_else(|| {
            Error::not_found(
                "Consul management token",
                "consul/management",
                "it is made by the first `flockport addep` and kept in flockport-secrets/ next to the state; copy it \
                 from the operator who added the endpoints, or give [state] token_file a token of yours",
            )
        })?;
        let mut last = None;
        for ep in endpoints {
            let server = self.server(&ep.server)?.clone();
            let client = match ConsulClient::connect(self.transport(&server)?, ep.address).await {
                Ok(c) => c,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let r = create_token(&client, &management, prefix).await;
            match client.finish(r).await {
                Ok(token) => return crate::fsutil::atomic_write(path, token.expose().as_bytes(), 0o600),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::invalid("[state] endpoints", "[]", "no endpoint to make the token on")))
    }
}

/// The file moved aside when the state went to Consul.
fn aside(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".moved-to-consul");
    PathBuf::from(p)
}

/// The ACL policy of the state store under `prefix`.
pub fn policy_name(prefix: &str) -> String {
    format!("flockport-state-{}", prefix.replace('/', "-"))
}

/// The policy's rules: write on `PREFIX/` keys and on sessions.
fn policy_rules(prefix: &str) -> String {
    // The prefix was checked (names separated by `/`): safe inside the quotes.
    format!("key_prefix \"{prefix}/\" {{ policy = \"write\" }}\nsession_prefix \"\" {{ policy = \"write\" }}\n")
}

/// Creates (or finds) the policy and a new token of it.
async fn create_token(client: &ConsulClient, management: &Secret, prefix: &str) -> Result<Secret> {
    use reqwest::Method;
    let name = policy_name(prefix);
    let at = client.target().to_string();
    let get = client
        .call(Call {
            token: Some(management),
            accept: &[403, 404],
            ..Call::new(Method::GET, &["acl", "policy", "name", &name])
        })
        .await?;
    if get.status != 200 {
        let body = serde_json::json!({
            "Name": name,
            "Description": "flockport's state store: its KV keys and lock sessions",
            "Rules": policy_rules(prefix),
        });
        client
            .call(Call {
                token: Some(management),
                body: Some(body.to_string().into_bytes()),
                ..Call::new(Method::PUT, &["acl", "policy"])
            })
            .await?;
    }
    let body = serde_json::json!({
        "Description": format!("flockport state store ({prefix}/)"),
        "Policies": [{"Name": name}],
    });
    let a = client
        .call(Call {
            token: Some(management),
            body: Some(body.to_string().into_bytes()),
            ..Call::new(Method::PUT, &["acl", "token"])
        })
        .await?;
    #[derive(serde::Deserialize)]
    struct Made {
        #[serde(rename = "SecretID")]
        secret: String,
    }
    let m: Made = a.json(&at, "PUT acl/token")?;
    Ok(Secret::new(m.secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_cover_the_prefix_and_sessions() {
        let r = policy_rules("teams/blue");
        assert!(r.contains("key_prefix \"teams/blue/\" { policy = \"write\" }"), "{r}");
        assert!(r.contains("session_prefix \"\" { policy = \"write\" }"), "{r}");
        assert_eq!(policy_name("teams/blue"), "flockport-state-teams-blue");
        assert_eq!(aside(Path::new("/x/s.json")), PathBuf::from("/x/s.json.moved-to-consul"));
    }
}
