//! Every operation the core declares (`flockport_core::for_each_operation!`)
//! as two `Cluster` methods from one definition: the blocking one (GIL
//! released, Ctrl-C rolls back: `runtime::block_on`) and its `*_async` twin
//! (`runtime::awaitable`). Positional parameters stay positional, the rest
//! are keyword-only, then `dry_run` and `progress` when the operation takes
//! them. Results convert through `records::Out`.

use crate::cluster::Cluster;
use crate::plan::Progress;
use crate::records::Out;
use crate::runtime::{awaitable, block_on};
#[allow(unused_imports)]
use flockport_core::api::prelude::*;
use flockport_core::api::Ctx;
use flockport_core::cluster::ApplyOptions;
use pyo3::prelude::*;

/// How a parameter's core type is read from Python.
pub trait PyArg: Sized {
    /// What PyO3 extracts.
    type Py: for<'a, 'py> FromPyObject<'py>;
    /// The core value.
    fn into_core(v: Self::Py) -> Self;
}

macro_rules! same {
    ($($t:ty),*) => {$(
        impl PyArg for $t {
            type Py = $t;
            fn into_core(v: $t) -> $t {
                v
            }
        }
    )*};
}
same!(
    String,
    bool,
    u16,
    u32,
    PathBuf,
    Vec<String>,
    Vec<u16>,
    Option<String>,
    Option<u16>,
    Option<u32>,
    Option<f64>,
    Option<PathBuf>
);

/// `bytes` or `str`.
#[derive(FromPyObject)]
pub enum BytesOrStr {
    /// Bytes as given.
    Bytes(Vec<u8>),
    /// Text, UTF-8.
    Str(String),
}

impl PyArg for Contents {
    type Py = BytesOrStr;
    fn into_core(v: BytesOrStr) -> Self {
        match v {
            BytesOrStr::Bytes(b) => Contents(b),
            BytesOrStr::Str(s) => Contents(s.into_bytes()),
        }
    }
}

/// One string or a list of them.
#[derive(FromPyObject)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl PyArg for Values {
    type Py = OneOrMany;
    fn into_core(v: OneOrMany) -> Self {
        match v {
            OneOrMany::One(s) => Values(vec![s]),
            OneOrMany::Many(v) => Values(v),
        }
    }
}

macro_rules! named {
    ($($t:ident),*) => {$(
        impl PyArg for $t {
            type Py = String;
            fn into_core(v: String) -> Self {
                $t(v)
            }
        }
    )*};
}
named!(LbKindName, LbSettingName, DbEngineName);

/// A password: a `str` in Python, a `Secret` (never shown) from here on.
impl PyArg for Option<flockport_core::secrets::Secret> {
    type Py = Option<String>;
    fn into_core(v: Option<String>) -> Self {
        v.map(flockport_core::secrets::Secret::new)
    }
}

/// `dry_run` and `progress`, when an operation takes them.
#[derive(Default)]
pub struct Flags {
    /// Plan only.
    pub dry_run: bool,
    /// Called before each step.
    pub progress: Option<Py<PyAny>>,
}

impl Flags {
    /// The core's context, with `progress` adapted.
    pub fn ctx(progress: &Progress, dry_run: bool) -> Ctx<'_> {
        Ctx { opts: ApplyOptions { dry_run }, progress }
    }
}

/// The future of one operation, `read` (on the shared cluster) or `edit`
/// (an inventory edit on the cluster reopened).
macro_rules! op_future {
    (read, $me:ident, $py:ident, $args:ident, $flags:ident) => {{
        let c = $me.core($py)?;
        async move {
            let progress = Progress($flags.progress);
            $args.call(&c, Flags::ctx(&progress, $flags.dry_run)).await.map(Out)
        }
    }};
    (edit, $me:ident, $py:ident, $args:ident, $flags:ident) => {{
        let shared = $me.shared.clone();
        let dry_run = $flags.dry_run;
        async move {
            shared
                .edit(move |c| {
                    Box::pin(
                        $args.call(
                            c,
                            Ctx { opts: ApplyOptions { dry_run }, progress: &flockport_core::plan::NoProgress },
                        ),
                    )
                })
                .await
                .map(Out)
        }
    }};
}

