//! Pure builders of a webserver's configs and steps (no I/O).
//!
//! Layout inside the container:
//! - `/etc/nginx/nginx.conf` includes `/etc/nginx/flockport/default.conf`
//!   (404 on 80, TLS handshakes refused on 443 for unknown names) and
//!   `/etc/nginx/flockport/apps/*.conf`, one file per app, so publishing or
//!   removing an app writes one file and never re-renders the others.
//! - `/etc/nginx/flockport/tls/FINGERPRINT.{crt,key}`: certificates by
//!   fingerprint (keys 0600).
//! - `/etc/nginx/flockport-next/`: the staged tree that `nginx -t` checks:
//!   its main config and default server (written by addws), and `apps/`
//!   holding only the app being published. An app's config cannot conflict
//!   with another's (its server_name is unique on the webserver, its
//!   upstream block is named by a digest of its URL, every app comes from
//!   the same template), so checking it alone with the default server is
//!   the check of the whole, and its cost does not grow with the number of
//!   apps. The reload then parses the whole tree; a reload that fails keeps
//!   the old workers, and the step fails when no new worker appears.

use super::spec::{App, WsRecord};
use crate::error::Result;
use crate::inventory::ServerConfig;
use crate::plan::{Content, Step};
use crate::service::container::{attach, push, tls_pair_steps, Activate, ConfigChange};
use crate::service::render::render;
use crate::service::TlsFiles;
use sha2::{Digest, Sha256};
use tera::Context;

/// The live config tree.
pub const LIVE: &str = "/etc/nginx/flockport";
/// The staged config tree that `nginx -t` checks.
pub const NEXT: &str = "/etc/nginx/flockport-next";
/// Where certificates and keys live, by fingerprint.
pub const TLS_DIR: &str = "/etc/nginx/flockport/tls";

/// Empties the staged apps directory `$1`.
pub const STAGE_NONE: &str = r#"rm -rf "$1" && mkdir -p "$1""#;

/// Stages one app: the staged apps directory `$1` holds only file `$2`,
/// written from stdin.
pub const STAGE_ONE: &str = r#"rm -rf "$1" && mkdir -p "$1" && cat > "$1/$2""#;

/// The TLS paths of a certificate fingerprint: (certificate, key).
pub fn tls_paths(fp: &str) -> (String, String) {
    (format!("{TLS_DIR}/{fp}.crt"), format!("{TLS_DIR}/{fp}.key"))
}

/// The file of an app under `root` (`LIVE` or `NEXT`).
pub fn app_file(root: &str, url: &str) -> String {
    format!("{root}/apps/{url}.conf")
}

/// (nginx.conf, default.conf) of webserver `name` whose tree is at `root`.
pub fn render_main(name: &str, root: &str) -> Result<(String, String)> {
    let mut c = Context::new();
    c.insert("name", name);
    c.insert("noun", "webserver");
    c.insert("workers", &None::<u32>);
    c.insert("includes", &[format!("{root}/default.conf"), format!("{root}/apps/*.conf")]);
    Ok((render("nginx.conf", &c)?, render("nginx-ws-default.conf", &c)?))
}

/// The config file of `app` on webserver `ws`.
pub fn render_app(ws: &str, app: &App) -> Result<String> {
    let mut c = Context::new();
    c.insert("name", ws);
    c.insert("url", &app.url);
    c.insert("shown", &app.upstream.to_string());
    // One upstream block per app; URLs are DNS names, so a digest keeps two
    // URLs that differ only in '-' and '.' apart.
    c.insert("upstream", &format!("app_{}", &hex::encode(Sha256::digest(app.url.as_bytes()))[..16]));
    c.insert("host", &app.upstream.host);
    c.insert("port", &app.upstream.port);
    let (crt, key) = match &app.tls {
        Some(t) => {
            let (c, k) = tls_paths(&t.fingerprint);
            (Some(c), Some(k))
        }
        None => (None, None),
    };
    c.insert("tls_cert", &crt);
    c.insert("tls_key", &key);
    render("nginx-app.conf", &c)
}

/// What a change does to the apps.
#[derive(Debug)]
pub enum AppChange<'a> {
    /// Nothing (addws: the first install).
    None,
    /// Publish this app (with its new TLS material, if any).
    Publish(&'a App, Option<&'a TlsFiles>),
    /// Remove the app with this URL.
    Remove(&'a str),
}

