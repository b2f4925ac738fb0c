//! `#[derive(Record)]`: a core type's declaration for the bindings
//! (`flockport_core::api::Record`), read from what the type already says.
//!
//! For a struct: every field the serde form has (`#[serde(skip)]` fields are
//! left out, `#[serde(flatten)]` ones spliced in), in order, named as in Rust
//! (the bindings camelCase them for Node), typed by its Rust type, with its
//! doc comment; plus what `#[record(...)]` adds:
//!
//! * container: `repr(a, b)` (the fields a Python `repr` shows; default all),
//!   `str = "field"` (Python `str()`), and `computed(name = "x", ty = "T",
//!   with = "path", doc = "...", py_method = "m")`: a field computed by
//!   `path(&self) -> T` (in Python the method `m()` instead of an attribute
//!   when `py_method` is given);
//! * field: `skip`, `rename = "name"`, `display` (a string made by `Display`),
//!   `nested` (a `#[serde(flatten)]` field shown as one field).
//!
//! For an enum of unit variants: a string, one of its serde names
//! (`rename_all = "lowercase" | "snake_case" | "kebab-case"`).

use heck::{ToLowerCamelCase, ToSnakeCase};
use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Attribute, Data, DeriveInput, Fields, LitStr};

/// Derives `flockport_core::api::Record` (and `ViewValue`) for a struct, or
/// `ViewValue` for an enum of unit variants. See the crate's documentation.
#[proc_macro_derive(Record, attributes(record))]
pub fn derive_record(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn doc_of(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join(" ").trim().to_string()
}

/// Whether a serde attribute list holds `word` (e.g. `flatten`, `skip`), and
/// the value of `rename_all`.
fn serde_flags(attrs: &[Attribute]) -> syn::Result<(Vec<String>, Option<String>)> {
    let mut words = Vec::new();
    let mut rename_all = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        a.parse_nested_meta(|m| {
            let name = m.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            if m.input.peek(syn::Token![=]) {
                let v: syn::Expr = m.value()?.parse()?;
                if name == "rename_all" {
                    if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = v {
                        rename_all = Some(s.value());
                    }
                }
            } else if m.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in m.input);
                let _: Tokens = _content.parse()?;
            }
            words.push(name);
            Ok(())
        })?;
    }
    Ok((words, rename_all))
}

#[derive(Default)]
struct Computed {
    name: String,
    ty: Option<syn::Type>,
    with: Option<syn::Path>,
    doc: String,
    py_method: Option<String>,
}

#[derive(Default)]
struct ContainerAttrs {
    repr: Option<Vec<String>>,
    str_field: Option<String>,
    computed: Vec<Computed>,
}

