//! kit-io: the course's stdio protocol for your solutions. A solution reads ONE JSON object
//! (the inputs) from stdin and prints ONE JSON object (the outputs) to stdout.
//!
//! ```no_run
//! let input = kit_io::read_input();
//! let w = input.vec("w");
//! let b = input.float("b");
//! let mut out = kit_io::Output::new();
//! out.float("z", w.iter().sum::<f64>() + b);
//! kit_io::write_output(&out);
//! ```
//!
//! Non-finite floats travel as the strings `"inf"`, `"-inf"` and `"nan"`: JSON has no
//! infinity, and serde_json on its own would print them as `null`, which the grader rejects.
//! The getters read those strings back (in any letter case, also `"Infinity"` and `"NaN"`).
//! A getter given a missing or mistyped input prints what is wrong to stderr and exits with
//! status 2.

use std::io::{Read, Write};

pub use serde_json::{Map, Value, json};

/// The inputs of one test case.
#[derive(Clone, Debug)]
pub struct Input {
    fields: Map<String, Value>,
}

/// Reads the one JSON object on stdin.
pub fn read_input() -> Input {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        fail(&format!("cannot read stdin: {e}"));
    }
    match serde_json::from_str(&text) {
        Ok(Value::Object(fields)) => Input { fields },
        Ok(_) => fail("stdin is not a JSON object"),
        Err(e) => fail(&format!("stdin is not JSON: {e}")),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("kit_io: {message}");
    std::process::exit(2)
}

impl Input {
    /// Every input as JSON.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// Whether an (optional) input is given: present and not null.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// An input as JSON, `None` when it is absent or null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    /// An input as JSON (lists, maps, anything): for the types without a getter.
    pub fn value(&self, name: &str) -> &Value {
        match self.fields.get(name) {
            Some(v) => v,
            None => fail(&format!("the input has no field `{name}`")),
        }
    }

    pub fn float(&self, name: &str) -> f64 {
        to_f64(self.value(name)).unwrap_or_else(|| fail(&format!("`{name}` is not a number")))
    }

    pub fn int(&self, name: &str) -> i64 {
        to_i64(self.value(name)).unwrap_or_else(|| fail(&format!("`{name}` is not an integer")))
    }

    pub fn bool(&self, name: &str) -> bool {
        self.value(name)
            .as_bool()
            .unwrap_or_else(|| fail(&format!("`{name}` is not true or false")))
    }

    pub fn str(&self, name: &str) -> String {
        match self.value(name).as_str() {
            Some(s) => s.to_string(),
            None => fail(&format!("`{name}` is not a string")),
        }
    }

    /// A vector: an array of numbers.
    pub fn vec(&self, name: &str) -> Vec<f64> {
        to_vec(self.value(name)).unwrap_or_else(|| fail(&format!("`{name}` is not a vector")))
    }

    /// A matrix: an array of rows, each an array of numbers (row-major).
    pub fn mat(&self, name: &str) -> Vec<Vec<f64>> {
        let rows = self
            .value(name)
            .as_array()
            .unwrap_or_else(|| fail(&format!("`{name}` is not a matrix")));
        rows.iter()
            .map(|row| {
                to_vec(row).unwrap_or_else(|| fail(&format!("a row of `{name}` is not a vector")))
            })
            .collect()
    }
}

/// A number, or one of the strings "inf", "-inf", "nan" (any case, or "Infinity", "NaN").
pub fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            "nan" => Some(f64::NAN),
            _ => None,
        },
        _ => None,
    }
}

/// An integer (a whole number written as 3.0 is read too).
pub fn to_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
            .map(|x| x as i64)
    })
}

/// A vector: an array of numbers.
pub fn to_vec(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?.iter().map(to_f64).collect()
}

/// A float as the protocol writes it: a number, or "inf", "-inf", "nan".
pub fn float(x: f64) -> Value {
    if x.is_nan() {
        Value::from("nan")
    } else if x == f64::INFINITY {
        Value::from("inf")
    } else if x == f64::NEG_INFINITY {
        Value::from("-inf")
    } else {
        Value::from(x)
    }
}

