//! Writes the bindings' type files from the declaration: `flockport.pyi`
//! (Python stubs) and `index.d.ts` (TypeScript), and `manifest()`, the
//! declaration as JSON that each binding exports for its parity tests.
//!
//! The parts no record or operation describes (errors, `Cluster.open`,
//! `Transport`, `Output`, `ProbeResult`, ...) are the templates in
//! `templates/bindings/`; records and operations are generated into them.
//! `cargo test -p flockport-core api::` fails when a committed file differs
//! from what this writes; `FLOCKPORT_REGEN=1` rewrites them.

use super::{operations, records, OpShape, RecordShape, Ty};
use serde_json::{json, Value};
use std::fmt::Write;

/// Members of `Cluster` written by hand in each binding (not generated from
/// [`operations`]): every other public method of the core's `Cluster` must
/// be an operation. The parity tests check both lists.
pub const FACADE: &[&str] = &[
    "open",
    "open_with",
    "reopen",
    "inventory_path",
    "servers",
    "server",
    "transport",
    "state",
    "state_blocking",
    "probe_all",
    "containers_listing",
    "locate",
    "exec",
];

/// Python methods that are no declared field, by class (written by hand in
/// flockport-py's records.rs).
pub const PY_EXTRAS: &[(&str, &str)] =
    &[("ServerFacts", "    def container(self, name: str) -> ContainerInfo | None: ...\n")];

const PYI_TEMPLATE: &str = include_str!("../../templates/bindings/flockport.pyi");
const DTS_TEMPLATE: &str = include_str!("../../templates/bindings/index.d.ts");

