//! `status [--json] [--watch SECONDS]` and `ui [--listen ADDR] [--public]`:
//! one view of everything deployed, in the terminal and in a browser. The
//! core's [`Cluster::status`] reads; this prints it (a table per family),
//! redraws it in place, or serves it with its page.
//!
//! The page's server is axum (tokio, already the runtime here): `GET /` the
//! page (`assets/ui.html`, compiled in; no CDN), `GET /status.json` what
//! `status --json` prints. It listens on loopback; another address needs
//! `--public`, and then every request needs the token printed at start
//! (`Authorization: Bearer TOKEN` or `?token=TOKEN`), else 401.

use crate::output;
use axum::extract::{Request, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use flockport_core::secrets::Secret;
use flockport_core::status::{Status, StatusItem};
use flockport_core::{Cluster, Error};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The page, compiled into the binary.
const PAGE: &str = include_str!("../assets/ui.html");

/// The default address of `ui`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";

/// `status`: prints once, or redraws every `watch` seconds until Ctrl-C.
/// Exit 0 when everything is healthy, 1 when not.
pub async fn run(cluster: &Cluster, json: bool, watch: Option<f64>) -> Result<u8, Error> {
    let Some(every) = watch else {
        let st = cluster.status().await?;
        if json {
            output::json(&st)?;
        } else {
            println!("{}", render(&st));
        }
        return Ok(code(&st));
    };
    if !(every.is_finite() && every >= 0.2) {
        return Err(Error::invalid("--watch", every.to_string(), "give the seconds between redraws, 0.2 or more"));
    }
    let mut first = true;
    loop {
        let st = cluster.status().await?;
        let last = code(&st);
        let text = if json {
            serde_json::to_string(&st).map_err(|e| Error::invalid("output", "", e.to_string()))?
        } else {
            render(&st)
        };
        let mut out = std::io::stdout().lock();
        if json {
            // One document per line: a stream for programs.
            let _ = writeln!(out, "{text}");
        } else {
            // Redraw in place: cursor home, each line cleared to its end,
            // the rest of the screen cleared; no full clear, so no flicker.
            let mut frame = String::new();
            if first {
                frame.push_str("\x1b[2J");
            }
            frame.push_str("\x1b[H");
            for line in text.lines() {
                frame.push_str(line);
                frame.push_str("\x1b[K\n");
            }
            frame.push_str(&format!("every {every} s; Ctrl-C to stop\x1b[K\n\x1b[J"));
            let _ = out.write_all(frame.as_bytes());
        }
        let _ = out.flush();
        first = false;
        let stop = tokio::time::sleep(Duration::from_secs_f64(every));
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if flockport_core::interrupt::requested() {
                        return Ok(last);
                    }
                }
            }
        }
    }
}

fn code(st: &Status) -> u8 {
    u8::from(!st.healthy)
}

/// The terminal view: servers, then a table per family that has records,
/// drift, and the families this build lacks.
pub fn render(st: &Status) -> String {
    let mut out = String::new();
    let mut t = output::table(&["SERVER", "HOST", "STATUS", "CONTAINERS", "MS"]);
    for s in &st.servers {
        let status = if s.reachable {
            "reachable".to_string()
        } else {
            format!("unreachable: {}", s.error.as_deref().unwrap_or(""))
        };
        t.add_row(vec![s.name.clone(), s.host.clone(), status, s.containers.to_string(), s.millis.to_string()]);
    }
    out.push_str(&format!("{t}\n"));
    for family in flockport_core::status::spec::FAMILIES {
        let items: Vec<&StatusItem> = st.items.iter().filter(|i| i.family == family).collect();
        if items.is_empty() {
            continue;
        }
        let mut t = output::table(&[&family.to_uppercase(), "SERVER", "ADDRESS", "PORTS", "HEALTH", "WHY", "DETAIL"]);
        for i in items {
            t.add_row(vec![
                i.name.clone(),
                if i.server.is_empty() { "-".into() } else { i.server.clone() },
                i.address.clone(),
                if i.ports.is_empty() { "-".into() } else { i.ports.join(",") },
                i.health.clone(),
                i.why.clone().unwrap_or_default(),
                i.detail.clone(),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    if !st.drift.is_empty() {
        let mut t = output::table(&["DRIFT", "FAMILY", "NAME", "SERVER", "HINT"]);
        for d in &st.drift {
            t.add_row(vec![d.kind.clone(), d.family.clone(), d.name.clone(), d.server.clone(), d.hint.clone()]);
        }
        out.push_str(&format!("{t}\n"));
    }
    for a in &st.absent {
        out.push_str(&format!("not shown: {a}\n"));
    }
    out.push_str(&format!("{} in {} ms\n", if st.healthy { "healthy" } else { "NOT healthy" }, st.millis));
    out
}

struct Ui {
    cluster: Cluster,
    token: Option<Secret>,
    /// The Host headers a loopback page answers (DNS rebinding: another
    /// site's name pointed at 127.0.0.1 is refused).
    hosts: Vec<String>,
}

/// `ui`: serves the page until Ctrl-C.
pub async fn ui(cluster: Cluster, listen: &str, public: bool) -> Result<u8, Error> {
    let addr: SocketAddr =
        listen.parse().map_err(|_| Error::invalid("--listen", listen, "give ADDRESS:PORT, e.g. 127.0.0.1:8470"))?;
    if !addr.ip().is_loopback() && !public {
        return Err(Error::invalid(
            "--listen",
            listen,
            "the page shows the whole cluster: a non-loopback address needs --public (then every request needs the token printed at start)",
        ));
    }
    let token = if addr.ip().is_loopback() { None } else { Some(Secret::generate(32)?) };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io("listening for the page on", addr.to_string(), e))?;
    let bound = listener.local_addr().map_err(|e| Error::io("reading the address bound for", addr.to_string(), e))?;
    match &token {
        Some(t) => println!("flockport ui: http://{bound}/?token={}", t.expose()),
        None => println!("flockport ui: http://{bound}/"),
    }
    let _ = std::io::stdout().flush();
    let port = bound.port();
    let hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
    let shared = Arc::new(Ui { cluster, token, hosts });
    let app = Router::new()
        .route("/", get(page))
        .route("/status.json", get(status_json))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared);
    let stop = async {
        while !flockport_core::interrupt::requested() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| Error::io("serving the page on", bound.to_string(), e))?;
    Ok(0)
}

/// With a token, every request must carry it; without (loopback), the
/// Host must be the loopback address it listens on.
async fn guard(AxState(ui): AxState<Arc<Ui>>, req: Request, next: Next) -> Response {
    if ui.token.is_none() {
        let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !ui.hosts.iter().any(|h| h == host) {
            return (
                StatusCode::FORBIDDEN,
                "403: open this page at http://127.0.0.1:PORT/ (the address flockport ui printed)\n",
            )
                .into_response();
        }
    }
    if let Some(token) = &ui.token {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let query =
            req.uri().query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token="))).map(str::to_string);
        let given = bearer.or(query).unwrap_or_default();
        if !same(given.as_bytes(), token.expose().as_bytes()) {
            return (StatusCode::UNAUTHORIZED, "401: this page needs the token flockport ui printed at start\n")
                .into_response();
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    resp
}

/// Compares in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

async fn status_json(AxState(ui): AxState<Arc<Ui>>) -> Response {
    match ui.cluster.status().await {
        Ok(st) => axum::Json(st).into_response(),
        Err(e) => {
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "error": e.to_string() }))).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }
}