fn lit(m: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<String> {
    Ok(m.value()?.parse::<LitStr>()?.value())
}

fn container_attrs(attrs: &[Attribute]) -> syn::Result<ContainerAttrs> {
    let mut out = ContainerAttrs::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("record")) {
        a.parse_nested_meta(|m| {
            if m.path.is_ident("repr") {
                let mut names = Vec::new();
                m.parse_nested_meta(|f| {
                    names.push(f.path.get_ident().map(|i| i.to_string()).unwrap_or_default());
                    Ok(())
                })?;
                out.repr = Some(names);
            } else if m.path.is_ident("str") {
                out.str_field = Some(lit(&m)?);
            } else if m.path.is_ident("computed") {
                let mut c = Computed::default();
                m.parse_nested_meta(|f| {
                    if f.path.is_ident("name") {
                        c.name = lit(&f)?;
                    } else if f.path.is_ident("ty") {
                        c.ty = Some(syn::parse_str(&lit(&f)?)?);
                    } else if f.path.is_ident("with") {
                        c.with = Some(syn::parse_str(&lit(&f)?)?);
                    } else if f.path.is_ident("doc") {
                        c.doc = lit(&f)?;
                    } else if f.path.is_ident("py_method") {
                        c.py_method = Some(lit(&f)?);
                    } else {
                        return Err(f.error("computed takes name, ty, with, doc, py_method"));
                    }
                    Ok(())
                })?;
                if c.name.is_empty() || c.ty.is_none() || c.with.is_none() {
                    return Err(m.error("computed needs name, ty and with"));
                }
                out.computed.push(c);
            } else {
                return Err(m.error("record takes repr(...), str = \"field\", computed(...)"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

#[derive(Default)]
struct FieldAttrs {
    skip: bool,
    rename: Option<String>,
    display: bool,
    nested: bool,
}

fn field_attrs(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("record")) {
        a.parse_nested_meta(|m| {
            if m.path.is_ident("skip") {
                out.skip = true;
            } else if m.path.is_ident("display") {
                out.display = true;
            } else if m.path.is_ident("nested") {
                out.nested = true;
            } else if m.path.is_ident("rename") {
                out.rename = Some(lit(&m)?);
            } else {
                return Err(m.error("a field's record attribute is skip, display, nested or rename = \"name\""));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    match &input.data {
        Data::Struct(s) => expand_struct(input, &s.fields),
        Data::Enum(e) => expand_enum(input, e),
        Data::Union(_) => Err(syn::Error::new_spanned(input, "Record is for structs and unit enums")),
    }
}

fn expand_enum(input: &DeriveInput, e: &syn::DataEnum) -> syn::Result<Tokens> {
    let (_, rename_all) = serde_flags(&input.attrs)?;
    let mut names = Vec::new();
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(v, "Record enums have unit variants only"));
        }
        let n = v.ident.to_string();
        names.push(match rename_all.as_deref() {
            Some("lowercase") => n.to_lowercase(),
            Some("snake_case") => n.to_snake_case(),
            Some("kebab-case") => n.to_snake_case().replace('_', "-"),
            None => n,
            Some(other) => return Err(syn::Error::new_spanned(&v.ident, format!("rename_all = {other:?}"))),
        });
    }
    let ident = &input.ident;
    let arms = e.variants.iter().zip(&names).map(|(v, n)| {
        let vi = &v.ident;
        quote! { #ident::#vi => #n }
    });
    Ok(quote! {
        impl ::flockport_core::api::ViewValue for #ident {
            fn ty() -> ::flockport_core::api::Ty {
                ::flockport_core::api::Ty::Literal(&[#(#names),*])
            }
            fn to_view(&self, _case: ::flockport_core::api::Case) -> ::std::option::Option<::serde_json::Value> {
                ::std::option::Option::Some(::serde_json::Value::String((match self { #(#arms),* }).to_string()))
            }
        }
    })
}

fn expand_struct(input: &DeriveInput, fields: &Fields) -> syn::Result<Tokens> {
    let Fields::Named(named) = fields else {
        return Err(syn::Error::new_spanned(input, "Record structs have named fields"));
    };
    let ident = &input.ident;
    let name = ident.to_string();
    let doc = doc_of(&input.attrs);
    let attrs = container_attrs(&input.attrs)?;
    let params: Vec<String> = input.generics.type_params().map(|p| p.ident.to_string()).collect();
    let api = quote!(::flockport_core::api);

    let mut shape_fields = Vec::new();
    let mut by_name = Vec::new();
    let mut lazy_by_name = Vec::new();
    let mut writes = Vec::new();
    let mut flattened = Vec::new();
    let mut lazy_flattened = Vec::new();
    for f in &named.named {
        let (serde_words, _) = serde_flags(&f.attrs)?;
        let fa = field_attrs(&f.attrs)?;
        if fa.skip || serde_words.iter().any(|w| w == "skip" || w == "skip_serializing") {
            continue;
        }
        let fi = f.ident.as_ref().ok_or_else(|| syn::Error::new_spanned(f, "unnamed field"))?;
        let ty = &f.ty;
        if serde_words.iter().any(|w| w == "flatten") && !fa.nested {
            shape_fields.push(quote! { fields.extend(<#ty as #api::Record>::shape().fields.iter().cloned()); });
            flattened.push(quote! {
                if let ::std::option::Option::Some(v) = #api::Record::field_view(&self.#fi, name, case) {
                    return ::std::option::Option::Some(v);
                }
            });
            lazy_flattened.push(quote! {
                if <#ty as #api::Record>::shape().field(name).is_some() {
                    return #api::Record::field_lazy(&self.#fi, name);
                }
            });
            writes.push(quote! { #api::Record::write_view(&self.#fi, out, case); });
            continue;
        }
        let snake = fa.rename.clone().unwrap_or_else(|| fi.to_string());
        let camel = snake.to_lower_camel_case();
        let fdoc = doc_of(&f.attrs);
        let param = match ty {
            syn::Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
                let s = p.path.segments[0].ident.to_string();
                if params.contains(&s) {
                    quote!(::std::option::Option::Some(#s))
                } else {
                    quote!(::std::option::Option::None)
                }
            }
            _ => quote!(::std::option::Option::None),
        };
        let (fty, value, lazy) = if fa.display {
            (
                quote!(#api::Ty::Str),
                quote!(::std::option::Option::Some(::serde_json::Value::String(self.#fi.to_string()))),
                quote!(#api::Lazy::Value(::serde_json::Value::String(self.#fi.to_string()))),
            )
        } else {
            (
                quote!(<#ty as #api::ViewValue>::ty()),
                quote!(#api::ViewValue::to_view(&self.#fi, case)),
                quote!(#api::ViewValue::to_lazy(&self.#fi)),
            )
        };
        lazy_by_name.push(quote! { #snake => #lazy, });
        shape_fields.push(quote! {
            fields.push(#api::Field { name: #snake, camel: #camel, doc: #fdoc, ty: #fty, param: #param, py_method: ::std::option::Option::None });
        });
        by_name.push(quote! { #snake => #value, });
        writes.push(quote! {
            if let ::std::option::Option::Some(v) = #value { out.insert(case.pick(#snake, #camel).to_string(), v); }
        });
    }
    for c in &attrs.computed {
        let snake = c.name.clone();
        let camel = snake.to_lower_camel_case();
        let cdoc = &c.doc;
        let cty = c.ty.as_ref();
        let with = c.with.as_ref();
        let py = match &c.py_method {
            Some(m) => quote!(::std::option::Option::Some(#m)),
            None => quote!(::std::option::Option::None),
        };
        shape_fields.push(quote! {
            fields.push(#api::Field { name: #snake, camel: #camel, doc: #cdoc, ty: <#cty as #api::ViewValue>::ty(), param: ::std::option::Option::None, py_method: #py });
        });
        let value = quote!(#api::ViewValue::to_view(&#with(self), case));
        by_name.push(quote! { #snake => #value, });
        lazy_by_name.push(quote! { #snake => #api::ViewValue::to_lazy(&#with(self)), });
        writes.push(quote! {
            if let ::std::option::Option::Some(v) = #value { out.insert(case.pick(#snake, #camel).to_string(), v); }
        });
    }
    let repr = match &attrs.repr {
        Some(names) => quote!(::std::option::Option::Some(&[#(#names),*])),
        None => quote!(::std::option::Option::None),
    };
    let str_field = match &attrs.str_field {
        Some(s) => quote!(::std::option::Option::Some(#s)),
        None => quote!(::std::option::Option::None),
    };
    let mut generics = input.generics.clone();
    for p in generics.type_params_mut() {
        p.bounds.push(syn::parse_quote!(#api::ViewValue));
        p.bounds.push(syn::parse_quote!(::std::clone::Clone));
        p.bounds.push(syn::parse_quote!(::std::marker::Send));
        p.bounds.push(syn::parse_quote!(::std::marker::Sync));
        p.bounds.push(syn::parse_quote!('static));
    }
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let args = input.generics.type_params().map(|p| {
        let pi = &p.ident;
        quote!(<#pi as #api::ViewValue>::ty())
    });
    let fn_shape = format_ident!("shape");
    Ok(quote! {
        impl #impl_g #api::Record for #ident #ty_g #where_g {
            fn build_shape() -> #api::RecordShape {
                let mut fields: ::std::vec::Vec<#api::Field> = ::std::vec::Vec::new();
                #(#shape_fields)*
                #api::RecordShape {
                    name: #name,
                    doc: #doc,
                    params: &[#(#params),*],
                    fields,
                    repr: #repr,
                    str_field: #str_field,
                }
            }
            fn field_view(&self, name: &str, case: #api::Case) -> ::std::option::Option<::serde_json::Value> {
                match name {
                    #(#by_name)*
                    _ => {
                        #(#flattened)*
                        ::std::option::Option::None
                    }
                }
            }
            fn field_lazy(&self, name: &str) -> #api::Lazy {
                match name {
                    #(#lazy_by_name)*
                    _ => {
                        #(#lazy_flattened)*
                        #api::Lazy::Value(::serde_json::Value::Null)
                    }
                }
            }
            fn write_view(&self, out: &mut ::serde_json::Map<::std::string::String, ::serde_json::Value>, case: #api::Case) {
                #(#writes)*
            }
        }
        impl #impl_g #api::ViewValue for #ident #ty_g #where_g {
            fn ty() -> #api::Ty {
                #api::Ty::Record(<Self as #api::Record>::#fn_shape, ::std::vec![#(#args),*])
            }
            fn to_view(&self, case: #api::Case) -> ::std::option::Option<::serde_json::Value> {
                let mut out = ::serde_json::Map::new();
                #api::Record::write_view(self, &mut out, case);
                ::std::option::Option::Some(::serde_json::Value::Object(out))
            }
            fn to_lazy(&self) -> #api::Lazy {
                #api::Lazy::Record(::std::boxed::Box::new(::std::clone::Clone::clone(self)))
            }
        }
    })
}
