//! The one place core errors become JavaScript errors.
//!
//! Each is an `Error` whose message is the core's (it names the bad value),
//! with:
//!
//! * `code`: the [`ErrorKind`] name (`'InvalidInput'`, `'NotFound'`,
//!   `'AlreadyExists'`, `'Unreachable'`, `'RemoteCommandFailed'`,
//!   `'ConfigRejected'`, `'Local'`, `'Interrupted'`), also exported as the `ErrorKind` enum;
//! * `details`: the fields of the core variant plus `variant`, its name;
//! * `causes`: the messages of the Rust `source()` chain, outermost first;
//! * `cause`: the same chain as linked `Error`s (ES2022 `cause`);
//! * `errors`: for a failure on several servers, one error per server.

use flockport_core::Error as CoreError;
#[cfg(test)]
use flockport_core::ErrorKind as CoreErrorKind;
use napi::{Env, JsObject, Status};
use napi_derive::napi;

/// The kinds of error: the `code` of every error flockport throws or rejects with.
// Only JavaScript uses it (`#[napi]` exports it); Rust code builds `code`
// from the core's `ErrorKind::name`, and the test below keeps the two equal.
#[allow(dead_code)]
#[napi(string_enum)]
#[derive(Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A value given by the user is not acceptable; nothing was touched.
    InvalidInput,
    /// A named thing (server, container, ...) does not exist.
    NotFound,
    /// A named thing exists already.
    AlreadyExists,
    /// A server could not be reached (connection, SSH, host key).
    Unreachable,
    /// A command on a server exited non-zero, or its output was not understood.
    RemoteCommandFailed,
    /// A service's checker refused a rendered configuration.
    ConfigRejected,
    /// A local file (inventory, state, key) could not be used.
    Local,
    /// The change was interrupted and rolled back; nothing was recorded.
    Interrupted,
}

#[cfg(test)]
impl From<CoreErrorKind> for ErrorKind {
    fn from(kind: CoreErrorKind) -> Self {
        match kind {
            CoreErrorKind::InvalidInput => ErrorKind::InvalidInput,
            CoreErrorKind::NotFound => ErrorKind::NotFound,
            CoreErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            CoreErrorKind::Unreachable => ErrorKind::Unreachable,
            CoreErrorKind::RemoteCommandFailed => ErrorKind::RemoteCommandFailed,
            CoreErrorKind::ConfigRejected => ErrorKind::ConfigRejected,
            CoreErrorKind::Local => ErrorKind::Local,
            CoreErrorKind::Interrupted => ErrorKind::Interrupted,
        }
    }
}

/// Converts a core error into a `napi::Error` carrying the JS error object,
/// to be thrown or to reject a Promise with.
pub fn to_js(env: &Env, err: &CoreError) -> napi::Error {
    match build(env, err) {
        Ok(obj) => napi::Error::from(obj.into_unknown()),
        Err(e) => e,
    }
}

/// The JS error object for `err`.
pub fn to_js_object(env: &Env, err: &CoreError) -> napi::Result<JsObject> {
    build(env, err)
}

fn new_error(env: &Env, message: String, code: &str) -> napi::Result<JsObject> {
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, message))?;
    obj.set_named_property("code", code)?;
    Ok(obj)
}

fn build(env: &Env, err: &CoreError) -> napi::Result<JsObject> {
    let mut obj = new_error(env, err.to_string(), err.kind().name())?;
    obj.set_named_property("details", details(env, err)?)?;
    let chain = err.chain();
    let causes: Vec<String> = chain.iter().map(|e| e.to_string()).collect();
    obj.set_named_property("causes", causes)?;
    let mut errors = env.create_array_with_length(0)?;
    let mut first: Option<JsObject> = None;
    if let CoreError::Many(all) = err {
        for (i, e) in all.iter().enumerate() {
            let sub = build(env, e)?;
            if i == 0 {
                first = Some(build(env, e)?);
            }
            errors.set_element(i as u32, sub)?;
        }
    }
    obj.set_named_property("errors", errors)?;
    let cause = match first {
        Some(f) => Some(f),
        None => cause_chain(env, &chain)?,
    };
    if let Some(cause) = cause {
        obj.set_named_property("cause", cause)?;
    }
    Ok(obj)
}

/// The chain as linked `Error`s (`cause` of each is the next); I/O errors
/// carry their errno as `errno`.
fn cause_chain(env: &Env, chain: &[&(dyn std::error::Error + 'static)]) -> napi::Result<Option<JsObject>> {
    let mut below: Option<JsObject> = None;
    for e in chain.iter().rev() {
        let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.to_string()))?;
        obj.delete_named_property("code")?;
        if let Some(errno) = e.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error) {
            obj.set_named_property("errno", errno)?;
        }
        if let Some(b) = below.take() {
            obj.set_named_property("cause", b)?;
        }
        below = Some(obj);
    }
    Ok(below)
}

/// The variant's fields (`flockport_core::api::error_details`, camelCased).
fn details(env: &Env, err: &CoreError) -> napi::Result<JsObject> {
    let (variant, fields) = flockport_core::api::error_details(err);
    let mut map: serde_json::Map<String, serde_json::Value> =
        fields.into_iter().map(|(k, v)| (flockport_core::api::camel(k), v)).collect();
    map.insert("variant".into(), variant.into());
    crate::convert::json_to_js(env, &serde_json::Value::Object(map))?.coerce_to_object()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_enum_names_are_the_core_kind_names() {
        let kinds = [
            CoreErrorKind::InvalidInput,
            CoreErrorKind::NotFound,
            CoreErrorKind::AlreadyExists,
            CoreErrorKind::Unreachable,
            CoreErrorKind::RemoteCommandFailed,
            CoreErrorKind::ConfigRejected,
            CoreErrorKind::Local,
            CoreErrorKind::Interrupted,
        ];
        for kind in kinds {
            assert_eq!(format!("{:?}", ErrorKind::from(kind)), kind.name());
        }
    }
}