/// One operation's two methods.
macro_rules! py_op {
    ({ $(#[doc = $doc:literal])* $kind:ident fn $name:ident ($($p:ident : $pt:ty $(= $pd:tt)?),*)
        $(spec $spec:ident)? -> $ret:ty = |$c:ident, $x:ident| $body:expr }) => {
        py_op!(@emit [$($doc)*] $kind $name [$($p: $pt $(= $pd)?),*] [] [] $ret);
    };
    ({ $(#[doc = $doc:literal])* $kind:ident fn $name:ident ($($p:ident : $pt:ty $(= $pd:tt)?),* $(; $($k:ident : $kt:ty = $kd:tt),*)?)
        $([$($flag:ident),*])? $(spec $spec:ident)? -> $ret:ty = |$c:ident, $x:ident| $body:expr }) => {
        py_op!(@flags [$($($flag)*)?] [$($doc)*] $kind $name [$($p: $pt $(= $pd)?),*] [$($($k: $kt = $kd),*)?] $ret);
    };
    (@flags [dry_run progress] $($rest:tt)*) => {
        py_op!(@star $($rest)* [dry_run: bool = false, progress: Option<Py<PyAny>> = None]);
    };
    (@flags [dry_run] $($rest:tt)*) => { py_op!(@star $($rest)* [dry_run: bool = false]); };
    (@flags [] $($rest:tt)*) => { py_op!(@star $($rest)* []); };
    (@star $docs:tt $kind:ident $name:ident $pos:tt $kw:tt $ret:ty [$($f:ident : $ft:ty = $fd:tt),*]) => {
        py_op!(@emit $docs $kind $name $pos $kw [$($f: $ft = $fd),*] $ret);
    };
    (@emit [$($doc:literal)*] $kind:ident $name:ident [$($p:ident : $pt:ty $(= $pd:tt)?),*] [] [] $ret:ty) => {
        py_op!(@methods [$($doc)*] $kind $name [$($p $(= $pd)?,)*] [$($p: $pt),*] [] $ret);
    };
    (@emit [$($doc:literal)*] $kind:ident $name:ident [$($p:ident : $pt:ty $(= $pd:tt)?),*]
        [$($k:ident : $kt:ty = $kd:tt),*] [$($f:ident : $ft:ty = $fd:tt),*] $ret:ty) => {
        py_op!(@methods [$($doc)*] $kind $name
            [$($p $(= $pd)?,)* *, $($k = $kd,)* $($f = $fd,)*]
            [$($p: $pt),* $(, $k: $kt)*] [$($f: $ft),*] $ret);
    };
    (@methods [$($doc:literal)*] $kind:ident $name:ident [$($sig:tt)*] [$($a:ident : $at:ty),*] [$($f:ident : $ft:ty),*] $ret:ty) => {
        paste::paste! {
            #[pymethods]
            impl Cluster {
                $(#[doc = $doc])*
                #[pyo3(signature = ($($sig)*))]
                #[allow(clippy::too_many_arguments)]
                fn $name(&self, py: Python<'_>, $($a: <$at as PyArg>::Py,)* $($f: $ft,)*) -> PyResult<Out<$ret>> {
                    let args = flockport_core::api::ops::$name::Args { $($a: PyArg::into_core($a),)* };
                    #[allow(clippy::needless_update)]
                    let flags = Flags { $($f,)* ..Default::default() };
                    block_on(py, op_future!($kind, self, py, args, flags))
                }
                #[doc = concat!("`", stringify!($name), "` for asyncio: returns an awaitable.")]
                #[pyo3(signature = ($($sig)*))]
                #[allow(clippy::too_many_arguments)]
                fn [<$name _async>]<'py>(&self, py: Python<'py>, $($a: <$at as PyArg>::Py,)* $($f: $ft,)*) -> PyResult<Bound<'py, PyAny>> {
                    let args = flockport_core::api::ops::$name::Args { $($a: PyArg::into_core($a),)* };
                    #[allow(clippy::needless_update)]
                    let flags = Flags { $($f,)* ..Default::default() };
                    awaitable(py, op_future!($kind, self, py, args, flags))
                }
            }
        }
    };
}

/// Expands the core's list.
macro_rules! py_ops {
    ($({ $($entry:tt)* })*) => { $(py_op!({ $($entry)* });)* };
}

flockport_core::for_each_operation!(py_ops);
