//! The bindings' declaration: what Python and Node show of the core, said
//! once, here and next to the types.
//!
//! * Records: `#[derive(Record)]` (crate `flockport-derive`) on a core type
//!   declares its fields for the bindings from what the type already says
//!   (fields, types, docs, serde's `flatten`/`skip`), plus computed fields
//!   (`#[record(computed(...))]`). [`Record::shape`] is that declaration as
//!   data; [`Record::write_view`] / [`ViewValue::to_view`] the value as JSON
//!   with the bindings' field names ([`Case`]). Python makes a frozen class
//!   per shape at import; Node gets plain objects; `flockport.pyi` and
//!   `index.d.ts` are generated from the shapes ([`codegen`]).
//! * Operations: [`for_each_operation!`](crate::for_each_operation) lists every generated `Cluster`
//!   operation (name, doc, parameters, return type, how the core runs it).
//!   The core expands it into [`ops`] (an `Args` struct and `call` per
//!   operation) and [`operations`] (the list as data); each binding expands
//!   it into its methods (Python: blocking + `*_async`; Node: a Promise).
//!
//! See ARCHITECTURE.md, "Bindings", for the recipe.

pub mod codegen;
#[macro_use]
mod operations;
mod details;
pub use details::error_details;

use crate::cluster::ApplyOptions;
use crate::plan::{NoProgress, Progress};
use serde_json::{Map, Value};
use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Mutex;

pub use flockport_derive::Record;

/// Field-name convention of a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Python: the Rust names.
    Snake,
    /// Node: lowerCamelCase.
    Camel,
}

impl Case {
    /// `snake` or `camel`, as this case wants.
    pub fn pick(self, snake: &'static str, camel: &'static str) -> &'static str {
        match self {
            Case::Snake => snake,
            Case::Camel => camel,
        }
    }
}

/// `snake_case` to `lowerCamelCase` (parameter names at run time).
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A type as the bindings show it.
#[derive(Clone)]
pub enum Ty {
    /// Text (also addresses, subnets, paths shown).
    Str,
    /// A whole number.
    Int,
    /// True or false.
    Bool,
    /// A number with a fraction.
    Float,
    /// Nothing (`None` / `void`).
    Unit,
    /// A file path given by the user (`str | PathLike` / `string`).
    Path,
    /// May be absent.
    Opt(Box<Ty>),
    /// A list.
    List(Box<Ty>),
    /// A map from names.
    Map(Box<Ty>),
    /// One of these strings.
    Literal(&'static [&'static str]),
    /// Any of these (arguments only).
    Union(Vec<Ty>),
    /// Bytes (arguments only: `bytes` / `Buffer`).
    Bytes,
    /// A record, with its type arguments (`Applied[LbRecord]`).
    Record(fn() -> &'static RecordShape, Vec<Ty>),
}

impl std::fmt::Debug for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ty::Record(shape, args) => write!(f, "Record({}, {args:?})", shape().name),
            Ty::Opt(t) => write!(f, "Opt({t:?})"),
            Ty::List(t) => write!(f, "List({t:?})"),
            Ty::Map(t) => write!(f, "Map({t:?})"),
            Ty::Union(t) => write!(f, "Union({t:?})"),
            Ty::Literal(l) => write!(f, "Literal({l:?})"),
            Ty::Str => f.write_str("Str"),
            Ty::Int => f.write_str("Int"),
            Ty::Bool => f.write_str("Bool"),
            Ty::Float => f.write_str("Float"),
            Ty::Unit => f.write_str("Unit"),
            Ty::Path => f.write_str("Path"),
            Ty::Bytes => f.write_str("Bytes"),
        }
    }
}

/// A field of a record as the bindings show it.
#[derive(Debug, Clone)]
pub struct Field {
    /// Python's name (the Rust field's).
    pub name: &'static str,
    /// Node's name.
    pub camel: &'static str,
    /// The doc comment.
    pub doc: &'static str,
    /// Its type.
    pub ty: Ty,
    /// The type parameter it is (`T` of `Applied<T>`), if so.
    pub param: Option<&'static str>,
    /// In Python a method of this name instead of an attribute (`render()`).
    pub py_method: Option<&'static str>,
}

