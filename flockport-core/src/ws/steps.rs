//! Pure builders of a webserver's configs and steps (no I/O).
//!
//! Two Nginx instances run in a webserver's container:
//! - The front (`nginx.service`, `/etc/nginx/nginx.conf`, written by addws
//!   only, never reloaded by pubapp or delapp) holds the clients'
//!   connections on 80 and 443, terminates TLS with the certificate of the
//!   name the client asks for (`SNI_DIR/NAME.crt`/`.key`, symlinks to the
//!   files by fingerprint, read at the handshake: a name without them is
//!   refused) and passes every request over a unix socket per scheme to the
//!   back, through a pool of keep-alive connections. A reload of the back
//!   closes its old workers' idle connections; a request sent on one at that
//!   moment fails before any answer, and the front sends it again on another
//!   connection (Nginx does not count the failure of a cached connection as
//!   a try), so no client connection is ever closed by a change.
//! - The back (`nginx-back.service`, [`BACK_UNIT`]) serves the apps:
//!   `LIVE/nginx.conf` includes `LIVE/default.conf` (404 for names no app
//!   serves) and `LIVE/apps/*.conf`, one file per app, so publishing or
//!   removing an app writes one file and never re-renders the others. It
//!   listens on the unix sockets only; the client's address comes from the
//!   front's X-Forwarded-For (realip).
//! - `LIVE/tls/FINGERPRINT.{crt,key}`: certificates by fingerprint, in a
//!   0700 directory of www-data (the front's workers read them), keys 0600
//!   owned by www-data.
//! - `NEXT`: the staged tree that `nginx -t` checks: the back's main config
//!   and default server (written by addws), and `apps/` holding only the app
//!   being published. An app's config cannot conflict with another's (its
//!   server_name is unique on the webserver, its upstream block is named by
//!   a digest of its URL, every app comes from the same template), so
//!   checking it alone with the default server is the check of the whole,
//!   and its cost does not grow with the number of apps. The reload then
//!   parses the whole tree; a reload that fails keeps the old workers, and
//!   the step fails when no new worker appears.

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
/// Where the front finds the certificate and key of a name: `NAME.crt` and
/// `NAME.key`, symlinks into [`TLS_DIR`].
pub const SNI_DIR: &str = "/etc/nginx/flockport/sni";
/// The user of Nginx's workers (Debian's), who reads the keys.
pub const WORKER_USER: &str = "www-data";
/// The directory of the back's sockets (its unit's RuntimeDirectory).
pub const SOCKET_DIR: &str = "/run/nginx-back";
/// The back's socket for plain HTTP requests.
pub const HTTP_SOCKET: &str = "/run/nginx-back/http.sock";
/// The back's socket for requests that came over TLS (terminated by the front).
pub const HTTPS_SOCKET: &str = "/run/nginx-back/https.sock";
/// The back's systemd unit file.
pub const BACK_UNIT_FILE: &str = "/etc/systemd/system/nginx-back.service";
/// The front: Debian's Nginx unit, its pid file (reloaded by addws only).
pub const FRONT_UNIT: &str = "nginx";
/// The back (the apps): unit, pid file, reload signal.
pub const BACK_UNIT: (&str, &str, &str) = ("nginx-back", "/run/nginx-back.pid", "HUP");

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

fn context(name: &str) -> Context {
    let mut c = Context::new();
    c.insert("name", name);
    c.insert("http_socket", HTTP_SOCKET);
    c.insert("https_socket", HTTPS_SOCKET);
    c.insert("sni_dir", SNI_DIR);
    c
}

/// The back's (nginx.conf, default.conf) of webserver `name` whose tree is
/// at `root`.
pub fn render_main(name: &str, root: &str) -> Result<(String, String)> {
    let mut c = context(name);
    c.insert("noun", "the apps (back Nginx) of webserver");
    c.insert("workers", &None::<u32>);
    c.insert("pid", BACK_UNIT.1);
    // The front logs every request.
    c.insert("access_log", "off");
    c.insert("error_log", "/var/log/nginx/back-error.log");
    c.insert("includes", &[format!("{root}/default.conf"), format!("{root}/apps/*.conf")]);
    Ok((render("nginx.conf", &c)?, render("nginx-ws-default.conf", &c)?))
}

/// The front's config (`/etc/nginx/nginx.conf`) of webserver `name`.
pub fn render_front(name: &str) -> Result<String> {
    render("nginx-ws-front.conf", &context(name))
}