fn check_step(server: &ServerConfig, ws: &str) -> Step {
    let conf = format!("{NEXT}/nginx.conf");
    attach(server, ws, "check the new Nginx config".into(), &["nginx", "-t", "-q", "-c", &conf]).checks_config("nginx")
}

/// The steps that leave `rec` (the record after the change) in its
/// container: stage, `nginx -t`, swap, then a restart (`Activate::Restart`,
/// the first install) or a graceful reload.
pub fn config_steps(
    server: &ServerConfig,
    rec: &WsRecord,
    change: AppChange<'_>,
    activate: Activate,
) -> Result<Vec<Step>> {
    let ws = rec.container.name.as_str();
    let next_apps = format!("{NEXT}/apps");
    let mut tls = Vec::new();
    let mut stage = Vec::new();
    let mut swap = Vec::new();
    match change {
        AppChange::None => {
            // The staged tree's main config and default server, written once.
            let (next_main, next_default) = render_main(ws, NEXT)?;
            stage.push(push(server, ws, &format!("{NEXT}/nginx.conf"), 0o644, Content::text(next_main)));
            stage.push(push(server, ws, &format!("{NEXT}/default.conf"), 0o644, Content::text(next_default)));
            stage.push(attach(server, ws, "stage no app".into(), &["sh", "-c", STAGE_NONE, "sh", &next_apps]));
            let (main, default) = render_main(ws, LIVE)?;
            swap.push(attach(server, ws, "make the apps directory".into(), &["mkdir", "-p", &format!("{LIVE}/apps")]));
            swap.push(push(server, ws, &format!("{LIVE}/default.conf"), 0o644, Content::text(default)));
            swap.push(push(server, ws, "/etc/nginx/nginx.conf", 0o644, Content::text(main)));
        }
        AppChange::Publish(app, files) => {
            if let Some(t) = files {
                let (crt, key) = tls_paths(&t.fingerprint);
                tls.extend(tls_pair_steps(server, ws, &crt, &key, t));
            }
            let text = render_app(ws, app)?;
            let file = format!("{}.conf", app.url);
            stage.push(Step::run_with_stdin(
                &server.name,
                format!("stage app {}", app.url),
                crate::lxc::attach_argv(
                    server,
                    ws,
                    &["sh".into(), "-c".into(), STAGE_ONE.into(), "sh".into(), next_apps.clone(), file],
                ),
                Content::text(text.clone()),
            ));
            swap.push(push(server, ws, &app_file(LIVE, &app.url), 0o644, Content::text(text)));
        }
        AppChange::Remove(url) => {
            stage.push(attach(server, ws, "stage no app".into(), &["sh", "-c", STAGE_NONE, "sh", &next_apps]));
            swap.push(attach(server, ws, format!("remove app {url}"), &["rm", "-f", &app_file(LIVE, url)]));
        }
    }
    let keep: Vec<String> = rec.apps.values().filter_map(|a| a.tls.as_ref().map(|t| t.fingerprint.clone())).collect();
    let had_tls = matches!(change, AppChange::Publish(_, Some(_)) | AppChange::Remove(_));
    Ok(ConfigChange {
        server,
        container: ws,
        tls,
        stage,
        check: check_step(server, ws),
        swap,
        unit: NGINX_UNIT,
        activate,
        // Certificates no app uses any more go once the new config is live.
        tls_keep: had_tls.then(|| (TLS_DIR.to_string(), keep)),
    }
    .steps())
}

/// Rollback of a publish: the app's live file removed, Nginx reloaded (a
/// no-op for a change that failed before its swap).
pub fn unpublish_rollback(server: &ServerConfig, ws: &str, url: &str) -> Vec<Step> {
    vec![
        attach(server, ws, format!("take app {url} back out"), &["rm", "-f", &app_file(LIVE, url)]),
        reload(server, ws),
    ]
}

/// Rollback of a removal: the app's file put back, Nginx reloaded.
pub fn republish_rollback(server: &ServerConfig, ws: &str, app: &App) -> Result<Vec<Step>> {
    Ok(vec![
        push(server, ws, &app_file(LIVE, &app.url), 0o644, Content::text(render_app(ws, app)?)),
        reload(server, ws),
    ])
}

/// The Nginx unit of a webserver: unit, pid file, reload signal.
pub const NGINX_UNIT: (&str, &str, &str) = ("nginx", "/run/nginx.pid", "HUP");

fn reload(server: &ServerConfig, ws: &str) -> Step {
    crate::service::container::reload_step(server, ws, NGINX_UNIT)
}
