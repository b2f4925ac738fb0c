//! The one tera engine of every service family: the templates under
//! `flockport-core/templates/`, compiled into the binary and golden-tested by
//! each family. Values reach a template only after validation.

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
            ("nginx-ws-default.conf", include_str!("../../templates/nginx-ws-default.conf.tera")),
            ("nginx-ws-front.conf", include_str!("../../templates/nginx-ws-front.conf.tera")),
            ("nginx-ws-back.service", include_str!("../../templates/nginx-ws-back.service.tera")),
            ("nginx-app.conf", include_str!("../../templates/nginx-app.conf.tera")),
            ("consul.hcl", include_str!("../../templates/consul.hcl.tera")),
            ("consul.service", include_str!("../../templates/consul.service.tera")),
            ("consul-sync.service", include_str!("../../templates/consul-sync.service.tera")),
        ];
        // The templates are compiled into the binary and golden-tested, so a
        // failure here is a build defect, caught by the tests.
        if let Err(e) = t.add_raw_templates(templates) {
            tracing::error!(error = %e, "built-in templates do not parse");
        }
        t
    })
}

/// Renders template `name` with `ctx`.
pub fn render(name: &str, ctx: &Context) -> Result<String> {
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