/// A record as the bindings show it: a Python class, a TypeScript interface.
#[derive(Debug, Clone)]
pub struct RecordShape {
    /// The class / interface name.
    pub name: &'static str,
    /// The doc comment.
    pub doc: &'static str,
    /// Type parameters (`Applied<T>`).
    pub params: &'static [&'static str],
    /// Fields in order (flattened ones spliced in).
    pub fields: Vec<Field>,
    /// The fields Python's `repr` shows (all when `None`).
    pub repr: Option<&'static [&'static str]>,
    /// The field Python's `str()` is.
    pub str_field: Option<&'static str>,
}

impl RecordShape {
    /// The field called `name` (Python's name).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A value the bindings can show: its type and its JSON form.
pub trait ViewValue {
    /// The type.
    fn ty() -> Ty;
    /// The value (`None`: absent, e.g. an optional field not set).
    fn to_view(&self, case: Case) -> Option<Value>;
    /// The value with its records kept as they are (viewed when read):
    /// what Python holds. Plain values are their snake_case view.
    fn to_lazy(&self) -> Lazy {
        Lazy::Value(self.to_view(Case::Snake).unwrap_or(Value::Null))
    }
}

/// A value whose records are kept typed, to be viewed field by field when
/// read ([`ViewValue::to_lazy`], [`Record::field_lazy`]).
pub enum Lazy {
    /// A plain value (snake_case view).
    Value(Value),
    /// A record.
    Record(Box<dyn AnyRecord>),
    /// A list.
    List(Vec<Lazy>),
    /// A map from names.
    Map(Vec<(String, Lazy)>),
}

/// A record of any type, for a binding that holds it.
pub trait AnyRecord: Send + Sync {
    /// Its shape.
    fn shape(&self) -> &'static RecordShape;
    /// One field's value.
    fn field_lazy(&self, name: &str) -> Lazy;
    /// Every field into `out` (see [`Record::write_view`]).
    fn write_view(&self, out: &mut Map<String, Value>, case: Case);
}

impl<T: Record + Send + Sync + 'static> AnyRecord for T {
    fn shape(&self) -> &'static RecordShape {
        T::shape()
    }
    fn field_lazy(&self, name: &str) -> Lazy {
        Record::field_lazy(self, name)
    }
    fn write_view(&self, out: &mut Map<String, Value>, case: Case) {
        Record::write_view(self, out, case)
    }
}

/// A record (derived: `#[derive(Record)]`).
pub trait Record: ViewValue {
    /// Builds the shape (use [`Record::shape`], which caches it).
    fn build_shape() -> RecordShape;
    /// One field's value (`None` when absent or unknown).
    fn field_view(&self, name: &str, case: Case) -> Option<Value>;
    /// One field's value, its records kept typed (`Value(Null)` when absent).
    fn field_lazy(&self, name: &str) -> Lazy;
    /// Every field into `out`.
    fn write_view(&self, out: &mut Map<String, Value>, case: Case);
    /// The shape, built once per type.
    fn shape() -> &'static RecordShape
    where
        Self: Sized + 'static,
    {
        static SHAPES: Mutex<Option<HashMap<TypeId, &'static RecordShape>>> = Mutex::new(None);
        let cached =
            |map: &mut Option<HashMap<_, &'static RecordShape>>| map.as_ref()?.get(&TypeId::of::<Self>()).copied();
        if let Some(s) = cached(&mut SHAPES.lock().unwrap_or_else(|p| p.into_inner())) {
            return s;
        }
        // Built without the lock held: a flattened field's shape is built
        // inside. Two threads may both build it; the first one stored wins.
        let built = Self::build_shape();
        let mut map = SHAPES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = cached(&mut map) {
            return s;
        }
        let shape: &'static RecordShape = Box::leak(Box::new(built));
        map.get_or_insert_with(HashMap::new).insert(TypeId::of::<Self>(), shape);
        shape
    }
}

