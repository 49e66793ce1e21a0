//! Compares a program's stdout with a case's expected outputs and finds the first mismatch.
//! Knows JSON, types and tolerances; nothing of WebAssembly.

mod tolerance;
mod value;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use tolerance::Tolerance;
pub use value::{
    FieldType, TypeError, Value, float_to_json, json_kind, parse, parse_float, show_float,
};

/// One declared output of a problem.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputField {
    pub name: String,
    pub ty: FieldType,
    pub tolerance: Tolerance,
    /// An exact shape every expected and produced vector or matrix must have.
    pub shape: Option<Vec<usize>>,
}

/// The first difference between what was expected and what was produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mismatch {
    /// Where, e.g. `y[1][0]`.
    pub path: String,
    pub expected: String,
    pub got: String,
    /// Absolute and relative error, for numbers.
    pub abs_error: Option<f64>,
    pub rel_error: Option<f64>,
    /// The rule that was applied, for numbers.
    pub tolerance: Option<String>,
}

impl Mismatch {
    /// A difference that is not a number's: no error sizes, no tolerance.
    fn plain(path: String, expected: String, got: String) -> Self {
        Self {
            path,
            expected,
            got,
            abs_error: None,
            rel_error: None,
            tolerance: None,
        }
    }

    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}: expected {}, got {}",
            self.path, self.expected, self.got
        );
        if let (Some(abs), Some(tol)) = (self.abs_error, &self.tolerance) {
            s.push_str(&format!(" (abs error {}", short_float(abs)));
            if let Some(rel) = self.rel_error {
                s.push_str(&format!(", rel error {}", short_float(rel)));
            }
            s.push_str(&format!("; allowed {tol})"));
        }
        s
    }
}

/// An error size for people: four significant digits.
fn short_float(x: f64) -> String {
    if x == 0.0 || (1e-3..1e6).contains(&x.abs()) {
        let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.3e}")
    }
}

/// How a program's output compares with the expected outputs.
#[derive(Clone, Debug, PartialEq)]
pub enum Comparison {
    Match,
    /// Well-formed output with wrong values: the first of each output field that has one, in
    /// the order the fields are declared (never empty).
    Mismatch(Vec<Mismatch>),
    /// Output that breaks the protocol: not one JSON object, a missing field, a wrong type or
    /// shape. `field` is the output field at fault, when there is one.
    Invalid {
        field: Option<String>,
        message: String,
    },
}

/// Reads stdout as exactly one JSON object (whitespace around it allowed).
pub fn parse_output(stdout: &[u8]) -> Result<serde_json::Map<String, Json>, String> {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Err("the program printed nothing to stdout (expected one JSON object)".into());
    }
    let mut de = serde_json::Deserializer::from_slice(stdout);
    // serde_json refuses arrays and objects nested more than 127 deep (its recursion limit
    // of 128 counts the outermost value), so hostile output cannot exhaust the stack.
    let value = Json::deserialize(&mut de).map_err(|e| format!("stdout is not valid JSON: {e}"))?;
    de.end().map_err(|e| {
        format!("stdout has more after the JSON object ({e}); print exactly one JSON object")
    })?;
    match value {
        Json::Object(map) => Ok(map),
        other => Err(format!(
            "stdout must be one JSON object, found {}",
            json_kind(&other)
        )),
    }
}

/// Compares `stdout` with `expected` field by field, in the order the fields are declared.
pub fn compare(
    fields: &[OutputField],
    expected: &BTreeMap<String, Value>,
    stdout: &[u8],
) -> Comparison {
    let got = match parse_output(stdout) {
        Ok(map) => map,
        Err(message) => {
            return Comparison::Invalid {
                field: None,
                message,
            };
        }
    };
    let mut mismatches = Vec::new();
    // The first field at fault decides the verdict, as it always has: a protocol error after
    // a wrong value still reports the wrong values found so far.
    let invalid = |field: &OutputField, message: String, mismatches: Vec<Mismatch>| {
        if mismatches.is_empty() {
            Comparison::Invalid {
                field: Some(field.name.clone()),
                message,
            }
        } else {
            Comparison::Mismatch(mismatches)
        }
    };
    for field in fields {
        let Some(want) = expected.get(&field.name) else {
            continue;
        };
        let Some(raw) = got.get(&field.name) else {
            let message = format!("missing output field `{}` (a {})", field.name, field.ty);
            return invalid(field, message, mismatches);
        };
        let value = match parse(raw, &field.ty, &field.name) {
            Ok(v) => v,
            Err(e) => return invalid(field, e.to_string(), mismatches),
        };
        if let Some(shape) = &field.shape
            && let Some(actual) = shape_of(&value)
            && actual != *shape
        {
            let message = format!("`{}` has shape {actual:?}, expected {shape:?}", field.name);
            return invalid(field, message, mismatches);
        }
        match first_difference(want, &value, &field.tolerance, &field.name) {
            None => {}
            Some(Difference::Shape(message)) => return invalid(field, message, mismatches),
            Some(Difference::Value(m)) => mismatches.push(m),
        }
    }
    if mismatches.is_empty() {
        Comparison::Match
    } else {
        Comparison::Mismatch(mismatches)
    }
}

