//! Recursive descent over the tokens: `or` < `and` < `not` < conditions.
//!
//! `not` negates the condition that follows it (`not startswith(jobTitle,'Intern')`,
//! `not department eq 'Sales'`), which is what an admin means and how Graph reads it; strict
//! OData would bind `not` to the property alone, which is meaningless for text.

use crate::ast::{CmpOp, Expr, Literal, Operand, Path, TextFn};
use crate::lexer::{Tok, Token};
use crate::ParseError;

/// Parentheses and `not`s nested deeper than this are refused instead of exhausting the stack.
const MAX_DEPTH: usize = 64;

const CONDITION: &str = "expected a condition such as department eq 'Sales'";
const OPERATOR: &str = "expected an operator (eq, ne, gt, ge, lt, le or in)";
const VALUE: &str = "expected a value: 'text', a number, true, false, null, a date-time or a GUID";

pub(crate) fn parse(tokens: Vec<Token>) -> Result<Expr, ParseError> {
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    let next = parser.peek();
    if next.tok != Tok::End {
        return Err(parser.error_here("expected 'and', 'or' or the end of the filter"));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

/// What a term turned out to be: a value to compare, or a lambda (already a condition).
enum Term {
    Operand(Operand),
    Condition(Expr),
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "and" | "or" | "not" | "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "in" | "has"
    )
}

impl Parser {
    fn peek(&self) -> &Token {
        // The last token is always End, and `at` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.at + ahead).min(self.tokens.len() - 1)].tok
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.at += 1;
        }
        token
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(word))
    }

    /// `message` at the current token, naming what is there.
    fn error_here(&self, message: impl Into<String>) -> ParseError {
        let token = self.peek();
        ParseError::new(token.position, message).found(token.describe())
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), ParseError> {
        if self.peek().tok == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.error_here(format!("expected {what}")))
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.bump();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.is_word("and") {
            self.bump();
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!("the filter nests deeper than {MAX_DEPTH} levels")));
        }
        let result = if self.is_word("not") {
            self.bump();
            self.unary().map(|inner| Expr::Not(Box::new(inner)))
        } else {
            self.condition()
        };
        self.depth -= 1;
        result
    }

    fn condition(&mut self) -> Result<Expr, ParseError> {
        match self.peek().tok.clone() {
            Tok::Open => {
                self.bump();
                let inner = self.or()?;
                self.expect(Tok::Close, "')'")?;
                Ok(inner)
            }
            Tok::Word(word) if *self.peek_at(1) == Tok::Open && !is_keyword(&word) => {
                let Some(function) = TextFn::from_word(&word) else {
                    return Err(self.error_here(format!(
                        "unknown function '{word}' (Crosswalk evaluates startswith, endswith and contains)"
                    )));
                };
                self.bump();
                self.bump();
                let first = self.operand()?;
                self.expect(Tok::Comma, "','")?;
                let second = self.operand()?;
                self.expect(Tok::Close, "')'")?;
                Ok(Expr::Text(function, first, second))
            }
            Tok::Word(word) if is_keyword(&word) => Err(self.error_here(CONDITION)),
            Tok::Word(_) | Tok::Lit(_) => {
                let left_token = self.peek().clone();
                let left = match self.term()? {
                    Term::Condition(lambda) => return Ok(lambda),
                    Term::Operand(operand) => operand,
                };
                self.comparison(left, &left_token)
            }
            _ => Err(self.error_here(CONDITION)),
        }
    }

    /// `left op right` or `left in (…)`, after `left`.
    fn comparison(&mut self, left: Operand, left_token: &Token) -> Result<Expr, ParseError> {
        let op_word = match &self.peek().tok {
            Tok::Word(word) => word.clone(),
            _ => String::new(),
        };
        if op_word.eq_ignore_ascii_case("in") {
            self.bump();
            self.expect(Tok::Open, "'(' after in")?;
            let mut list = vec![self.literal()?];
            while self.peek().tok == Tok::Comma {
                self.bump();
                list.push(self.literal()?);
            }
            self.expect(Tok::Close, "')' or ','")?;
            return Ok(Expr::In(left, list));
        }
        let Some(op) = CmpOp::from_word(&op_word) else {
            let after = match &left_token.tok {
                Tok::Word(_) => format!(" after '{}'", left_token.text),
                _ => String::new(),
            };
            return Err(self.error_here(format!("{OPERATOR}{after}")));
        };
        self.bump();
        let right = self.operand()?;
        Ok(Expr::Compare(left, op, right))
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        match self.peek().tok.clone() {
            Tok::Lit(literal) => {
                self.bump();
                Ok(literal)
            }
            _ => Err(self.error_here(VALUE)),
        }
    }

    /// A value: a literal, a property path or a `$count`; never a lambda.
    fn operand(&mut self) -> Result<Operand, ParseError> {
        let start = self.peek().clone();
        match self.term()? {
            Term::Operand(operand) => Ok(operand),
            Term::Condition(_) => Err(ParseError::new(
                start.position,
                "expected a value here, not an any/all condition",
            )),
        }
    }

    fn term(&mut self) -> Result<Term, ParseError> {
        let token = self.peek().clone();
        let first = match token.tok {
            Tok::Lit(literal) => {
                self.bump();
                return Ok(Term::Operand(Operand::Lit(literal)));
            }
            Tok::Word(word) if !is_keyword(&word) && !word.starts_with('$') => {
                self.bump();
                word
            }
            _ => return Err(self.error_here("expected a property or a value")),
        };
        let mut segments = vec![first];
        while self.peek().tok == Tok::Slash {
            self.bump();
            let segment = match self.peek().tok.clone() {
                Tok::Word(word) => word,
                _ => return Err(self.error_here("expected a property name after '/'")),
            };
            let lower = segment.to_ascii_lowercase();
            if (lower == "any" || lower == "all") && *self.peek_at(1) == Tok::Open {
                self.bump();
                self.bump();
                return self
                    .lambda(Path(segments), lower == "all")
                    .map(Term::Condition);
            }
            if lower == "$count" {
                self.bump();
                return Ok(Term::Operand(Operand::Count(Path(segments))));
            }
            if is_keyword(&segment) || segment.starts_with('$') {
                return Err(self.error_here("expected a property name after '/'"));
            }
            self.bump();
            segments.push(segment);
        }
        Ok(Term::Operand(Operand::Path(Path(segments))))
    }

    /// After `collection/any(`: `)`, or `var: condition)`.
    fn lambda(&mut self, collection: Path, all: bool) -> Result<Expr, ParseError> {
        if !all && self.peek().tok == Tok::Close {
            self.bump();
            return Ok(Expr::Lambda {
                collection,
                all,
                var: String::new(),
                body: None,
            });
        }
        let var = match self.peek().tok.clone() {
            Tok::Word(word) if !is_keyword(&word) && !word.starts_with('$') => word,
            _ => {
                return Err(
                    self.error_here("expected a variable name and ':' (e.g. x: x eq 'value')")
                )
            }
        };
        self.bump();
        self.expect(Tok::Colon, "':' after the variable name")?;
        let body = self.or()?;
        self.expect(Tok::Close, "')'")?;
        Ok(Expr::Lambda {
            collection,
            all,
            var,
            body: Some(Box::new(body)),
        })
    }
}
