//! Renders load-balancer configs from the tera templates under
//! `flockport-core/templates/` (golden-tested in `lb/tests.rs`), through
//! the shared engine in `service::render`.

use super::{tls_paths, Backend, LbKind, LbRecord};
use crate::error::Result;
use crate::service::render::render;
use tera::Context;

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
/// A Consul name backend is resolved at each request (cached 1 s) through
/// the LB's resolvers, or else its server's forwarder at `gateway`.
pub fn render_nginx(rec: &LbRecord, root: &str, gateway: std::net::Ipv4Addr) -> Result<(String, String)> {
    let mut c = context(rec);
    let statics: Vec<&Backend> = rec.backends.iter().filter(|b| !b.is_consul()).collect();
    let consul: Vec<String> =
        rec.backends.iter().filter(|b| b.is_consul()).map(|b| format!("{}:{}", b.host, b.port)).collect();
    c.insert("static_backends", &statics);
    c.insert("consul_targets", &consul);
    c.insert("split", &split(statics.len(), &consul));
    let consul_resolvers: Vec<String> = if rec.resolvers.is_empty() {
        vec![gateway.to_string()]
    } else {
        rec.resolvers.iter().map(|r| r.to_string()).collect()
    };
    c.insert("consul_resolvers", &consul_resolvers);
    c.insert("includes", &[format!("{root}/lb.conf")]);
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

/// One share of an LB's traffic: `share` (`NN.NN%` or `*`, the rest) goes
/// to `target` (the upstream of the other backends, or a Consul name).
#[derive(serde::Serialize)]
struct Share {
    share: String,
    target: String,
}

/// How requests are split between the upstream of `statics` backends and
/// each Consul name (one backend each); empty when there is one target.
fn split(statics: usize, consul: &[String]) -> Vec<Share> {
    let mut targets: Vec<(usize, String)> = Vec::new();
    if statics > 0 {
        targets.push((statics, "lb_backends".into()));
    }
    targets.extend(consul.iter().map(|c| (1, c.clone())));
    if targets.len() < 2 {
        return Vec::new();
    }
    let total: usize = targets.iter().map(|t| t.0).sum();
    let last = targets.len() - 1;
    targets
        .into_iter()
        .enumerate()
        .map(|(i, (w, target))| Share {
            // Hundredths of a percent, rounded down; `*` takes what is left.
            share: if i == last {
                "*".into()
            } else {
                let bp = w * 10_000 / total;
                format!("{}.{:02}%", bp / 100, bp % 100)
            },
            target,
        })
        .collect()
}

#[cfg(test)]
mod proptests {
    use super::super::tests::rec;
    use super::*;
    use crate::lb::{check_url, Backend};
    use proptest::prelude::*;

    /// Nothing HAProxy or Nginx would read as syntax (an end of directive, a
    /// block, a comment, a quote, an escape, a variable or sample fetch,
    /// another word, or, leading, an option).
    fn token_safe(v: &str) -> bool {
        !v.is_empty()
            && !v.starts_with('-')
            && !v.chars().any(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || matches!(c, ';' | '{' | '}' | '#' | '"' | '\'' | '\\' | '$' | '%' | '`' | '(' | ')' | ',')
            })
    }

    /// Any text, and text near the edge: name-like, with syntax mixed in.
    fn edgy() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[-a-zA-Z0-9._]{0,12}",
            "[-a-z0-9]{0,6}(\\.[-a-z0-9]{0,6}){0,3}",
            "[-a-z0-9._;{}#\"' \t\n$%\\\\]{0,12}",
        ]
    }

    /// `render` of a record holding `value`, and of the same record holding
    /// `placeholder`: the value must stand exactly where the placeholder
    /// stood (`count` times) and nowhere else, the rest unchanged.
    fn lands_as_placeholder(
        value: &str,
        placeholder: &str,
        count: usize,
        render: impl Fn(&str) -> String,
    ) -> std::result::Result<(), TestCaseError> {
        let base = render(placeholder);
        prop_assert_eq!(base.matches(placeholder).count(), count, "{}", base);
        prop_assert_eq!(render(value), base.replace(placeholder, value));
        Ok(())
    }

    #[test]
    fn the_holes_the_proptest_found_stay_closed() {
        for url in ["-", "-x.org", "x.-org", "x-.org"] {
            assert!(check_url(url).is_err(), "{url}");
        }
        assert!(Backend::parse(LbKind::Nginx, "wordpress-.consul:80").is_err());
        assert!(check_url("my-wordpress.org").is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_url_is_refused_or_rendered_as_one_safe_token(url in edgy()) {
            if check_url(&url).is_err() {
                return Ok(());
            }
            prop_assert!(token_safe(&url), "check_url accepted {:?}", url);
            let placeholder = "placeholder.flockport.invalid";
            lands_as_placeholder(&url, placeholder, 1, |u| {
                let mut r = rec(LbKind::Haproxy);
                r.url = Some(u.to_string());
                render_haproxy(&r).unwrap()
            })?;
            lands_as_placeholder(&url, placeholder, 1, |u| {
                let mut r = rec(LbKind::Nginx);
                r.url = Some(u.to_string());
                render_nginx(&r, "/etc/nginx/flockport", std::net::Ipv4Addr::new(10, 0, 4, 1)).unwrap().1
            })?;
        }

        #[test]
        fn a_haproxy_backend_name_is_refused_or_rendered_as_one_safe_token(name in edgy(), port in 1u16..) {
            let Ok(b) = Backend::parse(LbKind::Haproxy, &format!("{name}:10.0.4.20:{port}")) else {
                return Ok(());
            };
            prop_assert_eq!(b.name.as_deref(), Some(name.as_str()));
            prop_assert!(token_safe(&name), "accepted {:?}", name);
            // One server line in each mode's backend.
            lands_as_placeholder(&name, "fpplaceholder", LbKind::Haproxy.modes().len(), |n| {
                let mut r = rec(LbKind::Haproxy);
                r.backends = vec![Backend { name: Some(n.to_string()), ..b.clone() }];
                render_haproxy(&r).unwrap()
            })?;
        }

        #[test]
        fn an_nginx_backend_host_is_refused_or_rendered_as_one_safe_token(host in edgy(), port in 1u16..) {
            let Ok(b) = Backend::parse(LbKind::Nginx, &format!("{host}:{port}")) else { return Ok(()) };
            prop_assert_eq!(&b.host, &host);
            prop_assert!(token_safe(&host), "accepted {:?}", host);
            lands_as_placeholder(&host, "placeholder.flockport.invalid", 1, |h| {
                let mut r = rec(LbKind::Nginx);
                r.backends = vec![Backend { host: h.to_string(), ..b.clone() }];
                render_nginx(&r, "/etc/nginx/flockport", std::net::Ipv4Addr::new(10, 0, 4, 1)).unwrap().1
            })?;
        }
    }
}
