//! The `details` of the bindings' exceptions: each error's variant name and
//! fields.

use serde_json::Value;

/// An error's variant name and fields (Python's names; Node camelCases
/// them), for programs that act on an error: the `details` of the bindings'
/// exceptions.
pub fn error_details(err: &crate::Error) -> (&'static str, Vec<(&'static str, Value)>) {
    use crate::Error as E;
    let path = |p: &std::path::Path| Value::from(p.display().to_string());
    let hint = |h: &str| Value::from(h.trim_start_matches("; "));
    match err {
        E::InvalidInput { field, value, reason } => (
            "InvalidInput",
            vec![("field", (*field).into()), ("value", value.as_str().into()), ("reason", reason.as_str().into())],
        ),
        E::NotFound { kind, name, hint: h } => {
            ("NotFound", vec![("object", (*kind).into()), ("name", name.as_str().into()), ("hint", hint(h))])
        }
        E::AlreadyExists { kind, name, hint: h } => {
            ("AlreadyExists", vec![("object", (*kind).into()), ("name", name.as_str().into()), ("hint", hint(h))])
        }
        E::Unreachable { server, reason, .. } => {
            ("Unreachable", vec![("server", server.as_str().into()), ("reason", reason.as_str().into())])
        }
        E::HostKeyNotTrusted { server, host, port, known_hosts, detail } => (
            "HostKeyNotTrusted",
            vec![
                ("server", server.as_str().into()),
                ("host", host.as_str().into()),
                ("port", (*port).into()),
                ("known_hosts", known_hosts.as_str().into()),
                ("detail", detail.as_str().into()),
            ],
        ),
        E::RemoteCommand { server, command, status, stderr_tail } => (
            "RemoteCommand",
            vec![
                ("server", server.as_str().into()),
                ("command", command.as_str().into()),
                ("status", (*status).into()),
                ("stderr_tail", stderr_tail.as_str().into()),
            ],
        ),
        E::Timeout { server, command, secs } => (
            "Timeout",
            vec![("server", server.as_str().into()), ("command", command.as_str().into()), ("secs", (*secs).into())],
        ),
        E::ConfigRejected { server, service, detail } => (
            "ConfigRejected",
            vec![
                ("server", server.as_str().into()),
                ("service", service.as_str().into()),
                ("detail", detail.as_str().into()),
            ],
        ),
        E::Ssh { server, context, .. } => {
            ("Ssh", vec![("server", server.as_str().into()), ("context", context.as_str().into())])
        }
        E::Io { context, path: p, .. } => ("Io", vec![("context", (*context).into()), ("path", path(p))]),
        E::Inventory { path: p, reason } => ("Inventory", vec![("path", path(p)), ("reason", reason.as_str().into())]),
        E::StateCorrupt { path: p, reason } => {
            ("StateCorrupt", vec![("path", path(p)), ("reason", reason.as_str().into())])
        }
        E::Parse { server, command, reason } => (
            "Parse",
            vec![
                ("server", server.as_str().into()),
                ("command", command.as_str().into()),
                ("reason", reason.as_str().into()),
            ],
        ),
        E::SubnetExhausted { server, subnet } => {
            ("SubnetExhausted", vec![("server", server.as_str().into()), ("subnet", subnet.to_string().into())])
        }
        E::Http { server, context, .. } => {
            ("Http", vec![("server", server.as_str().into()), ("context", context.as_str().into())])
        }
        E::ApiStatus { server, context, status, .. } => (
            "ApiStatus",
            vec![
                ("server", server.as_str().into()),
                ("context", context.as_str().into()),
                ("status", (*status).into()),
            ],
        ),
        E::Many(all) => ("Many", vec![("count", all.len().into())]),
        _ => ("Other", Vec::new()),
    }
}