macro_rules! view_as {
    ($ty:expr, |$v:ident| $conv:expr; $($t:ty),*) => {$(
        impl ViewValue for $t {
            fn ty() -> Ty {
                $ty
            }
            fn to_view(&self, _case: Case) -> Option<Value> {
                let $v = self;
                Some($conv)
            }
        }
    )*};
}
view_as!(Ty::Str, |v| Value::String(v.clone()); String);
view_as!(Ty::Str, |v| Value::String(v.to_string()); Ipv4Addr, ipnet::Ipv4Net);
view_as!(Ty::Path, |v| Value::String(v.display().to_string()); PathBuf);
view_as!(Ty::Bool, |v| Value::Bool(*v); bool);
view_as!(Ty::Int, |v| Value::from(*v); u8, u16, u32, u64, i32, i64, usize);
view_as!(Ty::Float, |v| Value::from(*v); f64);
// A secret argument (a password): a string to the bindings, never shown.
view_as!(Ty::Str, |_v| Value::String("<secret>".into()); crate::secrets::Secret);

impl ViewValue for () {
    fn ty() -> Ty {
        Ty::Unit
    }
    fn to_view(&self, _case: Case) -> Option<Value> {
        None
    }
}

impl<T: ViewValue> ViewValue for Option<T> {
    fn ty() -> Ty {
        Ty::Opt(Box::new(T::ty()))
    }
    fn to_view(&self, case: Case) -> Option<Value> {
        self.as_ref().and_then(|v| v.to_view(case))
    }
    fn to_lazy(&self) -> Lazy {
        self.as_ref().map_or(Lazy::Value(Value::Null), ViewValue::to_lazy)
    }
}

impl<T: ViewValue> ViewValue for Vec<T> {
    fn ty() -> Ty {
        Ty::List(Box::new(T::ty()))
    }
    fn to_view(&self, case: Case) -> Option<Value> {
        Some(Value::Array(self.iter().map(|v| v.to_view(case).unwrap_or(Value::Null)).collect()))
    }
    fn to_lazy(&self) -> Lazy {
        Lazy::List(self.iter().map(ViewValue::to_lazy).collect())
    }
}

impl<T: ViewValue> ViewValue for BTreeMap<String, T> {
    fn ty() -> Ty {
        Ty::Map(Box::new(T::ty()))
    }
    fn to_view(&self, case: Case) -> Option<Value> {
        Some(Value::Object(self.iter().map(|(k, v)| (k.clone(), v.to_view(case).unwrap_or(Value::Null))).collect()))
    }
    fn to_lazy(&self) -> Lazy {
        Lazy::Map(self.iter().map(|(k, v)| (k.clone(), v.to_lazy())).collect())
    }
}

/// A file's contents given by the user: `bytes | str` (Python), `Buffer |
/// string` (Node).
#[derive(Debug, Clone, Default)]
pub struct Contents(pub Vec<u8>);

/// One string or several (`setlb`'s values).
#[derive(Debug, Clone, Default)]
pub struct Values(pub Vec<String>);

/// Argument types only the bindings read (never shown as values).
macro_rules! arg_only {
    ($($t:ty => $ty:expr),*) => {$(
        impl ViewValue for $t {
            fn ty() -> Ty {
                $ty
            }
            fn to_view(&self, _case: Case) -> Option<Value> {
                None
            }
        }
    )*};
}
arg_only!(Contents => Ty::Union(vec![Ty::Bytes, Ty::Str]), Values => Ty::Union(vec![Ty::Str, Ty::List(Box::new(Ty::Str))]));

/// What a changing operation gets besides its arguments: `dry_run` and the
/// progress callback.
pub struct Ctx<'a> {
    /// `dry_run`.
    pub opts: ApplyOptions,
    /// Called before each step.
    pub progress: &'a dyn Progress,
}

impl Default for Ctx<'_> {
    fn default() -> Self {
        Ctx { opts: ApplyOptions::default(), progress: &NoProgress }
    }
}

/// How an operation runs in a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// On the shared `&Cluster`.
    Read,
    /// An inventory edit (`&mut Cluster`): the bindings run it on the
    /// cluster reopened, one at a time, and share the result.
    Edit,
}

