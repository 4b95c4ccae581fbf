//! The `#[tool]` attribute of [`mcp-mount`](https://docs.rs/mcp-mount); use it as
//! `mcp_mount::tool`, whose documentation has the details and examples.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, LitBool, LitStr, Meta, Path, Token};

/// Makes a documented async fn an MCP tool: adds `<name>_tool() -> mcp_mount::Tool` beside it.
///
/// See `mcp_mount::tool` for the attribute's arguments and examples.
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(attr as Args);
    let function = syn::parse_macro_input!(item as ItemFn);
    match expand(args, function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The attribute's arguments, each at most once.
#[derive(Default)]
struct Args {
    name: Option<LitStr>,
    title: Option<LitStr>,
    description: Option<LitStr>,
    read_only: Option<LitBool>,
    destructive: Option<LitBool>,
    idempotent: Option<LitBool>,
    open_world: Option<LitBool>,
    krate: Option<Path>,
}

const KNOWN: &str = "name = \"…\", title = \"…\", description = \"…\", read_only, destructive, \
                     idempotent, open_world (each flag also `= true` / `= false`), \
                     crate = \"path::to::mcp_mount\"";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Self::default();
        for meta in Punctuated::<Meta, Token![,]>::parse_terminated(input)? {
            let key = meta.path().get_ident().map(ToString::to_string);
            let span = meta.span();
            match key.as_deref() {
                Some("name") => set(&mut args.name, string(&meta)?, span)?,
                Some("title") => set(&mut args.title, string(&meta)?, span)?,
                Some("description") => set(&mut args.description, string(&meta)?, span)?,
                Some("read_only") => set(&mut args.read_only, flag(&meta)?, span)?,
                Some("destructive") => set(&mut args.destructive, flag(&meta)?, span)?,
                Some("idempotent") => set(&mut args.idempotent, flag(&meta)?, span)?,
                Some("open_world") => set(&mut args.open_world, flag(&meta)?, span)?,
                Some("crate") => {
                    let path = string(&meta)?.parse()?;
                    set(&mut args.krate, path, span)?;
                }
                _ => {
                    return Err(syn::Error::new(
                        meta.path().span(),
                        format!("unknown #[tool] argument; the arguments are: {KNOWN}"),
                    ));
                }
            }
        }
        Ok(args)
    }
}

fn set<T>(slot: &mut Option<T>, value: T, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            span,
            "this #[tool] argument is given twice",
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `key = "text"`.
fn string(meta: &Meta) -> syn::Result<LitStr> {
    if let Meta::NameValue(syn::MetaNameValue {
        value: Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }),
        ..
    }) = meta
    {
        return Ok(text.clone());
    }
    Err(syn::Error::new(
        meta.span(),
        format!(
            "expected `{} = \"…\"` (a string literal)",
            quote!(#meta)
                .to_string()
                .split_whitespace()
                .next()
                .unwrap_or("key")
        ),
    ))
}

/// `key` (true) or `key = true` / `key = false`.
fn flag(meta: &Meta) -> syn::Result<LitBool> {
    match meta {
        Meta::Path(path) => Ok(LitBool::new(true, path.span())),
        Meta::NameValue(pair) => match &pair.value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(value),
                ..
            }) => Ok(value.clone()),
            other => Err(syn::Error::new(
                other.span(),
                "expected `true` or `false` (or the flag alone, meaning true)",
            )),
        },
        Meta::List(list) => Err(syn::Error::new(
            list.span(),
            "expected the flag alone, or `= true` / `= false`",
        )),
    }
}

/// The doc comment as rustdoc would show its source: one line per `///` line, each without
/// the single space after `///`, and without leading and trailing blank lines.
fn doc_comment(function: &ItemFn) -> Option<String> {
    let mut lines = Vec::new();
    for attr in &function.attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(syn::MetaNameValue {
            value:
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }),
            ..
        }) = &attr.meta
        {
            for line in text.value().split('\n') {
                lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned());
            }
        }
    }
    let text = lines.join("\n");
    let text = text.trim_matches('\n');
    (!text.trim().is_empty()).then(|| text.to_owned())
}

fn expand(args: Args, function: ItemFn) -> syn::Result<TokenStream2> {
    if let Some(receiver) = function.sig.receiver() {
        return Err(syn::Error::new(
            receiver.span(),
            "#[tool] goes on a free function, not a method: its arguments are one \
             `Deserialize + JsonSchema` type and/or a `RequestContext`",
        ));
    }
    if !function.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            function.sig.generics.span(),
            "a #[tool] function cannot be generic: its input schema is generated from one \
             concrete argument type",
        ));
    }
    if function.sig.inputs.len() > 2 {
        return Err(syn::Error::new(
            function.sig.inputs.span(),
            "a #[tool] function takes at most two arguments: `args: A` (a `Deserialize + \
             JsonSchema` type) and then `ctx: RequestContext`",
        ));
    }
    let krate = args.krate.unwrap_or_else(|| syn::parse_quote!(::mcp_mount));
    let ident = &function.sig.ident;
    let name = args
        .name
        .unwrap_or_else(|| LitStr::new(&ident.to_string(), ident.span()));
    let description = args
        .description
        .map(|text| text.value())
        .or_else(|| doc_comment(&function))
        .map(|text| quote!(.description(#text)));
    let title = args.title.map(|title| quote!(.title(#title)));
    let hints = [
        (args.read_only, quote!(read_only_hint)),
        (args.destructive, quote!(destructive_hint)),
        (args.idempotent, quote!(idempotent_hint)),
        (args.open_world, quote!(open_world_hint)),
    ];
    let hints: Vec<TokenStream2> = hints
        .into_iter()
        .filter_map(|(value, field)| {
            value.map(|value| quote!(#field: ::core::option::Option::Some(#value),))
        })
        .collect();
    let annotations = (!hints.is_empty()).then(|| {
        quote! {
            .annotations(#krate::model::ToolAnnotations {
                #(#hints)*
                ..::core::default::Default::default()
            })
        }
    });
    let vis = &function.vis;
    let constructor = format_ident!("{}_tool", ident);
    let doc = format!(
        "The MCP tool `{}` made from [`{ident}`] by `#[tool]`.",
        name.value()
    );
    // The handler check is spanned on the signature, so a shape the tool cannot take is
    // reported at the user's function rather than inside the macro.
    let new = quote_spanned! {function.sig.span()=>
        #krate::Tool::new(#name, #ident)
    };
    Ok(quote! {
        #function

        #[doc = #doc]
        #[must_use]
        #vis fn #constructor() -> #krate::Tool {
            #new #description #title #annotations
        }
    })
}
