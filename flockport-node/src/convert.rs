//! Core values as JS values, one path for all: the value's JSON view
//! (`flockport_core::api`, camelCase names) parsed by V8's `JSON.parse`.
//! For many records this is several times faster than setting each property
//! through N-API (one call per property, each making its key string anew),
//! and absent optional fields are left out. It calls the global `JSON.parse`
//! of the moment: a program that replaces it changes what flockport returns.
//! Arguments come the other way through [`JsArg`].

use flockport_core::api::prelude::*;
use flockport_core::api::{Case, ViewValue};
use flockport_core::{Error as CoreError, Result as CoreResult};
use napi::bindgen_prelude::{Buffer, Either, FromNapiValue};
use napi::{Env, JsFunction, JsObject, JsUnknown};
use serde_json::Value;

/// A JSON value as JS.
pub fn json_to_js(env: &Env, value: &Value) -> napi::Result<JsUnknown> {
    if value.is_null() {
        return env.get_undefined().map(|u| u.into_unknown());
    }
    let text = serde_json::to_string(value).map_err(|e| napi::Error::from_reason(format!("to JSON: {e}")))?;
    let json: JsObject = env.get_global()?.get_named_property("JSON")?;
    let parse: JsFunction = json.get_named_property("parse")?;
    parse.call(Some(&json), &[env.create_string(&text)?])
}

/// Any value the core declares as JS.
pub fn to_js<T: ViewValue>(env: &Env, value: &T) -> napi::Result<JsUnknown> {
    json_to_js(env, &value.to_view(Case::Camel).unwrap_or(Value::Null))
}

/// How a parameter's core type is read from JS (`name` for the error).
pub trait JsArg: Sized {
    /// What napi reads.
    type Js: FromNapiValue;
    /// The core value.
    fn into_core(v: Self::Js, name: &'static str) -> CoreResult<Self>;
}

macro_rules! same {
    ($($t:ty),*) => {$(
        impl JsArg for $t {
            type Js = $t;
            fn into_core(v: $t, _: &'static str) -> CoreResult<$t> {
                Ok(v)
            }
        }
    )*};
}
same!(String, bool, u32, Vec<String>, Option<String>, Option<u32>, Option<f64>);

impl JsArg for u16 {
    type Js = u32;
    fn into_core(v: u32, name: &'static str) -> CoreResult<u16> {
        u16::try_from(v).map_err(|_| CoreError::invalid(name, v.to_string(), "give a port from 1 to 65535"))
    }
}

impl JsArg for Option<u16> {
    type Js = Option<u32>;
    fn into_core(v: Option<u32>, name: &'static str) -> CoreResult<Self> {
        v.map(|v| u16::into_core(v, name)).transpose()
    }
}

impl JsArg for Vec<u16> {
    type Js = Vec<u32>;
    fn into_core(v: Vec<u32>, name: &'static str) -> CoreResult<Self> {
        v.into_iter().map(|p| u16::into_core(p, name)).collect()
    }
}

impl JsArg for Option<PathBuf> {
    type Js = Option<String>;
    fn into_core(v: Option<String>, _: &'static str) -> CoreResult<Self> {
        Ok(v.map(PathBuf::from))
    }
}

impl JsArg for PathBuf {
    type Js = String;
    fn into_core(v: String, _: &'static str) -> CoreResult<Self> {
        Ok(PathBuf::from(v))
    }
}

impl JsArg for Contents {
    type Js = Either<Buffer, String>;
    fn into_core(v: Self::Js, _: &'static str) -> CoreResult<Self> {
        Ok(Contents(match v {
            Either::A(b) => b.to_vec(),
            Either::B(s) => s.into_bytes(),
        }))
    }
}

impl JsArg for Values {
    type Js = Either<String, Vec<String>>;
    fn into_core(v: Self::Js, _: &'static str) -> CoreResult<Self> {
        Ok(Values(match v {
            Either::A(s) => vec![s],
            Either::B(v) => v,
        }))
    }
}

macro_rules! named {
    ($($t:ident),*) => {$(
        impl JsArg for $t {
            type Js = String;
            fn into_core(v: String, _: &'static str) -> CoreResult<Self> {
                Ok($t(v))
            }
        }
    )*};
}
named!(LbKindName, LbSettingName, DbEngineName);

/// A password: a string in JavaScript, a `Secret` (never shown) from here on.
impl JsArg for Option<flockport_core::secrets::Secret> {
    type Js = Option<String>;
    fn into_core(v: Option<String>, _: &'static str) -> CoreResult<Self> {
        Ok(v.map(flockport_core::secrets::Secret::new))
    }
}

/// A parameter: `value` given, else `default`, else an error naming it.
pub fn arg<T: JsArg>(value: Option<T::Js>, name: &'static str, default: Option<T>) -> CoreResult<T> {
    match (value, default) {
        (Some(v), _) => T::into_core(v, name),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(CoreError::invalid(name, "", "required")),
    }
}

/// A property of a spec object, as [`arg`] reads a parameter.
pub fn prop<T: JsArg>(obj: &JsObject, name: &'static str, default: Option<T>) -> CoreResult<T> {
    let key = flockport_core::api::camel(name);
    let value = obj
        .get_named_property_unchecked::<Option<T::Js>>(&key)
        .map_err(|e| CoreError::invalid(name, String::new(), format!("{key}: {}", e.reason)))?;
    arg(value, name, default)
}
