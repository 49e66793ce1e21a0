//! An output's shape in terms of the inputs: `dims = ["rows(x) - rows(k) + 1", "cols(x) - cols(k) + 1"]`
//! in a `[[outputs]]` table, one expression per dimension of a `vec` (1) or `mat` (2).
//!
//! It is part of the contract a student sees (`grader show`), `grader check` proves it against
//! every case, and `grader init` uses it to give the starters' placeholder answers the right
//! shape. Grading does not use it: the expected outputs already have their shapes.
//!
//! The language: integers, the value of an `int` input (`n`), `len(v)` of a `vec` or list,
//! `rows(m)` and `cols(m)` of a `mat`, `+ - * /` (integer division, truncating) and
//! parentheses.

use std::fmt;

use serde_json::Value as Json;

/// What a leaf of an expression measures of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// The value of an `int` input.
    Value,
    /// The length of a `vec` (or a list).
    Len,
    /// The number of rows of a `mat`.
    Rows,
    /// The number of columns of a `mat` (0 when it has no rows).
    Cols,
}

impl Measure {
    fn name(self) -> Option<&'static str> {
        match self {
            Measure::Value => None,
            Measure::Len => Some("len"),
            Measure::Rows => Some("rows"),
            Measure::Cols => Some("cols"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    fn symbol(self) -> char {
        match self {
            Op::Add => '+',
            Op::Sub => '-',
            Op::Mul => '*',
            Op::Div => '/',
        }
    }

    fn precedence(self) -> u8 {
        match self {
            Op::Add | Op::Sub => 1,
            Op::Mul | Op::Div => 2,
        }
    }
}

/// One dimension of an output, as an expression over the inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    Const(i64),
    Input(Measure, String),
    Op(Box<Dim>, Op, Box<Dim>),
}

impl Dim {
    /// Parses one dimension, e.g. `rows(x) - rows(k) + 1`.
    pub fn parse(text: &str) -> Result<Dim, String> {
        let tokens = tokens(text)?;
        let mut parser = Parser { tokens, at: 0 };
        let dim = parser.sum()?;
        match parser.tokens.get(parser.at) {
            None => Ok(dim),
            Some(t) => Err(format!("unexpected `{t}` in `{text}`")),
        }
    }

    /// Every input the expression reads, with what it measures of it.
    pub fn inputs(&self) -> Vec<(Measure, &str)> {
        match self {
            Dim::Const(_) => Vec::new(),
            Dim::Input(m, name) => vec![(*m, name.as_str())],
            Dim::Op(a, _, b) => {
                let mut v = a.inputs();
                v.extend(b.inputs());
                v
            }
        }
    }

    /// The size for one case's inputs; `None` when an input is missing or of the wrong kind,
    /// on overflow or a division by zero.
    pub fn eval(&self, input: &serde_json::Map<String, Json>) -> Option<i64> {
        match self {
            Dim::Const(n) => Some(*n),
            Dim::Input(measure, name) => {
                let value = input.get(name)?;
                let len = |v: &Json| v.as_array().map(|a| i64::try_from(a.len()).ok());
                match measure {
                    Measure::Value => value.as_i64(),
                    Measure::Len | Measure::Rows => len(value)?,
                    Measure::Cols => match value.as_array()?.first() {
                        None => Some(0),
                        Some(row) => len(row)?,
                    },
                }
            }
            Dim::Op(a, op, b) => {
                let (a, b) = (a.eval(input)?, b.eval(input)?);
                match op {
                    Op::Add => a.checked_add(b),
                    Op::Sub => a.checked_sub(b),
                    Op::Mul => a.checked_mul(b),
                    Op::Div => a.checked_div(b),
                }
            }
        }
    }

    /// The expression written with `leaf` for each input's measure, parenthesised where
    /// precedence needs it: how the starters compute it in Rust or C.
    pub fn render(&self, leaf: &dyn Fn(Measure, &str) -> String) -> String {
        self.render_with_div(leaf, "/")
    }

    /// [`Dim::render`] with `div` for the integer division (Python's `//`).
    pub fn render_with_div(&self, leaf: &dyn Fn(Measure, &str) -> String, div: &str) -> String {
        let mut out = String::new();
        self.render_into(&mut out, leaf, div, 0, false);
        out
    }