/// A vector as the protocol writes it.
pub fn vec(xs: &[f64]) -> Value {
    Value::Array(xs.iter().map(|&x| float(x)).collect())
}

/// A matrix as the protocol writes it: an array of rows.
pub fn mat(rows: &[Vec<f64>]) -> Value {
    Value::Array(rows.iter().map(|r| vec(r)).collect())
}

/// The number of columns of a matrix (0 when it has no rows).
pub fn cols(m: &[Vec<f64>]) -> usize {
    m.first().map_or(0, Vec::len)
}

/// `n` copies of `x` (none when `n` ≤ 0): the starters' placeholder vectors.
pub fn filled(n: i64, x: f64) -> Vec<f64> {
    vec![x; usize::try_from(n).unwrap_or(0)]
}

/// A `rows`×`cols` matrix of `x`: the starters' placeholder matrices.
pub fn filled_mat(rows: i64, cols: i64, x: f64) -> Vec<Vec<f64>> {
    vec![filled(cols, x); usize::try_from(rows).unwrap_or(0)]
}

/// The outputs of one test case, printed by [`write_output`].
#[derive(Clone, Debug, Default)]
pub struct Output {
    fields: Map<String, Value>,
}

impl Output {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn float(&mut self, name: &str, x: f64) -> &mut Self {
        self.value(name, float(x))
    }

    pub fn int(&mut self, name: &str, n: i64) -> &mut Self {
        self.value(name, Value::from(n))
    }

    pub fn bool(&mut self, name: &str, b: bool) -> &mut Self {
        self.value(name, Value::from(b))
    }

    pub fn str(&mut self, name: &str, s: &str) -> &mut Self {
        self.value(name, Value::from(s))
    }

    pub fn vec(&mut self, name: &str, xs: &[f64]) -> &mut Self {
        self.value(name, vec(xs))
    }

    pub fn mat(&mut self, name: &str, rows: &[Vec<f64>]) -> &mut Self {
        self.value(name, mat(rows))
    }

    /// Any JSON value (lists, maps, null). Write non-finite floats in it with [`float`]:
    /// `json!` turns them into `null`.
    pub fn value(&mut self, name: &str, value: Value) -> &mut Self {
        self.fields.insert(name.to_string(), value);
        self
    }

    /// The object as JSON text, on one line.
    pub fn to_json(&self) -> String {
        Value::Object(self.fields.clone()).to_string()
    }
}

/// Prints the outputs: one JSON object and a newline on stdout.
pub fn write_output(out: &Output) {
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "{}", out.to_json()).and_then(|()| stdout.flush());
    if let Err(e) = written {
        fail(&format!("cannot write stdout: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_floats_are_strings_both_ways() {
        let mut out = Output::new();
        out.float("a", f64::NAN)
            .vec("v", &[1.5, f64::INFINITY, f64::NEG_INFINITY])
            .int("n", -1);
        assert_eq!(
            out.to_json(),
            r#"{"a":"nan","n":-1,"v":[1.5,"inf","-inf"]}"#
        );
        let back: Value = serde_json::from_str(&out.to_json()).expect("json");
        assert!(to_f64(&back["a"]).is_some_and(f64::is_nan));
        assert_eq!(
            to_vec(&back["v"]),
            Some(vec![1.5, f64::INFINITY, f64::NEG_INFINITY])
        );
        assert_eq!(to_f64(&json!("Infinity")), Some(f64::INFINITY));
    }

    #[test]
    fn placeholders_have_the_asked_shape() {
        assert_eq!(filled_mat(2, 3, 0.0), vec![vec![0.0; 3]; 2]);
        assert!(filled(-1, 0.0).is_empty());
        assert_eq!(cols(&filled_mat(0, 3, 0.0)), 0);
    }
}
