//! Core records as Python objects, one path for all: at import, a frozen
//! class per record the core declares (`flockport_core::api::records()`:
//! `LbRecord`, `Plan`, ...), a subclass of the native `_Record` with a
//! property per field (and a method for fields declared `py_method`). An
//! instance holds its core value (or its JSON view) and converts a field when
//! it is read, following the field's declared type.

use flockport_core::api::{records, AnyRecord, Case, Lazy, Record as CoreRecord, RecordShape, Ty, ViewValue};
use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyCFunction, PyDict, PyList, PyTuple, PyType};
use pyo3::IntoPyObjectExt;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where a record's fields come from.
trait Source: Send + Sync {
    /// One field (records in it kept typed when the source is typed).
    fn field(&self, name: &str) -> Lazy;
    /// Every field's view.
    fn all(&self) -> Map<String, Value>;
}

/// A record read from its parent's JSON view.
struct Viewed(Map<String, Value>);

impl Source for Viewed {
    fn field(&self, name: &str) -> Lazy {
        Lazy::Value(self.0.get(name).cloned().unwrap_or(Value::Null))
    }
    fn all(&self) -> Map<String, Value> {
        self.0.clone()
    }
}

/// A record holding the core value: fields are viewed when read, and the
/// records in them stay typed.
struct Typed(Box<dyn AnyRecord>);

impl Source for Typed {
    fn field(&self, name: &str) -> Lazy {
        self.0.field_lazy(name)
    }
    fn all(&self) -> Map<String, Value> {
        let mut out = Map::new();
        self.0.write_view(&mut out, Case::Snake);
        out
    }
}

/// The base of every record class.
#[pyclass(module = "flockport", name = "_Record", subclass, frozen)]
pub struct Record {
    shape: &'static RecordShape,
    src: Arc<dyn Source>,
}

/// Carries a record's data into its class's constructor.
#[pyclass(module = "flockport", name = "_RecordData", frozen)]
struct Data(Mutex<Option<Record>>);

#[pymethods]
impl Record {
    #[new]
    fn new(data: &Bound<'_, Data>) -> PyResult<Record> {
        let taken = data.get().0.lock().unwrap_or_else(|p| p.into_inner()).take();
        taken.ok_or_else(|| PyTypeError::new_err("flockport records are made by flockport"))
    }

    /// `Applied[LbRecord]` in annotations evaluated at run time: the class.
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, _item: &Bound<'_, PyAny>) -> Py<PyType> {
        cls.clone().unbind()
    }

    /// The record as plain data (dicts, lists, strings, numbers).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        json_to_py(py, &Value::Object(self.src.all()))
    }

    fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> bool {
        match other.downcast::<Record>() {
            Ok(o) => slf.get_type().is(&o.get_type()) && slf.get().src.all() == o.get().src.all(),
            Err(_) => false,
        }
    }

    fn __str__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let me = slf.get();
        match me.shape.str_field.map(|f| me.src.field(f)) {
            Some(Lazy::Value(Value::String(s))) => Ok(s),
            _ => Self::__repr__(slf),
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let me = slf.get();
        let mut parts = Vec::new();
        let shown: Vec<_> = match me.shape.repr {
            Some(names) => names.iter().filter_map(|n| me.shape.field(n)).collect(),
            None => me.shape.fields.iter().filter(|f| f.py_method.is_none()).collect(),
        };
        for f in shown {
            let shown = match (&f.ty, me.src.field(f.name)) {
                // A map of records shows its names.
                (Ty::Map(_), Lazy::Map(items)) => {
                    items.into_iter().map(|(k, _)| k).collect::<Vec<_>>().into_pyobject(py)?.repr()?
                }
                (Ty::Map(_), Lazy::Value(Value::Object(m))) => {
                    m.keys().cloned().collect::<Vec<_>>().into_pyobject(py)?.repr()?
                }
                (ty, v) => lazy_to_py(py, v, ty)?.bind(py).repr()?,
            };
            parts.push(format!("{}={shown}", f.name));
        }
        Ok(format!("{}({})", me.shape.name, parts.join(", ")))
    }
}

/// The classes by record name, made by [`register`].
static CLASSES: GILOnceCell<HashMap<&'static str, Py<PyType>>> = GILOnceCell::new();

fn make(py: Python<'_>, shape: &'static RecordShape, src: Arc<dyn Source>) -> PyResult<PyObject> {
    let cls = CLASSES
        .get(py)
        .and_then(|m| m.get(shape.name))
        .ok_or_else(|| PyTypeError::new_err(format!("no class for record {}", shape.name)))?;
    let data = Bound::new(py, Data(Mutex::new(Some(Record { shape, src }))))?;
    Ok(cls.bind(py).call1((data,))?.unbind())
}

/// A core record as its Python object (holding the value; fields convert when read).
pub fn record<T: CoreRecord + Send + Sync + 'static>(py: Python<'_>, value: T) -> PyResult<PyObject> {
    make(py, T::shape(), Arc::new(Typed(Box::new(value))))
}

/// Any value the core declares (records, lists, strings, ...) as Python;
/// its records hold their core values.
pub fn to_py<T: ViewValue>(py: Python<'_>, value: &T) -> PyResult<PyObject> {
    lazy_to_py(py, value.to_lazy(), &T::ty())
}

/// A core record on its way to Python as one object that views its fields
/// when they are read (`state_async`).
pub struct Held<T>(pub T);

