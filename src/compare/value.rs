//! Typed values: the contract's JSON (numbers, `"inf"`/`"nan"` strings, arrays, objects)
//! read against a declared [`FieldType`], with vectors and matrices as ndarray arrays.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use ndarray::{Array1, Array2};
use serde_json::Value as Json;

/// The declared type of an input or output field, written in specs as `float`, `mat`,
/// `list<str>`, `map<float>`, `optional<str>`, …
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    Int,
    Float,
    Bool,
    Str,
    /// A vector of floats.
    Vec,
    /// A matrix of floats: an array of equal-length arrays, row-major.
    Mat,
    List(Box<FieldType>),
    /// An object with string keys.
    Map(Box<FieldType>),
    /// The value or `null`.
    Optional(Box<FieldType>),
    /// Any JSON value, compared exactly (for structured inputs such as an agent's turns).
    Json,
}

impl FromStr for FieldType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let inner = |prefix: &str| {
            s.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix('>'))
                .map(FieldType::from_str)
        };
        match s {
            "int" => return Ok(Self::Int),
            "float" => return Ok(Self::Float),
            "bool" => return Ok(Self::Bool),
            "str" => return Ok(Self::Str),
            "vec" => return Ok(Self::Vec),
            "mat" => return Ok(Self::Mat),
            "json" => return Ok(Self::Json),
            _ => {}
        }
        if let Some(t) = inner("list<") {
            return Ok(Self::List(Box::new(t?)));
        }
        if let Some(t) = inner("map<") {
            return Ok(Self::Map(Box::new(t?)));
        }
        if let Some(t) = inner("optional<") {
            return Ok(Self::Optional(Box::new(t?)));
        }
        Err(format!(
            "unknown type `{s}` (expected int, float, bool, str, vec, mat, json, list<T>, \
             map<T> or optional<T>)"
        ))
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int => f.write_str("int"),
            Self::Float => f.write_str("float"),
            Self::Bool => f.write_str("bool"),
            Self::Str => f.write_str("str"),
            Self::Vec => f.write_str("vec"),
            Self::Mat => f.write_str("mat"),
            Self::List(t) => write!(f, "list<{t}>"),
            Self::Map(t) => write!(f, "map<{t}>"),
            Self::Optional(t) => write!(f, "optional<{t}>"),
            Self::Json => f.write_str("json"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for FieldType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for FieldType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FieldType {
    /// Whether values of this type hold floats, compared with a tolerance; the rest compare
    /// exactly (`show` prints no tolerance for them).
    pub fn has_floats(&self) -> bool {
        match self {
            Self::Float | Self::Vec | Self::Mat => true,
            Self::List(inner) | Self::Map(inner) | Self::Optional(inner) => inner.has_floats(),
            Self::Int | Self::Bool | Self::Str | Self::Json => false,
        }
    }

    /// The type in words, for "expected …" messages.
    fn describe(&self) -> String {
        match self {
            Self::Int => "an integer".into(),
            Self::Float => "a number (or \"inf\", \"-inf\", \"nan\")".into(),
            Self::Bool => "true or false".into(),
            Self::Str => "a string".into(),
            Self::Vec => "a vector (an array of numbers)".into(),
            Self::Mat => "a matrix (an array of equal-length arrays of numbers)".into(),
            Self::List(t) => format!("an array of {}", t.describe_short()),
            Self::Map(t) => format!("an object whose values are {}", t.describe_short()),
            Self::Optional(t) => format!("{} or null", t.describe()),
            Self::Json => "any JSON value".into(),
        }
    }

    fn describe_short(&self) -> String {
        match self {
            Self::Int => "integers".into(),
            Self::Float => "numbers".into(),
            Self::Bool => "booleans".into(),
            Self::Str => "strings".into(),
            other => format!("`{other}` values"),
        }
    }
}

/// A value read against its declared type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
    Vec(Array1<f64>),
    Mat(Array2<f64>),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Json(Json),
}

/// A JSON value that does not have its declared type. `path` is like `y[1][0]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path, self.message)
    }
}

/// What a JSON value is, in words, without quoting it (it may be hidden data).
pub fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        // JSON has one number type: a whole number past 64 bits arrives as a float.
        Json::Number(n)
            if n.as_f64()
                .is_some_and(|x| x.fract() == 0.0 && x.abs() >= 9.2e18) =>
        {
            "an integer too large for 64 bits"
        }
        Json::Number(n) if n.is_f64() => "a non-integer number",
        Json::Number(_) => "an integer",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// `null` where a number belongs is nearly always a NaN or an infinity that serde_json (or
