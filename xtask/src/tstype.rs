//! The TypeScript the contract holds (ts-rs declarations and the types of parameters,
//! results and events), parsed into a small model that renderers other than TypeScript's
//! (JSON Schema) and the breaking-change check read. Only the subset ts-rs writes is
//! accepted: primitives, string literals, named types with type arguments, `Array<T>`, index
//! maps `{ [key in string]: T }`, object types whose fields may carry doc comments, and unions.

use std::collections::BTreeMap;

/// A type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    String,
    Number,
    Boolean,
    Null,
    /// `unknown`: any value.
    Unknown,
    /// `void`: an action's empty answer.
    Void,
    /// `Uint8Array`.
    Bytes,
    /// A string literal.
    Literal(String),
    /// A declared type, or one of its type parameters, with its type arguments.
    Named(String, Vec<Ty>),
    Array(Box<Ty>),
    /// `{ [key in string]: T }`.
    Map(Box<Ty>),
    Object(Vec<Field>),
    Union(Vec<Ty>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    pub optional: bool,
    pub docs: String,
}

/// `type Name<Params> = Ty;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decl {
    pub name: String,
    pub params: Vec<String>,
    pub ty: Ty,
}

impl Decl {
    /// The declared type with `args` in place of its parameters.
    pub fn instantiate(&self, args: &[Ty]) -> Ty {
        let bound: BTreeMap<&str, &Ty> = self.params.iter().map(String::as_str).zip(args).collect();
        substitute(&self.ty, &bound)
    }
}

fn substitute(ty: &Ty, bound: &BTreeMap<&str, &Ty>) -> Ty {
    let each = |tys: &[Ty]| tys.iter().map(|t| substitute(t, bound)).collect();
    match ty {
        Ty::Named(name, args) if args.is_empty() && bound.contains_key(name.as_str()) => {
            bound[name.as_str()].clone()
        }
        Ty::Named(name, args) => Ty::Named(name.clone(), each(args)),
        Ty::Array(inner) => Ty::Array(Box::new(substitute(inner, bound))),
        Ty::Map(inner) => Ty::Map(Box::new(substitute(inner, bound))),
        Ty::Union(tys) => Ty::Union(each(tys)),
        Ty::Object(fields) => Ty::Object(
            fields
                .iter()
                .map(|f| Field {
                    ty: substitute(&f.ty, bound),
                    ..f.clone()
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Parses a declaration as ts-rs writes it.
pub fn parse_decl(text: &str) -> Result<Decl, String> {
    let mut p = Parser::new(text)?;
    p.expect_ident("type")?;
    let name = p.ident()?;
    let mut params = Vec::new();
    if p.eat(&Tok::Punct('<')) {
        loop {
            params.push(p.ident()?);
            if !p.eat(&Tok::Punct(',')) {
                break;
            }
        }
        p.expect(&Tok::Punct('>'))?;
    }
    p.expect(&Tok::Punct('='))?;
    let ty = p.ty()?;
    p.eat(&Tok::Punct(';'));
    p.end()?;
    Ok(Decl { name, params, ty })
}

/// Parses a type.
pub fn parse_type(text: &str) -> Result<Ty, String> {
    let mut p = Parser::new(text)?;
    let ty = p.ty()?;
    p.end()?;
    Ok(ty)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    Doc(String),
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    text: String,
}

impl Parser {
    fn new(text: &str) -> Result<Self, String> {
        Ok(Self {
            toks: lex(text)?,
            at: 0,
            text: text.to_owned(),
        })
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!(
            "{what} at token {} of `{}` (found {:?})",
            self.at,
            self.text,
            self.toks.get(self.at)
        ))
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let found = self.peek() == Some(tok);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), String> {
        if self.eat(tok) {
            Ok(())
        } else {
            self.fail(&format!("expected {tok:?}"))
        }
    }

    fn expect_ident(&mut self, word: &str) -> Result<(), String> {
        self.expect(&Tok::Ident(word.to_owned()))
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.peek().cloned() {
            Some(Tok::Ident(name)) => {
                self.at += 1;
                Ok(name)
            }
            _ => self.fail("expected a name"),
        }
    }

    fn end(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("expected the end"),
        }
    }

    /// A union of one or more members (a leading `|` allowed).
    fn ty(&mut self) -> Result<Ty, String> {
        self.eat(&Tok::Punct('|'));
        let mut members = vec![self.member()?];
        while self.eat(&Tok::Punct('|')) {
            members.push(self.member()?);
        }
        Ok(if members.len() == 1 {
            members.remove(0)
        } else {
            Ty::Union(members)
        })
    }

    fn member(&mut self) -> Result<Ty, String> {
        match self.peek().cloned() {
            Some(Tok::Str(text)) => {
                self.at += 1;
                Ok(Ty::Literal(text))
            }
            Some(Tok::Punct('{')) => {
                self.at += 1;
                self.object()
            }
            Some(Tok::Ident(name)) => {
                self.at += 1;
                let mut args = Vec::new();
                if self.eat(&Tok::Punct('<')) {
                    loop {
                        args.push(self.ty()?);
                        if !self.eat(&Tok::Punct(',')) {
                            break;
                        }
                    }
                    self.expect(&Tok::Punct('>'))?;
                }
                Ok(match (name.as_str(), args.len()) {
                    ("string", 0) => Ty::String,
                    ("number", 0) => Ty::Number,
                    ("boolean", 0) => Ty::Boolean,
                    ("null", 0) => Ty::Null,
                    ("unknown", 0) => Ty::Unknown,
                    ("void", 0) => Ty::Void,
                    ("Uint8Array", 0) => Ty::Bytes,
                    ("Array", 1) => Ty::Array(Box::new(args.remove(0))),
                    _ => Ty::Named(name, args),
                })
            }
            _ => self.fail("expected a type"),
        }
    }

    /// After `{`: an index map or an object type's fields, up to `}`.
    fn object(&mut self) -> Result<Ty, String> {
        if self.eat(&Tok::Punct('[')) {
            self.ident()?;
            self.expect_ident("in")?;
            self.expect_ident("string")?;
            self.expect(&Tok::Punct(']'))?;
            self.eat(&Tok::Punct('?'));
            self.expect(&Tok::Punct(':'))?;
            let value = self.ty()?;
            self.eat(&Tok::Punct(','));
            self.expect(&Tok::Punct('}'))?;
            return Ok(Ty::Map(Box::new(value)));
        }
        let mut fields = Vec::new();
        loop {
            let mut docs = String::new();
            while let Some(Tok::Doc(text)) = self.peek().cloned() {
                self.at += 1;
                docs = text;
            }
            if self.eat(&Tok::Punct('}')) {
                return Ok(Ty::Object(fields));
            }
            let name = match self.peek().cloned() {
                Some(Tok::Ident(name) | Tok::Str(name)) => {
                    self.at += 1;
                    name
                }
                _ => return self.fail("expected a field name"),
            };
            let optional = self.eat(&Tok::Punct('?'));
            self.expect(&Tok::Punct(':'))?;
            let ty = self.ty()?;
            fields.push(Field {
                name,
                ty,
                optional,
                docs,
            });
            if !self.eat(&Tok::Punct(',')) {
                self.expect(&Tok::Punct('}'))?;
                return Ok(Ty::Object(fields));
            }
        }
    }
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '/' if text[i..].starts_with("/**") => {
                let end = text[i..]
                    .find("*/")
                    .ok_or_else(|| format!("an unclosed comment in `{text}`"))?;
                toks.push(Tok::Doc(doc_text(&text[i + 3..i + end])));
                while chars.peek().is_some_and(|(j, _)| *j < i + end + 2) {
                    chars.next();
                }
            }
            '"' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                        Some((_, c)) => value.push(c),
                        None => return Err(format!("an unclosed string in `{text}`")),
                    }
                }
                toks.push(Tok::Str(value));
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut name = String::from(c);
                while let Some((_, c)) = chars.peek().copied()
                    && (c.is_alphanumeric() || c == '_' || c == '$')
                {
                    name.push(c);
                    chars.next();
                }
                toks.push(Tok::Ident(name));
            }
            '{' | '}' | '<' | '>' | '[' | ']' | ':' | '?' | ',' | '|' | '=' | ';' => {
                toks.push(Tok::Punct(c));
            }
            other => return Err(format!("unexpected `{other}` in `{text}`")),
        }
    }
    Ok(toks)
}

