//! The parsed form of a filter.

use time::{Date, OffsetDateTime};

/// A boolean condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, CmpOp, Operand),
    /// `left in (a, b, …)`.
    In(Operand, Vec<Literal>),
    /// `startswith(a, b)`, `endswith(a, b)`, `contains(a, b)`.
    Text(TextFn, Operand, Operand),
    /// `collection/any(var: body)`, `collection/all(var: body)`; `any()` has no body.
    Lambda {
        collection: Path,
        all: bool,
        var: String,
        body: Option<Box<Expr>>,
    },
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Path(Path),
    /// `collection/$count`.
    Count(Path),
    Lit(Literal),
}

/// `prop/sub/…`; the first segment may name a lambda variable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path(pub Vec<String>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn from_word(word: &str) -> Option<CmpOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextFn {
    StartsWith,
    EndsWith,
    Contains,
}

impl TextFn {
    pub fn from_word(word: &str) -> Option<TextFn> {
        Some(match word.to_ascii_lowercase().as_str() {
            "startswith" => TextFn::StartsWith,
            "endswith" => TextFn::EndsWith,
            "contains" => TextFn::Contains,
            _ => return None,
        })
    }
}

/// A constant in a filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    DateTime(OffsetDateTime),
    Date(Date),
    /// Unquoted, as OData writes `Edm.Guid` values; compared with text case-insensitively.
    Guid(String),
}

impl Expr {
    /// Top-level property names read, each once (case-insensitively), in order.
    pub fn properties(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect<'e>(&'e self, vars: &mut Vec<&'e str>, out: &mut Vec<String>) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect(vars, out);
                b.collect(vars, out);
            }
            Expr::Not(inner) => inner.collect(vars, out),
            Expr::Compare(left, _, right) | Expr::Text(_, left, right) => {
                left.collect(vars, out);
                right.collect(vars, out);
            }
            Expr::In(left, _) => left.collect(vars, out),
            Expr::Lambda {
                collection,
                var,
                body,
                ..
            } => {
                collection.collect(vars, out);
                if let Some(body) = body {
                    vars.push(var);
                    body.collect(vars, out);
                    vars.pop();
                }
            }
        }
    }
}

impl Operand {
    fn collect(&self, vars: &[&str], out: &mut Vec<String>) {
        match self {
            Operand::Path(path) | Operand::Count(path) => path.collect(vars, out),
            Operand::Lit(_) => {}
        }
    }
}

impl Path {
    fn collect(&self, vars: &[&str], out: &mut Vec<String>) {
        let Some(first) = self.0.first() else {
            return;
        };
        let is_var = vars.iter().any(|v| v == first);
        if !is_var && !out.iter().any(|p| p.eq_ignore_ascii_case(first)) {
            out.push(first.clone());
        }
    }
}