/// The part of `json` at `path`, written like `hs[2][0]` or `scores.D` (the paths mismatches
/// report). `None` when the path leads nowhere.
pub fn json_at<'a>(json: &'a Json, path: &str) -> Option<&'a Json> {
    let mut value = json;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let index: usize = after[..end].parse().ok()?;
            value = value.as_array()?.get(index)?;
            rest = &after[end + 1..];
        } else {
            let after = rest.strip_prefix('.').unwrap_or(rest);
            let end = after.find(['.', '[']).unwrap_or(after.len());
            value = value.as_object()?.get(&after[..end])?;
            rest = &after[end..];
        }
    }
    Some(value)
}

/// The shape of a vector or matrix.
pub fn shape_of(value: &Value) -> Option<Vec<usize>> {
    match value {
        Value::Vec(v) => Some(vec![v.len()]),
        Value::Mat(m) => Some(m.shape().to_vec()),
        _ => None,
    }
}

enum Difference {
    Shape(String),
    Value(Mismatch),
}

fn value_mismatch(path: &str, expected: &Value, got: &Value) -> Difference {
    Difference::Value(Mismatch::plain(
        path.to_string(),
        brief(expected),
        brief(got),
    ))
}

fn float_difference(path: String, expected: f64, got: f64, tol: &Tolerance) -> Option<Difference> {
    if tol.accepts(expected, got) {
        return None;
    }
    let abs = (got - expected).abs();
    let finite = abs.is_finite();
    Some(Difference::Value(Mismatch {
        path,
        expected: show_float(expected),
        got: show_float(got),
        abs_error: finite.then_some(abs),
        rel_error: (finite && expected != 0.0).then(|| abs / expected.abs()),
        tolerance: Some(tol.describe()),
    }))
}