/// The back's systemd unit of webserver `name`.
pub fn render_back_unit(name: &str) -> Result<String> {
    let mut c = context(name);
    c.insert("pid", BACK_UNIT.1);
    c.insert("conf", &format!("{LIVE}/nginx.conf"));
    c.insert("runtime_dir", SOCKET_DIR.trim_start_matches("/run/"));
    render("nginx-ws-back.service", &c)
}

/// The config file of `app` on webserver `ws`. An upstream in Consul's
/// domain is resolved at each request (answers kept 1 s) through the
/// forwarder of the webserver's server at `gateway`, so its instances are
/// followed with no reload.
pub fn render_app(ws: &str, app: &App, gateway: std::net::Ipv4Addr) -> Result<String> {
    let mut c = context(ws);
    c.insert("consul", &app.upstream.host.ends_with(".consul"));
    c.insert("resolver", &gateway.to_string());
    c.insert("url", &app.url);
    c.insert("shown", &app.upstream.to_string());
    // One upstream block per app; URLs are DNS names, so a digest keeps two
    // URLs that differ only in '-' and '.' apart.
    c.insert("upstream", &format!("app_{}", &hex::encode(Sha256::digest(app.url.as_bytes()))[..16]));
    c.insert("host", &app.upstream.host);
    c.insert("port", &app.upstream.port);
    c.insert("tls", &app.tls.as_ref().map(|t| t.fingerprint.as_str()));
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

/// Makes the directories (addws): the live tree `$1` and its `apps/` 0755,
/// the names' links `SNI_DIR` (`$3`) 0755, the certificates' directory
/// `TLS_DIR` (`$2`) 0700 of the workers' user `$4` (they read the keys), and
/// the back's socket directory `$5` (its unit makes it at each start; `nginx
/// -t` binds the sockets, so the first check needs it too).
pub const MAKE_DIRS: &str = r#"install -d -m 0755 "$1" "$1/apps" "$3" "$5" && install -d -m 0700 -o "$4" -g "$4" "$2""#;

/// Points name `$3`'s certificate and key in directory `$1` at the files of
/// fingerprint `$2` (`../tls/$2.crt`, `.key`): each link made aside and
/// renamed over, key first, so a handshake sees a whole pair or none.
pub const LINK_NAME: &str = r#"cd "$1" || exit 1; for e in key crt; do ln -sfn "../tls/$2.$e" ".$3.$e.new" && mv -Tf ".$3.$e.new" "$3.$e" || exit 1; done"#;

/// Checks the staged back config `$1`, then the front config `$2` (addws).
pub const CHECK_BOTH: &str = r#"nginx -t -q -c "$1" && nginx -t -q -c "$2""#;

fn check_step(server: &ServerConfig, ws: &str, first: bool) -> Step {
    let back = format!("{NEXT}/nginx.conf");
    let step = if first {
        let front = format!("{NEXT}/front.conf");
        attach(
            server,
            ws,
            "check the new Nginx configs (back, front)".into(),
            &["sh", "-c", CHECK_BOTH, "sh", &back, &front],
        )
    } else {
        attach(server, ws, "check the new Nginx config".into(), &["nginx", "-t", "-q", "-c", &back])
    };
    step.checks_config("nginx")
}

/// Makes `url` answer on 443 with the pair of fingerprint `fp`: the front
/// reads it at the next handshake for that name, no reload. Named in lower
/// case, as clients send the name (host names are case-insensitive; the
/// front takes only lower-case names).
fn link_name(server: &ServerConfig, ws: &str, url: &str, fp: &str) -> Step {
    let name = url.to_ascii_lowercase();
    attach(server, ws, format!("serve {url}'s certificate"), &["sh", "-c", LINK_NAME, "sh", SNI_DIR, fp, &name])
}

/// Takes `url`'s certificate away from the front: its handshakes are refused.
fn unlink_name(server: &ServerConfig, ws: &str, url: &str) -> Step {
    let name = url.to_ascii_lowercase();
    let (crt, key) = (format!("{SNI_DIR}/{name}.crt"), format!("{SNI_DIR}/{name}.key"));
    attach(server, ws, format!("stop serving {url}'s certificate"), &["rm", "-f", &crt, &key])
}

/// The steps that leave `rec` (the record after the change) in its
/// container: stage, `nginx -t`, swap, then the back's graceful reload (or,
/// the first install, `Activate::Restart`: the back, then the front, started
/// with their configs). A TLS app's name reaches the front once the back
/// serves it, and leaves it before the back stops serving it.
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
    let mut after = Vec::new();
    let first = matches!(change, AppChange::None);
    match change {
        AppChange::None => {
            stage.push(attach(
                server,
                ws,
                "make the config directories".into(),
                &["sh", "-c", MAKE_DIRS, "sh", LIVE, TLS_DIR, SNI_DIR, WORKER_USER, SOCKET_DIR],
            ));
            // The staged tree's main config and default server, written once;
            // the front's config, staged to be checked.
            let (next_main, next_default) = render_main(ws, NEXT)?;
            let front = render_front(ws)?;
            stage.push(push(server, ws, &format!("{NEXT}/nginx.conf"), 0o644, Content::text(next_main)));
            stage.push(push(server, ws, &format!("{NEXT}/default.conf"), 0o644, Content::text(next_default)));
            stage.push(push(server, ws, &format!("{NEXT}/front.conf"), 0o644, Content::text(front.clone())));
            stage.push(attach(server, ws, "stage no app".into(), &["sh", "-c", STAGE_NONE, "sh", &next_apps]));
            let (main, default) = render_main(ws, LIVE)?;
            swap.push(push(server, ws, &format!("{LIVE}/default.conf"), 0o644, Content::text(default)));
            swap.push(push(server, ws, &format!("{LIVE}/nginx.conf"), 0o644, Content::text(main)));
            swap.push(push(server, ws, BACK_UNIT_FILE, 0o644, Content::text(render_back_unit(ws)?)));
            swap.push(attach(
                server,
                ws,
                format!("enable {}", BACK_UNIT.0),
                &["sh", "-c", r#"systemctl daemon-reload && systemctl enable -q "$1""#, "sh", BACK_UNIT.0],
            ));
            swap.push(push(server, ws, "/etc/nginx/nginx.conf", 0o644, Content::text(front)));
            after.push(attach(
                server,
                ws,
                format!("start the front ({FRONT_UNIT}) with its config"),
                &["systemctl", "restart", FRONT_UNIT],
            ));
        }
        AppChange::Publish(app, files) => {
            if let Some(t) = files {
                let (crt, key) = tls_paths(&t.fingerprint);
                tls.extend(tls_pair_steps(server, ws, &crt, &key, t, Some(WORKER_USER)));
            }
            let text = render_app(ws, app, server.gateway())?;
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
            if let Some(t) = &app.tls {
                after.push(link_name(server, ws, &app.url, &t.fingerprint));
            }
        }
        AppChange::Remove(url) => {
            stage.push(attach(server, ws, "stage no app".into(), &["sh", "-c", STAGE_NONE, "sh", &next_apps]));
            swap.push(unlink_name(server, ws, url));
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
        check: check_step(server, ws, first),
        swap,
        unit: BACK_UNIT,
        activate,
        after,
        // Certificates no app uses any more go once the new config is live.
        tls_keep: had_tls.then(|| (TLS_DIR.to_string(), keep)),
    }
    .steps())
}

/// Rollback of a publish: the app's name taken from the front, its live
/// file removed, the back reloaded (a no-op for a change that failed before
/// its swap).
pub fn unpublish_rollback(server: &ServerConfig, ws: &str, url: &str) -> Vec<Step> {
    vec![
        unlink_name(server, ws, url),
        attach(server, ws, format!("take app {url} back out"), &["rm", "-f", &app_file(LIVE, url)]),
        reload(server, ws),
    ]
}

/// Rollback of a removal: the app's file put back, the back reloaded, its
/// name (TLS) given back to the front.
pub fn republish_rollback(server: &ServerConfig, ws: &str, app: &App) -> Result<Vec<Step>> {
    let mut steps = vec![
        push(server, ws, &app_file(LIVE, &app.url), 0o644, Content::text(render_app(ws, app, server.gateway())?)),
        reload(server, ws),
    ];
    if let Some(t) = &app.tls {
        steps.push(link_name(server, ws, &app.url, &t.fingerprint));
    }
    Ok(steps)
}

fn reload(server: &ServerConfig, ws: &str) -> Step {
    crate::service::container::reload_step(server, ws, BACK_UNIT)
}