/// JavaScript) printed as `null`: say so, and how to write one.
fn null_hint(json: &Json, ty: &FieldType) -> &'static str {
    let numeric = matches!(ty, FieldType::Float | FieldType::Vec | FieldType::Mat);
    if json.is_null() && numeric {
        " (a NaN or an infinity? serde_json prints those as null: write the strings \"nan\", \
         \"inf\" or \"-inf\")"
    } else {
        ""
    }
}

/// Reads a float: a JSON number or one of the contract's non-finite strings.
pub fn parse_float(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.to_ascii_lowercase().as_str() {
            "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            "nan" => Some(f64::NAN),
            _ => None,
        },
        _ => None,
    }
}

/// Reads `json` as a `ty`; `path` names it in errors.
pub fn parse(json: &Json, ty: &FieldType, path: &str) -> Result<Value, TypeError> {
    let wrong = || TypeError {
        path: path.to_string(),
        message: format!(
            "expected {}, found {}{}",
            ty.describe(),
            json_kind(json),
            null_hint(json, ty)
        ),
    };
    Ok(match ty {
        FieldType::Optional(_) if json.is_null() => Value::Null,
        FieldType::Optional(inner) => parse(json, inner, path)?,
        FieldType::Json => Value::Json(json.clone()),
        FieldType::Int => match json {
            Json::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Value::Int(i128::from(i)),
                (_, Some(u)) => Value::Int(i128::from(u)),
                _ => return Err(wrong()),
            },
            _ => return Err(wrong()),
        },
        FieldType::Float => Value::Float(parse_float(json).ok_or_else(wrong)?),
        FieldType::Bool => Value::Bool(json.as_bool().ok_or_else(wrong)?),
        FieldType::Str => Value::Str(json.as_str().ok_or_else(wrong)?.to_string()),
        FieldType::Vec => Value::Vec(Array1::from(floats(json, path).ok_or_else(wrong)??)),
        FieldType::Mat => {
            let rows = json.as_array().ok_or_else(wrong)?;
            let width = rows.first().and_then(Json::as_array).map_or(0, Vec::len);
            let mut data = Vec::with_capacity(rows.len() * width);
            for (i, row) in rows.iter().enumerate() {
                let row_path = format!("{path}[{i}]");
                let row = floats(row, &row_path).ok_or_else(|| TypeError {
                    path: row_path.clone(),
                    message: format!(
                        "expected a row (an array of numbers), found {}",
                        json_kind(row)
                    ),
                })??;
                if row.len() != width {
                    return Err(TypeError {
                        path: row_path,
                        message: format!(
                            "ragged matrix: this row has {} entries, row 0 has {width}",
                            row.len()
                        ),
                    });
                }
                data.extend(row);
            }
            let shape = (rows.len(), width);
            Value::Mat(Array2::from_shape_vec(shape, data).map_err(|e| TypeError {
                path: path.to_string(),
                message: e.to_string(),
            })?)
        }
        FieldType::List(inner) => Value::List(
            json.as_array()
                .ok_or_else(wrong)?
                .iter()
                .enumerate()
                .map(|(i, item)| parse(item, inner, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        FieldType::Map(inner) => Value::Map(
            json.as_object()
                .ok_or_else(wrong)?
                .iter()
                .map(|(k, item)| Ok((k.clone(), parse(item, inner, &format!("{path}.{k}"))?)))
                .collect::<Result<_, TypeError>>()?,
        ),
    })
}

/// An array of floats; `None` when `json` is not an array, `Some(Err)` at a bad element.
fn floats(json: &Json, path: &str) -> Option<Result<Vec<f64>, TypeError>> {
    let items = json.as_array()?;
    Some(
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                parse_float(item).ok_or_else(|| TypeError {
                    path: format!("{path}[{i}]"),
                    message: format!(
                        "expected a number (or \"inf\", \"-inf\", \"nan\"), found {}{}",
                        json_kind(item),
                        null_hint(item, &FieldType::Float)
                    ),
                })
            })
            .collect(),
    )
}