fn first_difference(
    expected: &Value,
    got: &Value,
    tol: &Tolerance,
    path: &str,
) -> Option<Difference> {
    match (expected, got) {
        (Value::Float(e), Value::Float(g)) => float_difference(path.to_string(), *e, *g, tol),
        (Value::Vec(e), Value::Vec(g)) => {
            if e.len() != g.len() {
                return Some(Difference::Shape(format!(
                    "`{path}` has length {}, expected {}",
                    g.len(),
                    e.len()
                )));
            }
            e.iter()
                .zip(g)
                .enumerate()
                .find_map(|(i, (e, g))| float_difference(format!("{path}[{i}]"), *e, *g, tol))
        }
        (Value::Mat(e), Value::Mat(g)) => {
            if e.shape() != g.shape() {
                return Some(Difference::Shape(format!(
                    "`{path}` has shape {}×{}, expected {}×{}",
                    g.nrows(),
                    g.ncols(),
                    e.nrows(),
                    e.ncols()
                )));
            }
            e.indexed_iter().find_map(|((i, j), e)| {
                float_difference(format!("{path}[{i}][{j}]"), *e, g[(i, j)], tol)
            })
        }
        (Value::List(e), Value::List(g)) => {
            for (i, (e, g)) in e.iter().zip(g).enumerate() {
                if let Some(d) = first_difference(e, g, tol, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (e.len() != g.len()).then(|| {
                Difference::Value(Mismatch::plain(
                    path.to_string(),
                    format!("{} items", e.len()),
                    format!("{} items", g.len()),
                ))
            })
        }
        (Value::Map(e), Value::Map(g)) => {
            for (key, e) in e {
                let sub = format!("{path}.{key}");
                match g.get(key) {
                    None => {
                        return Some(Difference::Value(Mismatch::plain(
                            sub,
                            brief(e),
                            "nothing (key missing)".into(),
                        )));
                    }
                    Some(g) => {
                        if let Some(d) = first_difference(e, g, tol, &sub) {
                            return Some(d);
                        }
                    }
                }
            }
            g.keys().find(|k| !e.contains_key(*k)).map(|extra| {
                Difference::Value(Mismatch::plain(
                    format!("{path}.{extra}"),
                    "no such key".into(),
                    brief(&g[extra]),
                ))
            })
        }
        (e, g) if e == g => None,
        (e, g) => Some(value_mismatch(path, e, g)),
    }
}

/// A value in a message: JSON, shortened past 80 characters.
fn brief(value: &Value) -> String {
    let s = value.to_json().to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn output_nesting_is_capped_at_127_levels() {
        // An object holding arrays: the object is level 1.
        let nested = |depth: usize| {
            format!(
                "{{\"a\":{}1{}}}",
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            )
        };
        assert!(parse_output(nested(127).as_bytes()).is_ok());
        assert!(parse_output(nested(128).as_bytes()).is_err());
    }

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn field(name: &str, ty: &str) -> OutputField {
        OutputField {
            name: name.into(),
            ty: ty.parse().expect("type"),
            tolerance: Tolerance::default(),
            shape: None,
        }
    }

    fn expected(pairs: &[(&str, &str, Json)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(n, t, j)| {
                (
                    (*n).to_string(),
                    parse(j, &t.parse().expect("type"), n).expect("value"),
                )
            })
            .collect()
    }

    #[test]
    fn reports_the_first_wrong_index_with_errors_and_tolerance() {
        let fields = [field("y", "mat")];
        let want = expected(&[("y", "mat", json!([[-4, -4], [-4, -4]]))]);
        let c = compare(&fields, &want, br#"{"y": [[-4, -4], [4, -4]]}"#);
        let Comparison::Mismatch(ms) = c else {
            panic!("{c:?}")
        };
        let m = &ms[0];
        assert_eq!(m.path, "y[1][0]");
        assert_eq!((m.expected.as_str(), m.got.as_str()), ("-4", "4"));
        assert_eq!((m.abs_error, m.rel_error), (Some(8.0), Some(2.0)));
        assert!(
            m.describe()
                .contains("allowed |got − expected| ≤ 1e-9 + 1e-6·|expected|"),
            "{}",
            m.describe()
        );
    }

    #[test]
    fn paths_reach_into_outputs() {
        let out = json!({"hs": [[0.5], [0.25]], "scores": {"D": 0.03}, "z": [[1, 2]]});
        assert_eq!(json_at(&out, "hs[1][0]"), Some(&json!(0.25)));
        assert_eq!(json_at(&out, "scores.D"), Some(&json!(0.03)));
        assert_eq!(json_at(&out, "z[0]"), Some(&json!([1, 2])));
        assert_eq!(json_at(&out, "hs[2][0]"), None);
        assert_eq!(json_at(&out, "nope"), None);
    }

    #[test]
    fn error_sizes_are_short() {
        for (x, want) in [
            (8.0, "8"),
            (0.4090909090909091, "0.4091"),
            (2.0, "2"),
            (1234.5678, "1235"),
            (3.2e-9, "3.200e-9"),
            (0.0, "0"),
        ] {
            assert_eq!(short_float(x), want);
        }
    }

    #[test]
    fn protocol_errors_are_invalid_output() {
        let fields = [field("y", "mat")];
        let want = expected(&[("y", "mat", json!([[1, 2]]))]);
        for (out, needle) in [
            (&b"hello"[..], "not valid JSON"),
            (b"", "printed nothing"),
            (br#"{"y": [[1, 2]]} {"y": 1}"#, "more after the JSON object"),
            (br#"[1]"#, "one JSON object"),
            (br#"{"z": 1}"#, "missing output field `y`"),
            (br#"{"y": [[1, 2], [3]]}"#, "ragged"),
            (br#"{"y": [[1, 2, 3]]}"#, "shape 1×3, expected 1×2"),
            (br#"{"y": "nan"}"#, "expected a matrix"),
        ] {
            match compare(&fields, &want, out) {
                Comparison::Invalid { message, .. } => {
                    assert!(message.contains(needle), "{message}")
                }
                other => panic!("{}: {other:?}", String::from_utf8_lossy(out)),
            }
        }
    }

    #[test]
    fn deep_nesting_is_invalid_not_a_crash() {
        let mut out = vec![b'['; 200_000];
        out.extend(vec![b']'; 200_000]);
        let c = compare(&[field("y", "mat")], &BTreeMap::new(), &out);
        assert!(matches!(c, Comparison::Invalid { .. }), "{c:?}");
    }

    #[test]
    fn extra_fields_and_whitespace_are_fine_and_non_finite_strings_match() {
        let fields = [field("mask", "mat")];
        let want = expected(&[("mask", "mat", json!([[0, "-inf"], [0, 0]]))]);
        let out = b"  {\"note\": 1, \"mask\": [[0, \"-Infinity\"], [-0.0, 0]]}\n\n";
        assert_eq!(compare(&fields, &want, out), Comparison::Match);
        let wrong = br#"{"mask": [[0, -1e9], [0, 0]]}"#;
        let Comparison::Mismatch(ms) = compare(&fields, &want, wrong) else {
            panic!()
        };
        let m = &ms[0];
        assert_eq!(
            (m.path.as_str(), m.expected.as_str()),
            ("mask[0][1]", "-inf")
        );
        assert_eq!(m.abs_error, None);
    }

    #[test]
    fn ints_and_strings_compare_exactly() {
        let fields = [field("bytes", "int"), field("fused", "list<str>")];
        let want = expected(&[
            ("bytes", "int", json!(2147483648u64)),
            ("fused", "list<str>", json!(["a", "b"])),
        ]);
        assert_eq!(
            compare(
                &fields,
                &want,
                br#"{"bytes": 2147483648, "fused": ["a", "b"]}"#
            ),
            Comparison::Match
        );
        let Comparison::Mismatch(ms) = compare(
            &fields,
            &want,
            br#"{"bytes": -2147483648, "fused": ["a","b"]}"#,
        ) else {
            panic!()
        };
        let m = &ms[0];
        assert_eq!(m.path, "bytes");
        let Comparison::Mismatch(ms) = compare(
            &fields,
            &want,
            br#"{"bytes": 2147483648, "fused": ["b","a"]}"#,
        ) else {
            panic!()
        };
        let m = &ms[0];
        assert_eq!(m.path, "fused[0]");
        let c = compare(
            &fields,
            &want,
            br#"{"bytes": 2147483648.0, "fused": ["a","b"]}"#,
        );
        assert!(matches!(c, Comparison::Invalid { .. }), "{c:?}");
    }

    #[test]
    fn maps_report_missing_and_extra_keys() {
        let fields = [field("scores", "map<float>")];
        let want = expected(&[("scores", "map<float>", json!({"a": 0.5, "b": 0.25}))]);
        let Comparison::Mismatch(ms) = compare(&fields, &want, br#"{"scores": {"a": 0.5}}"#) else {
            panic!()
        };
        let m = &ms[0];
        assert_eq!(m.path, "scores.b");
        let Comparison::Mismatch(ms) = compare(
            &fields,
            &want,
            br#"{"scores": {"a": 0.5, "b": 0.25, "c": 1}}"#,
        ) else {
            panic!()
        };
        let m = &ms[0];
        assert_eq!(m.path, "scores.c");
    }

    /// Any JSON value: nested arrays and objects of numbers, strings, bools and nulls.
    fn any_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<f64>()
                .prop_map(|x| serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)),
            any::<i64>().prop_map(Json::from),
            prop::sample::select(vec!["inf", "-inf", "nan", "NaN", "x", ""])
                .prop_map(|s| Json::String(s.into())),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Json::Array),
                prop::collection::btree_map("[a-c]{1,2}", inner, 0..6)
                    .prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn shape_mismatch_never_passes(r in 1usize..5, c in 1usize..5, dr in 0usize..2, dc in 0usize..2) {
            prop_assume!(dr + dc > 0);
            let want = expected(&[("y", "mat", json!(vec![vec![0.0; c]; r]))]);
            let got = json!({"y": vec![vec![0.0; c + dc]; r + dr]}).to_string();
            let cmp = compare(&[field("y", "mat")], &want, got.as_bytes());
            prop_assert!(matches!(cmp, Comparison::Invalid { .. }), "{:?}", cmp);
        }

        #[test]
        fn a_vector_matches_itself_after_printing(v in proptest::collection::vec(-1e12..1e12f64, 0..20)) {
            let want = expected(&[("v", "vec", json!(v))]);
            let got = json!({"v": v}).to_string();
            prop_assert_eq!(compare(&[field("v", "vec")], &want, got.as_bytes()), Comparison::Match);
        }

        /// Fuzz target: any JSON a program prints, against every kind of output field.
        #[test]
        fn fuzz_comparator_with_arbitrary_json(json in any_json(), field_ty in prop::sample::select(vec![
            "int", "float", "bool", "str", "vec", "mat", "json", "list<str>", "map<float>", "optional<str>", "list<map<str>>", "list<list<str>>",
        ])) {
            // Whatever it is, it either has the field's type and then matches itself exactly,
            // or it is invalid output; the comparator never panics or loops.
            let ty: FieldType = field_ty.parse().expect("type");
            let fields = [field("extra", field_ty)];
            let out = json!({ "extra": json.clone() }).to_string();
            match parse(&json, &ty, "extra") {
                Ok(value) => {
                    let want = BTreeMap::from([("extra".to_string(), value)]);
                    prop_assert_eq!(compare(&fields, &want, out.as_bytes()), Comparison::Match);
                }
                Err(_) => {
                    let want = BTreeMap::from([("extra".to_string(), Value::Null)]);
                    let is_invalid = matches!(compare(&fields, &want, out.as_bytes()), Comparison::Invalid { .. });
                    prop_assert!(is_invalid);
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = compare(&[field("y", "mat")], &BTreeMap::new(), &bytes);
        }
    }
}