impl<'py, T: CoreRecord + Send + Sync + 'static> IntoPyObject<'py> for Held<T> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(record(py, self.0)?.into_bound(py))
    }
}

/// An operation's result on its way to Python (`IntoPyObject` for the
/// `*_async` forms).
pub struct Out<T>(pub T);

impl<'py, T: ViewValue> IntoPyObject<'py> for Out<T> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(to_py(py, &self.0)?.into_bound(py))
    }
}

/// A JSON view as Python, guided by its declared type.
fn value_to_py(py: Python<'_>, v: Value, ty: &Ty) -> PyResult<PyObject> {
    match (ty, v) {
        (_, Value::Null) => Ok(py.None()),
        (Ty::Record(shape, _), Value::Object(m)) => make(py, shape(), Arc::new(Viewed(m))),
        (Ty::Opt(t), v) => value_to_py(py, v, t),
        (Ty::List(t), Value::Array(items)) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value_to_py(py, item, t)?)?;
            }
            list.into_py_any(py)
        }
        (Ty::Map(t), Value::Object(m)) => {
            let dict = PyDict::new(py);
            for (k, item) in m {
                dict.set_item(k, value_to_py(py, item, t)?)?;
            }
            dict.into_py_any(py)
        }
        (_, v) => json_to_py(py, &v),
    }
}

/// The element type of a list or map type (through `Opt`).
fn element(ty: &Ty) -> &Ty {
    match ty {
        Ty::Opt(t) => element(t),
        Ty::List(t) | Ty::Map(t) => t,
        other => other,
    }
}

/// A field's value as Python: typed records become their classes holding
/// the core value; plain values follow the declared type.
fn lazy_to_py(py: Python<'_>, v: Lazy, ty: &Ty) -> PyResult<PyObject> {
    match v {
        Lazy::Value(v) => value_to_py(py, v, ty),
        Lazy::Record(r) => make(py, r.shape(), Arc::new(Typed(r))),
        Lazy::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(lazy_to_py(py, item, element(ty))?)?;
            }
            list.into_py_any(py)
        }
        Lazy::Map(items) => {
            let dict = PyDict::new(py);
            for (k, item) in items {
                dict.set_item(k, lazy_to_py(py, item, element(ty))?)?;
            }
            dict.into_py_any(py)
        }
    }
}

/// Plain JSON as Python data.
pub fn json_to_py(py: Python<'_>, v: &Value) -> PyResult<PyObject> {
    match v {
        Value::Null => Ok(py.None()),
        Value::Bool(b) => b.into_py_any(py),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_py_any(py),
            (None, Some(u)) => u.into_py_any(py),
            _ => n.as_f64().unwrap_or(f64::NAN).into_py_any(py),
        },
        Value::String(s) => s.into_py_any(py),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_py_any(py)
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_py_any(py)
        }
    }
}

/// A getter (`property`) or method (`functools.partialmethod`) reading one field.
fn accessor<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyCFunction>> {
    PyCFunction::new_closure(py, None, None, move |args: &Bound<'_, PyTuple>, _kw: Option<&Bound<'_, PyDict>>| {
        let py = args.py();
        let item = args.get_item(0)?;
        let me = item.downcast::<Record>()?.get();
        let f = me.shape.field(name).ok_or_else(|| PyAttributeError::new_err(name))?;
        lazy_to_py(py, me.src.field(name), &f.ty)
    })
}

/// Makes a class per declared record and adds them to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Record>()?;
    let builtins = py.import("builtins")?;
    let property = builtins.getattr("property")?;
    let partialmethod = py.import("functools")?.getattr("partialmethod")?;
    let base = py.get_type::<Record>();
    let mut classes = HashMap::new();
    for shape in records() {
        let ns = PyDict::new(py);
        ns.set_item("__module__", "flockport")?;
        ns.set_item("__qualname__", shape.name)?;
        ns.set_item("__doc__", shape.doc)?;
        ns.set_item("__slots__", PyTuple::empty(py))?;
        for f in &shape.fields {
            let get = accessor(py, f.name)?;
            match f.py_method {
                Some(method) => ns.set_item(method, partialmethod.call1((get,))?)?,
                None => ns.set_item(f.name, property.call1((get, py.None(), py.None(), f.doc))?)?,
            }
        }
        let cls = builtins.getattr("type")?.call1((shape.name, (&base,), ns))?.downcast_into::<PyType>()?;
        m.add(shape.name, &cls)?;
        classes.insert(shape.name, cls.unbind());
    }
    // `ServerFacts.container(name)`: Python's one method that is no field
    // (declared for the stub in flockport_core::api::codegen::PY_EXTRAS).
    let find = PyCFunction::new_closure(
        py,
        None,
        None,
        |args: &Bound<'_, PyTuple>, _kw: Option<&Bound<'_, PyDict>>| -> PyResult<PyObject> {
            let (facts, name) = (args.get_item(0)?, args.get_item(1)?);
            for c in facts.getattr("containers")?.try_iter()? {
                let c = c?;
                if c.getattr("name")?.eq(&name)? {
                    return Ok(c.unbind());
                }
            }
            Ok(args.py().None())
        },
    )?;
    if let Some(facts) = classes.get("ServerFacts") {
        facts.bind(py).setattr("container", partialmethod.call1((find,))?)?;
    }
    // A second import of the module (a subinterpreter, a reload) keeps the first classes.
    let _ = CLASSES.set(py, classes);
    Ok(())
}