    fn render_into(
        &self,
        out: &mut String,
        leaf: &dyn Fn(Measure, &str) -> String,
        div: &str,
        parent: u8,
        right: bool,
    ) {
        match self {
            Dim::Const(n) => out.push_str(&n.to_string()),
            Dim::Input(m, name) => out.push_str(&leaf(*m, name)),
            Dim::Op(a, op, b) => {
                let p = op.precedence();
                // `a - (b - c)` and `a / (b * c)` keep their parentheses.
                let parens = p < parent || (right && p == parent);
                if parens {
                    out.push('(');
                }
                a.render_into(out, leaf, div, p, false);
                out.push(' ');
                match op {
                    Op::Div => out.push_str(div),
                    _ => out.push(op.symbol()),
                }
                out.push(' ');
                let keep = matches!(op, Op::Sub | Op::Div);
                b.render_into(out, leaf, div, p, keep);
                if parens {
                    out.push(')');
                }
            }
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&|m, name| match m.name() {
            Some(func) => format!("{func}({name})"),
            None => name.to_string(),
        }))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Int(i64),
    Name(String),
    Sym(char),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Int(n) => write!(f, "{n}"),
            Token::Name(s) => f.write_str(s),
            Token::Sym(c) => write!(f, "{c}"),
        }
    }
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            let n = digits
                .parse()
                .map_err(|_| format!("`{digits}` is too large"))?;
            out.push(Token::Int(n));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else if "+-*/()".contains(c) {
            out.push(Token::Sym(c));
            i += 1;
        } else {
            return Err(format!(
                "`{c}` in `{text}`: write sizes with integers, input names, len(v), rows(m), \
                 cols(m), + - * / and parentheses"
            ));
        }
    }
    if out.is_empty() {
        return Err("is empty".into());
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, sym: char) -> Result<(), String> {
        match self.next() {
            Some(Token::Sym(c)) if c == sym => Ok(()),
            Some(t) => Err(format!("expected `{sym}`, found `{t}`")),
            None => Err(format!("expected `{sym}` at the end")),
        }
    }

    fn sum(&mut self) -> Result<Dim, String> {
        let mut left = self.product()?;
        while let Some(Token::Sym(c @ ('+' | '-'))) = self.peek() {
            let op = if *c == '+' { Op::Add } else { Op::Sub };
            self.at += 1;
            let right = self.product()?;
            left = Dim::Op(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Dim, String> {
        let mut left = self.atom()?;
        while let Some(Token::Sym(c @ ('*' | '/'))) = self.peek() {
            let op = if *c == '*' { Op::Mul } else { Op::Div };
            self.at += 1;
            let right = self.atom()?;
            left = Dim::Op(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Dim, String> {
        match self.next() {
            Some(Token::Int(n)) => Ok(Dim::Const(n)),
            Some(Token::Sym('(')) => {
                let inner = self.sum()?;
                self.expect(')')?;
                Ok(inner)
            }
            Some(Token::Name(name)) => {
                if self.peek() != Some(&Token::Sym('(')) {
                    return Ok(Dim::Input(Measure::Value, name));
                }
                let measure = match name.as_str() {
                    "len" => Measure::Len,
                    "rows" => Measure::Rows,
                    "cols" => Measure::Cols,
                    other => {
                        return Err(format!(
                            "`{other}(…)` is not a size: use len(v), rows(m) or cols(m)"
                        ));
                    }
                };
                self.expect('(')?;
                let arg = match self.next() {
                    Some(Token::Name(arg)) => arg,
                    Some(t) => return Err(format!("`{name}(…)` takes an input's name, not `{t}`")),
                    None => return Err(format!("`{name}(` is not closed")),
                };
                self.expect(')')?;
                Ok(Dim::Input(measure, arg))
            }
            Some(t) => Err(format!("unexpected `{t}`")),
            None => Err("ends where a size is expected".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Json) -> serde_json::Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn parses_evaluates_and_prints() {
        let x =
            input(json!({"x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "k": [[1, 0]], "n": 4, "v": []}));
        for (text, want, printed) in [
            ("rows(x) - rows(k) + 1", Some(3), "rows(x) - rows(k) + 1"),
            ("cols(x)-cols(k)+1", Some(2), "cols(x) - cols(k) + 1"),
            ("n", Some(4), "n"),
            ("2 * (n - 1)", Some(6), "2 * (n - 1)"),
            ("n - (n - 1)", Some(1), "n - (n - 1)"),
            ("(n - 1) - 1", Some(2), "n - 1 - 1"),
            ("n / 3", Some(1), "n / 3"),
            ("n / (4 - n)", None, "n / (4 - n)"),
            ("len(v)", Some(0), "len(v)"),
            ("cols(v)", Some(0), "cols(v)"),
            ("len(missing)", None, "len(missing)"),
        ] {
            let dim = Dim::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(dim.eval(&x), want, "{text}");
            assert_eq!(dim.to_string(), printed);
            assert_eq!(Dim::parse(printed).as_ref(), Ok(&dim), "{printed}");
        }
    }

    #[test]
    fn division_is_written_as_asked() {
        let dim = Dim::parse("len(v) / (n / 2)").expect("parse");
        let leaf = |_: Measure, name: &str| name.to_string();
        assert_eq!(dim.render(&leaf), "v / (n / 2)");
        assert_eq!(dim.render_with_div(&leaf, "//"), "v // (n // 2)");
    }

    #[test]
    fn rejects_what_is_not_a_size() {
        for text in [
            "", "rows(x", "sqrt(n)", "n +", "len(2)", "n ^ 2", "rows x", "1 2",
        ] {
            assert!(Dim::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn lists_its_inputs() {
        let dim = Dim::parse("rows(q) * n - cols(v)").expect("parse");
        assert_eq!(
            dim.inputs(),
            vec![
                (Measure::Rows, "q"),
                (Measure::Value, "n"),
                (Measure::Cols, "v")
            ]
        );
    }
}