/// A parameter of an operation.
#[derive(Debug, Clone)]
pub struct Param {
    /// Python's name (the Rust one).
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
    /// Its default as Rust code (`None`, `false`, `Vec::new()`, ...).
    pub default: Option<&'static str>,
    /// Keyword-only in Python.
    pub keyword: bool,
}

impl Param {
    /// Node's name.
    pub fn camel(&self) -> String {
        camel(self.name)
    }
}

/// An operation as data (from [`for_each_operation!`](crate::for_each_operation)).
#[derive(Debug, Clone)]
pub struct OpShape {
    /// Python's name (the core's).
    pub name: &'static str,
    /// The doc comment.
    pub doc: &'static str,
    /// How it runs.
    pub kind: OpKind,
    /// Parameters in order: positional, then keyword-only.
    pub params: Vec<Param>,
    /// Node takes the parameters as one object of this interface.
    pub spec: Option<&'static str>,
    /// Takes `dry_run` (Python keyword, Node `options.dryRun`).
    pub dry_run: bool,
    /// Takes a progress callback.
    pub progress: bool,
    /// What it returns.
    pub ret: Ty,
}

impl OpShape {
    /// Node's name.
    pub fn camel(&self) -> String {
        camel(self.name)
    }
}

/// A string argument shown as one of fixed strings (checked by the core).
macro_rules! literal_arg {
    ($(#[$m:meta])* $name:ident = [$($s:literal),*]) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default)]
        pub struct $name(pub String);
        impl ViewValue for $name {
            fn ty() -> Ty {
                Ty::Literal(&[$($s),*])
            }
            fn to_view(&self, _case: Case) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}
literal_arg!(
    /// A load balancer's kind as an argument.
    LbKindName = ["haproxy", "nginx"]
);
literal_arg!(
    /// A database engine as an argument.
    DbEngineName = ["mysql", "postgresql"]
);
literal_arg!(
    /// A `setlb` setting's name.
    LbSettingName = ["mode", "url", "ssl", "workers", "resolvers"]
);

/// The names [`for_each_operation!`](crate::for_each_operation) uses: a binding that expands it
/// imports this (`use flockport_core::api::prelude::*`).
pub mod prelude {
    pub use super::{Contents, DbEngineName, LbKindName, LbSettingName, Values};
    pub use crate::cluster::{AddServer, Applied, ContainerSpec, ServerStatus};
    pub use crate::db::{DbAdded, DbInfo, DbRecord, DbSpec};
    pub use crate::ep::{
        AdhocService, ContainerServiceListing, ContainerServices, EpListing, EpRecord, ServiceListing,
    };
    pub use crate::inventory::ServerConfig;
    pub use crate::jobs::{JobInfo, JobRecord, JobSpec};
    pub use crate::lb::{LbInfo, LbRecord, LbSetting, LbSpec};
    pub use crate::lxc::{ContainerInfo, ServerFacts};
    pub use crate::secrets::Secret;
    pub use crate::service::ServiceContainer;
    pub use crate::state::{ContainerRecord, StateMove};
    pub use crate::status::Status;
    pub use crate::vip::{Vip, VipInfo, VipSpec};
    pub use crate::ws::{AppSpec, HostsChange, WsInfo, WsRecord};
    pub use std::path::PathBuf;
}

/// Expands one entry of [`for_each_operation!`](crate::for_each_operation) in the core.
macro_rules! core_ops {
    ($({
        $(#[doc = $doc:literal])*
        $kind:ident fn $name:ident ($($p:ident : $pt:ty $(= $pd:tt)?),* $(; $($k:ident : $kt:ty = $kd:tt),*)?)
        $([$($flag:ident),*])? $(spec $spec:ident)? -> $ret:ty = |$c:ident, $x:ident| $body:expr
    })*) => {
        /// Each operation's arguments and call (from [`for_each_operation!`](crate::for_each_operation)).
        pub mod ops {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub mod $name {
                    #[allow(unused_imports)]
                    use crate::api::{prelude::*, Ctx, OpKind, OpShape, Param, ViewValue};
                    #[allow(unused_imports)]
                    use crate::cluster::Cluster;
                    /// The arguments.
                    #[derive(Debug, Clone)]
                    #[allow(missing_docs)]
                    pub struct Args {
                        $(pub $p: $pt,)*
                        $($(pub $k: $kt,)*)?
                    }
                    core_ops!(@call $kind $ret, [$($p)* $($($k)*)?], |$c, $x| $body);
                    /// The operation as data.
                    pub fn shape() -> OpShape {
                        let params = vec![
                            $(Param { name: stringify!($p), ty: <$pt as ViewValue>::ty(), default: core_ops!(@def $($pd)?), keyword: false },)*
                            $($(Param { name: stringify!($k), ty: <$kt as ViewValue>::ty(), default: Some(stringify!($kd)), keyword: true },)*)?
                        ];
                        let flags: &[&str] = &[$($(stringify!($flag)),*)?];
                        OpShape {
                            name: stringify!($name),
                            doc: concat!($($doc, "\n"),*),
                            kind: core_ops!(@kind $kind),
                            params,
                            spec: core_ops!(@def $($spec)?),
                            dry_run: flags.contains(&"dry_run"),
                            progress: flags.contains(&"progress"),
                            ret: <$ret as ViewValue>::ty(),
                        }
                    }
                }
            )*
        }
        /// Every generated operation, as data, in declaration order.
        pub fn operations() -> Vec<OpShape> {
            vec![$(ops::$name::shape()),*]
        }
    };
    (@def) => { None };
    (@def $e:tt) => { Some(stringify!($e)) };
    (@def $($e:tt)+) => { Some(stringify!($($e)+)) };
    (@kind read) => { OpKind::Read };
    (@kind edit) => { OpKind::Edit };
    (@call read $ret:ty, [$($f:ident)*], |$c:ident, $x:ident| $body:expr) => {
        impl Args {
            /// Runs it.
            #[allow(unused_variables)]
            pub async fn call(self, $c: &Cluster, $x: Ctx<'_>) -> crate::Result<$ret> {
                let Args { $($f,)* } = self;
                $body
            }
        }
    };
    (@call edit $ret:ty, [$($f:ident)*], |$c:ident, $x:ident| $body:expr) => {
        impl Args {
            /// Runs it (an inventory edit).
            #[allow(unused_variables)]
            pub async fn call(self, $c: &mut Cluster, $x: Ctx<'_>) -> crate::Result<$ret> {
                let Args { $($f,)* } = self;
                $body
            }
        }
    };
}

for_each_operation!(core_ops);

pub mod step;

/// Every record the bindings show: those the operations return, and those
/// the hand-written members (`servers()`, `state()`, progress, `probe_all`)
/// give. Python makes these classes at import; the generators write them.
pub fn records() -> Vec<&'static RecordShape> {
    let mut roots: Vec<Ty> = operations().into_iter().map(|o| o.ret).collect();
    roots.extend([
        <crate::inventory::ServerConfig as ViewValue>::ty(),
        <crate::state::State as ViewValue>::ty(),
        <crate::plan::Step as ViewValue>::ty(),
        <crate::lxc::ServerFacts as ViewValue>::ty(),
        <crate::lxc::ContainerInfo as ViewValue>::ty(),
    ]);
    let mut out: Vec<&'static RecordShape> = Vec::new();
    fn walk(ty: &Ty, out: &mut Vec<&'static RecordShape>) {
        match ty {
            Ty::Opt(t) | Ty::List(t) | Ty::Map(t) => walk(t, out),
            Ty::Union(ts) => ts.iter().for_each(|t| walk(t, out)),
            Ty::Record(shape, args) => {
                let s = shape();
                args.iter().for_each(|t| walk(t, out));
                if out.iter().any(|o| o.name == s.name) {
                    return;
                }
                out.push(s);
                for f in &s.fields {
                    walk(&f.ty, out);
                }
            }
            _ => {}
        }
    }
    for r in &roots {
        walk(r, &mut out);
    }
    out
}