/// A doc comment's text without its ` * ` margins.
fn doc_text(body: &str) -> String {
    body.lines()
        .map(|line| line.trim().trim_start_matches('*').trim())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Ty {
        Ty::Named(name.into(), vec![])
    }

    #[test]
    fn declarations_of_every_shape_parse() {
        let decl = parse_decl(
            "type X = { a: string, \n/**\n * The b.\n * Two lines.\n */\nb?: Array<number> | null, \"type\": \"x\", m: { [key in string]: Y }, };",
        )
        .unwrap();
        let Ty::Object(fields) = &decl.ty else {
            panic!("{decl:?}")
        };
        assert_eq!(fields.len(), 4);
        assert_eq!(fields[1].docs, "The b.\nTwo lines.");
        assert!(fields[1].optional);
        assert_eq!(
            fields[1].ty,
            Ty::Union(vec![Ty::Array(Box::new(Ty::Number)), Ty::Null])
        );
        assert_eq!(fields[2].ty, Ty::Literal("x".into()));
        assert_eq!(fields[3].ty, Ty::Map(Box::new(named("Y"))));
        assert_eq!(
            parse_decl(r#"type K = "a" | "b";"#).unwrap().ty,
            Ty::Union(vec![Ty::Literal("a".into()), Ty::Literal("b".into())])
        );
    }

    #[test]
    fn generic_declarations_instantiate() {
        let decl = parse_decl(r#"type O<T> = { "ok": T } | { "err": string };"#).unwrap();
        assert_eq!(decl.params, ["T"]);
        let Ty::Union(members) = decl.instantiate(&[Ty::Bytes]) else {
            panic!()
        };
        let Ty::Object(fields) = &members[0] else {
            panic!()
        };
        assert_eq!(fields[0].ty, Ty::Bytes);
        assert_eq!(
            parse_type("O<Uint8Array>").unwrap(),
            Ty::Named("O".into(), vec![Ty::Bytes])
        );
    }

    #[test]
    fn what_ts_rs_never_writes_is_refused() {
        for bad in [
            "type = string;",
            "[string, number]",
            "{ a: }",
            "string &",
            "{ a: string",
        ] {
            assert!(
                parse_type(bad).is_err() && parse_decl(bad).is_err(),
                "{bad}"
            );
        }
    }
}