fn doc_lines(doc: &str) -> Vec<String> {
    let text = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut lines = Vec::new();
    let mut cur = String::new();
    for w in text.split(' ') {
        if !cur.is_empty() && cur.len() + w.len() + 1 > 88 {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn py_ty(ty: &Ty, arg: bool) -> String {
    match ty {
        Ty::Str => "str".into(),
        Ty::Int => "int".into(),
        Ty::Bool => "bool".into(),
        Ty::Float => "float".into(),
        Ty::Unit => "None".into(),
        Ty::Bytes => "bytes".into(),
        Ty::Path if arg => "_Path".into(),
        Ty::Path => "str".into(),
        Ty::Opt(t) => format!("{} | None", py_ty(t, arg)),
        Ty::List(t) if arg => format!("Sequence[{}]", py_ty(t, arg)),
        Ty::List(t) => format!("list[{}]", py_ty(t, arg)),
        Ty::Map(t) => format!("dict[str, {}]", py_ty(t, arg)),
        Ty::Literal(l) => format!("Literal[{}]", l.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")),
        Ty::Union(ts) => ts.iter().map(|t| py_ty(t, arg)).collect::<Vec<_>>().join(" | "),
        Ty::Record(shape, args) if args.is_empty() => shape().name.to_string(),
        Ty::Record(shape, args) => {
            format!("{}[{}]", shape().name, args.iter().map(|t| py_ty(t, arg)).collect::<Vec<_>>().join(", "))
        }
    }
}

fn py_default(d: &str) -> String {
    let d: String = d.split_whitespace().collect();
    match d.strip_prefix('(').and_then(|d| d.strip_suffix(')')).unwrap_or(&d) {
        "None" => "None",
        "false" => "False",
        "true" => "True",
        "Vec::new()" => "...",
        other => other,
    }
    .to_string()
}

fn py_record(out: &mut String, r: &RecordShape) {
    out.push_str("@final\n");
    if r.params.is_empty() {
        let _ = writeln!(out, "class {}:", r.name);
    } else {
        let ps: Vec<String> = r.params.iter().map(|p| format!("_{p}")).collect();
        let _ = writeln!(out, "class {}(Generic[{}]):", r.name, ps.join(", "));
    }
    let lines = doc_lines(r.doc);
    match lines.len() {
        0 => {}
        1 => {
            let _ = writeln!(out, "    \"\"\"{}\"\"\"\n", lines[0]);
        }
        _ => {
            let _ = writeln!(out, "    \"\"\"{}\n    \"\"\"\n", lines.join("\n    "));
        }
    }
    for f in &r.fields {
        let ty = match f.param {
            Some(p) => format!("_{p}"),
            None => py_ty(&f.ty, false),
        };
        match f.py_method {
            Some(m) => {
                let _ = writeln!(out, "    def {m}(self) -> {ty}: ...");
            }
            None => {
                let _ = writeln!(out, "    @property\n    def {}(self) -> {ty}: ...", f.name);
            }
        }
    }
    for (_, extra) in PY_EXTRAS.iter().filter(|(class, _)| *class == r.name) {
        out.push_str(extra);
    }
    out.push_str("    def to_dict(self) -> dict[str, Any]: ...\n");
    out.push_str("    def __eq__(self, value: object, /) -> bool: ...\n\n");
}

fn py_params(op: &OpShape) -> Vec<String> {
    let mut ps = vec!["self".to_string()];
    let mut star = false;
    let mut kw = |ps: &mut Vec<String>| {
        if !star {
            ps.push("*".into());
            star = true;
        }
    };
    for p in &op.params {
        if p.keyword {
            kw(&mut ps);
        }
        let mut s = format!("{}: {}", p.name, py_ty(&p.ty, true));
        if let Some(d) = p.default {
            let _ = write!(s, " = {}", py_default(d));
        }
        ps.push(s);
    }
    if op.dry_run {
        kw(&mut ps);
        ps.push("dry_run: bool = False".into());
    }
    if op.progress {
        kw(&mut ps);
        ps.push("progress: _Progress | None = None".into());
    }
    ps
}

fn py_def(out: &mut String, name: &str, params: &[String], ret: &str) {
    let one = format!("    def {name}({}) -> {ret}: ...", params.join(", "));
    if one.len() <= 100 {
        let _ = writeln!(out, "{one}");
    } else {
        let _ = writeln!(out, "    def {name}(\n        {},\n    ) -> {ret}: ...", params.join(",\n        "));
    }
}

/// `flockport.pyi`.
pub fn pyi() -> String {
    let recs = records();
    let mut classes = String::new();
    for r in &recs {
        py_record(&mut classes, r);
    }
    let mut ops = String::new();
    for op in operations() {
        let params = py_params(&op);
        let ret = py_ty(&op.ret, false);
        py_def(&mut ops, op.name, &params, &ret);
        py_def(&mut ops, &format!("{}_async", op.name), &params, &format!("Awaitable[{ret}]"));
    }
    let mut all: Vec<String> = recs.iter().map(|r| format!("    \"{}\",", r.name)).collect();
    all.extend(
        ["Cluster", "ProbeResult", "Output", "Transport", "__version__", "interrupt", "_Record", "_api"]
            .map(|n| format!("    \"{n}\",")),
    );
    all.extend(
        ["FlockportError", "InvalidInput", "NotFound", "AlreadyExists", "Unreachable", "RemoteCommandFailed"]
            .iter()
            .chain(["ConfigRejected", "LocalError", "Interrupted"].iter())
            .map(|n| format!("    \"{n}\",")),
    );
    all.sort();
    PYI_TEMPLATE
        .replace("# @ALL@\n", &format!("{}\n", all.join("\n")))
        .replace("# @RECORDS@\n", &classes)
        .replace("    # @OPERATIONS@\n", &ops)
}

fn ts_ty(ty: &Ty) -> String {
    match ty {
        Ty::Str | Ty::Path => "string".into(),
        Ty::Int => "number".into(),
        Ty::Bool => "boolean".into(),
        Ty::Float => "number".into(),
        Ty::Unit => "void".into(),
        Ty::Bytes => "Buffer".into(),
        Ty::Opt(t) => ts_ty(t),
        Ty::List(t) => format!("Array<{}>", ts_ty(t)),
        Ty::Map(t) => format!("Record<string, {}>", ts_ty(t)),
        Ty::Literal(l) => l.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(" | "),
        Ty::Union(ts) => ts.iter().map(ts_ty).collect::<Vec<_>>().join(" | "),
        Ty::Record(shape, args) if args.is_empty() => shape().name.to_string(),
        Ty::Record(shape, args) => {
            format!("{}<{}>", shape().name, args.iter().map(ts_ty).collect::<Vec<_>>().join(", "))
        }
    }
}

fn ts_doc(out: &mut String, doc: &str, indent: &str) {
    let lines = doc_lines(doc);
    match lines.len() {
        0 => {}
        1 => {
            let _ = writeln!(out, "{indent}/** {} */", lines[0]);
        }
        _ => {
            let _ = writeln!(out, "{indent}/**");
            for l in lines {
                let _ = writeln!(out, "{indent} * {l}");
            }
            let _ = writeln!(out, "{indent} */");
        }
    }
}

/// `index.d.ts`.
pub fn dts() -> String {
    let mut types = String::new();
    for r in records() {
        ts_doc(&mut types, r.doc, "");
        let generics = if r.params.is_empty() { String::new() } else { format!("<{}>", r.params.join(", ")) };
        if r.name == "State" {
            // A class whose getters convert on access (see state.rs of flockport-node).
            let _ = writeln!(types, "export declare class State {{");
            let mut plain = Vec::new();
            for f in &r.fields {
                ts_doc(&mut types, f.doc, "  ");
                let _ = writeln!(types, "  get {}(): {}", f.camel, ts_ty(&f.ty));
                plain.push(format!("{}: {}", f.camel, ts_ty(&f.ty)));
            }
            ts_doc(&mut types, "The whole state as plain objects, as the getters give each part.", "  ");
            let _ = writeln!(types, "  toJSON(): {{ {} }}\n}}", plain.join("; "));
            continue;
        }
        let _ = writeln!(types, "export interface {}{generics} {{", r.name);
        for f in &r.fields {
            ts_doc(&mut types, f.doc, "  ");
            let ty = f.param.map(str::to_string).unwrap_or_else(|| ts_ty(&f.ty));
            let opt = if matches!(f.ty, Ty::Opt(_)) { "?" } else { "" };
            let _ = writeln!(types, "  {}{opt}: {ty}", f.camel);
        }
        types.push_str("}\n");
    }
    let mut ops = String::new();
    for op in operations() {
        let mut params = Vec::new();
        if let Some(spec) = op.spec {
            ts_doc(&mut types, &format!("What `{}` takes.", op.camel()), "");
            let _ = writeln!(types, "export interface {spec} {{");
            for p in &op.params {
                let opt = if p.default.is_some() { "?" } else { "" };
                let _ = writeln!(types, "  {}{opt}: {}", p.camel(), ts_ty(&p.ty));
            }
            types.push_str("}\n");
            params.push(format!("spec: {spec}"));
        } else {
            for p in &op.params {
                if p.default.is_some() {
                    params.push(format!("{}?: {} | undefined | null", p.camel(), ts_ty(&p.ty)));
                } else {
                    params.push(format!("{}: {}", p.camel(), ts_ty(&p.ty)));
                }
            }
        }
        if op.dry_run {
            params.push("options?: ApplyOptions | undefined | null".into());
        }
        if op.progress {
            params.push("progress?: (event: ProgressEvent) => void".into());
        }
        ts_doc(&mut ops, op.doc, "  ");
        let _ = writeln!(ops, "  {}({}): Promise<{}>", op.camel(), params.join(", "), ts_ty(&op.ret));
    }
    DTS_TEMPLATE.replace("// @TYPES@\n", &types).replace("  // @OPERATIONS@\n", &ops)
}

/// The declaration as JSON (exported by each binding as `_api()` for its
/// parity tests): operations with their parameters, records with their
/// fields, and the hand-written members.
pub fn manifest() -> Value {
    let ops: Vec<Value> = operations()
        .iter()
        .map(|op| {
            let params: Vec<Value> = op
                .params
                .iter()
                .map(|p| json!({"name": p.name, "camel": p.camel(), "keyword": p.keyword, "optional": p.default.is_some()}))
                .collect();
            json!({"name": op.name, "camel": op.camel(), "params": params, "spec": op.spec,
                   "dry_run": op.dry_run, "progress": op.progress})
        })
        .collect();
    let recs: Vec<Value> = records()
        .iter()
        .map(|r| {
            let fields: Vec<Value> =
                r.fields.iter().map(|f| json!({"name": f.name, "camel": f.camel, "py_method": f.py_method})).collect();
            json!({"name": r.name, "fields": fields})
        })
        .collect();
    json!({"operations": ops, "records": recs, "facade": FACADE})
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn check(generated: &str, path: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
        if std::env::var_os("FLOCKPORT_REGEN").is_some() {
            std::fs::write(&path, generated).expect("write the generated file");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: regenerate it with `FLOCKPORT_REGEN=1 cargo test -p flockport-core api::` and commit it",
            path.display()
        );
    }

    #[test]
    fn pyi_is_fresh() {
        check(&super::pyi(), "flockport-py/flockport.pyi");
    }

    #[test]
    fn dts_is_fresh() {
        check(&super::dts(), "flockport-node/index.d.ts");
    }
}