/// Writes a float as the contract does: non-finite values as strings.
pub fn float_to_json(x: f64) -> Json {
    if x.is_nan() {
        Json::String("nan".into())
    } else if x == f64::INFINITY {
        Json::String("inf".into())
    } else if x == f64::NEG_INFINITY {
        Json::String("-inf".into())
    } else {
        serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
    }
}

/// A float for messages: shortest round-trip form (exponent form for very small or large
/// magnitudes), `inf`/`-inf`/`nan` spelled as in JSON.
pub fn show_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e15) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

impl Value {
    /// The value back as contract JSON.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Int(i) => i64::try_from(*i)
                .map(Json::from)
                .or_else(|_| u64::try_from(*i).map(Json::from))
                .unwrap_or(Json::Null),
            Value::Float(x) => float_to_json(*x),
            Value::Bool(b) => Json::Bool(*b),
            Value::Str(s) => Json::String(s.clone()),
            Value::Vec(v) => Json::Array(v.iter().map(|x| float_to_json(*x)).collect()),
            Value::Mat(m) => Json::Array(
                m.rows()
                    .into_iter()
                    .map(|r| Json::Array(r.iter().map(|x| float_to_json(*x)).collect()))
                    .collect(),
            ),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Json(j) => j.clone(),
            Value::Map(map) => {
                Json::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_where_a_number_belongs_says_how_to_write_non_finite_floats() {
        for (json, ty) in [
            (serde_json::json!(null), FieldType::Float),
            (serde_json::json!([1.0, null]), FieldType::Vec),
            (serde_json::json!([[1.0], [null]]), FieldType::Mat),
        ] {
            let e = parse(&json, &ty, "x").expect_err("null is not a number");
            assert!(
                e.message.contains("serde_json prints those as null")
                    && e.message.contains("\"inf\""),
                "{e}"
            );
        }
        let e = parse(&serde_json::json!(null), &FieldType::Int, "n").expect_err("int");
        assert!(!e.message.contains("serde_json"), "{e}");
    }

    #[test]
    fn huge_integers_are_called_what_they_are() {
        let huge: Json = serde_json::from_str("18446744073709551617").expect("json");
        assert_eq!(json_kind(&huge), "an integer too large for 64 bits");
        let half: Json = serde_json::from_str("0.5").expect("json");
        assert_eq!(json_kind(&half), "a non-integer number");
    }
    use serde_json::json;

    #[test]
    fn types_parse_and_print_back() {
        for s in [
            "int",
            "float",
            "vec",
            "mat",
            "list<str>",
            "map<float>",
            "optional<str>",
            "list<map<str>>",
        ] {
            let t: FieldType = s.parse().expect(s);
            assert_eq!(t.to_string(), s);
        }
        assert!("matrix".parse::<FieldType>().is_err());
        assert!("list<".parse::<FieldType>().is_err());
        assert!("list<nope>".parse::<FieldType>().is_err());
    }

    #[test]
    fn non_finite_strings_in_any_case() {
        for (s, want) in [
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("INF", f64::INFINITY),
        ] {
            assert_eq!(parse_float(&json!(s)), Some(want));
        }
        assert!(parse_float(&json!("NaN")).is_some_and(f64::is_nan));
        assert_eq!(parse_float(&json!("infinite")), None);
    }

    #[test]
    fn ragged_matrix_names_the_row() {
        let err = parse(&json!([[1, 2], [3]]), &FieldType::Mat, "y").expect_err("ragged");
        assert_eq!(err.path, "y[1]");
        assert!(err.message.contains("ragged"), "{}", err.message);
    }

    #[test]
    fn bad_element_names_its_index() {
        let err = parse(&json!([[1, 2], [3, "x"]]), &FieldType::Mat, "y").expect_err("bad");
        assert_eq!(err.path, "y[1][1]");
    }

    #[test]
    fn ints_are_not_floats() {
        assert!(parse(&json!(2.5), &FieldType::Int, "n").is_err());
        assert_eq!(
            parse(&json!(2147483648u64), &FieldType::Int, "n"),
            Ok(Value::Int(2147483648))
        );
        assert_eq!(
            parse(&json!(3), &FieldType::Float, "x"),
            Ok(Value::Float(3.0))
        );
    }

    #[test]
    fn matrix_round_trips_with_infinities() {
        let j = json!([[0.0, "-inf"], [0.0, 0.0]]);
        let v = parse(&j, &FieldType::Mat, "m").expect("mat");
        assert_eq!(v.to_json(), j);
    }
}
