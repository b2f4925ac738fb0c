//! Renders load-balancer configs from the tera templates under
//! `flockport-core/templates/` (golden-tested in `lb/tests.rs`).

use super::{tls_paths, LbKind, LbRecord};
use crate::error::{Error, Result};
use std::sync::OnceLock;
use tera::{Context, Tera};

fn tera() -> &'static Tera {
    static T: OnceLock<Tera> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Tera::default();
        let templates = [
            ("haproxy.cfg", include_str!("../../templates/haproxy.cfg.tera")),
            ("nginx.conf", include_str!("../../templates/nginx.conf.tera")),
            ("nginx-lb.conf", include_str!("../../templates/nginx-lb.conf.tera")),
        ];
        // The templates are compiled into the binary and golden-tested, so a
        // failure here is a build defect, caught by the tests.
        if let Err(e) = t.add_raw_templates(templates) {
            tracing::error!(error = %e, "built-in templates do not parse");
        }
        t
    })
}

fn render(name: &str, ctx: &Context) -> Result<String> {
    tera().render(name, ctx).map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Error::invalid("template", name, msg)
    })
}

fn context(rec: &LbRecord) -> Context {
    let mut c = Context::new();
    c.insert("name", rec.name());
    c.insert("mode", &rec.mode);
    c.insert("url", &rec.url);
    c.insert("backends", &rec.backends);
    c.insert("workers", &rec.workers);
    c.insert("resolvers", &rec.resolvers.iter().map(|r| r.to_string()).collect::<Vec<_>>());
    c
}

/// haproxy.cfg for `rec`.
pub fn render_haproxy(rec: &LbRecord) -> Result<String> {
    let mut c = context(rec);
    let pem = rec.tls.as_ref().map(|fp| tls_paths(LbKind::Haproxy, fp).0);
    c.insert("tls_pem", &pem);
    c.insert("modes", LbKind::Haproxy.modes());
    c.insert("mode_map", super::HAPROXY_MODE_MAP);
    render("haproxy.cfg", &c)
}

/// (nginx.conf, lb.conf) for `rec`; nginx.conf includes `{root}/lb.conf`.
pub fn render_nginx(rec: &LbRecord, root: &str) -> Result<(String, String)> {
    let mut c = context(rec);
    c.insert("root", root);
    let (crt, key) = match &rec.tls {
        Some(fp) => {
            let (c, k) = tls_paths(LbKind::Nginx, fp);
            (Some(c), Some(k))
        }
        None => (None, None),
    };
    c.insert("tls_cert", &crt);
    c.insert("tls_key", &key);
    Ok((render("nginx.conf", &c)?, render("nginx-lb.conf", &c)?))
}
