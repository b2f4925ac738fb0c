//! Every operation the core declares (`flockport_core::for_each_operation!`)
//! as a `Cluster` method returning a Promise: positional parameters as
//! arguments (or, for an operation declared with `spec NAME`, one object of
//! them), then `options` (`{ dryRun }`) and `progress` when it takes them.
//! Arguments are read through `convert::JsArg`; a bad one rejects the
//! Promise (code `InvalidInput`); results convert through `convert::to_js`.

use crate::cluster::{apply_options, ApplyOptions, Cluster};
use crate::convert::{arg, prop, to_js, JsArg};
use crate::plan::Progress;
use crate::promise::promise_with;
#[allow(unused_imports)]
use flockport_core::api::prelude::*;
use flockport_core::api::Ctx;
use napi::{Env, JsFunction, JsObject};
use napi_derive::napi;

/// The Promise of one operation, `read` (on the shared cluster) or `edit`
/// (an inventory edit on the cluster reopened).
macro_rules! op_promise {
    (read, $me:ident, $env:ident, $args:ident, $opts:tt, $progress:tt) => {{
        let c = $me.core();
        let progress = Progress::new($progress)?;
        promise_with(
            &$env,
            async move { $args?.call(&c, Ctx { opts: apply_options($opts), progress: &progress }).await },
            |env, v| to_js(env, &v),
        )
    }};
    (edit, $me:ident, $env:ident, $args:ident, $opts:tt, $progress:tt) => {{
        let shared = $me.shared.clone();
        promise_with(
            &$env,
            async move {
                let args = $args?;
                let opts = apply_options($opts);
                shared
                    .edit(move |c| Box::pin(args.call(c, Ctx { opts, progress: &flockport_core::plan::NoProgress })))
                    .await
            },
            |env, v| to_js(env, &v),
        )
    }};
}

/// One operation's method.
macro_rules! js_op {
    ({ $(#[doc = $doc:literal])* $kind:ident fn $name:ident ($($p:ident : $pt:ty $(= $pd:tt)?),* $(; $($k:ident : $kt:ty = $kd:tt),*)?)
        $([$($flag:ident),*])? spec $spec:ident -> $ret:ty = |$c:ident, $x:ident| $body:expr }) => {
        js_op!(@flags [$($($flag)*)?] [$($doc)*] $kind $name [spec: JsObject,]
            (flockport_core::api::ops::$name::Args {
                $($p: prop(&spec, stringify!($p), None $(.or(Some($pd)))?)?,)*
                $($($k: prop(&spec, stringify!($k), Some($kd))?,)*)?
            }));
    };
    ({ $(#[doc = $doc:literal])* $kind:ident fn $name:ident ($($p:ident : $pt:ty $(= $pd:tt)?),* $(; $($k:ident : $kt:ty = $kd:tt),*)?)
        $([$($flag:ident),*])? -> $ret:ty = |$c:ident, $x:ident| $body:expr }) => {
        js_op!(@flags [$($($flag)*)?] [$($doc)*] $kind $name
            [$($p: Option<<$pt as JsArg>::Js>,)* $($($k: Option<<$kt as JsArg>::Js>,)*)?]
            (flockport_core::api::ops::$name::Args {
                $($p: arg($p, stringify!($p), None $(.or(Some($pd)))?)?,)*
                $($($k: arg($k, stringify!($k), Some($kd))?,)*)?
            }));
    };
    (@flags [dry_run progress] $($rest:tt)*) => {
        js_op!(@emit [options: Option<ApplyOptions>, progress: Option<JsFunction>] $($rest)*);
    };
    (@flags [dry_run] $($rest:tt)*) => { js_op!(@emit [options: Option<ApplyOptions>] $($rest)*); };
    (@flags [] $($rest:tt)*) => { js_op!(@emit [] $($rest)*); };
    (@emit [$($f:ident : $ft:ty),*] [$($doc:literal)*] $kind:ident $name:ident [$($a:ident : $at:ty,)*] ($($args:tt)*)) => {
        #[napi]
        impl Cluster {
            $(#[doc = $doc])*
            #[napi]
            #[allow(clippy::too_many_arguments)]
            pub fn $name(&self, env: Env, $($a: $at,)* $($f: $ft,)*) -> napi::Result<JsObject> {
                let args = read_args(|| Ok($($args)*));
                js_op!(@pass [$($f)*] $kind, self, env, args)
            }
        }
    };
    (@pass [$o:ident $p:ident] $kind:ident, $($r:tt)*) => { op_promise!($kind, $($r)*, $o, $p) };
    (@pass [$o:ident] $kind:ident, $($r:tt)*) => { op_promise!($kind, $($r)*, $o, None) };
    (@pass [] $kind:ident, $($r:tt)*) => { op_promise!($kind, $($r)*, None, None) };
}

/// The arguments read (the first bad one is the error the Promise rejects with).
fn read_args<T>(read: impl FnOnce() -> flockport_core::Result<T>) -> flockport_core::Result<T> {
    read()
}

/// Expands the core's list.
macro_rules! js_ops {
    ($({ $($entry:tt)* })*) => { $(js_op!({ $($entry)* });)* };
}

flockport_core::for_each_operation!(js_ops);
