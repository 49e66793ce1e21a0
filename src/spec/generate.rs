//! Seeded random test inputs: the same seed gives the same inputs on any machine (our own
//! splitmix64 and decimal rounding; no library whose stream could change between versions).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::Visibility;
use super::model::GeneratorFile;

/// A declared family of random cases.
#[derive(Clone, Debug, PartialEq)]
pub struct Generator {
    pub name: String,
    pub count: usize,
    pub seed: u64,
    pub visibility: Visibility,
    pub points: f64,
    dims: BTreeMap<String, [Bound; 2]>,
    inputs: BTreeMap<String, InputGen>,
}

/// A size: a number, or another size plus an offset (`"n"`, `"n-1"`, `"n+2"`).
#[derive(Clone, Debug, PartialEq)]
enum Bound {
    Fixed(i64),
    Dim(String, i64),
}

#[derive(Clone, Debug, PartialEq)]
enum InputGen {
    /// A float, vector or matrix (by the number of dimensions in `shape`).
    Floats {
        shape: Vec<Bound>,
        lo: f64,
        hi: f64,
        decimals: u32,
    },
    Int {
        lo: Bound,
        hi: Bound,
    },
    Value(Json),
}

/// The most numbers one generated input may hold.
const MAX_ELEMENTS: i64 = 1_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi] (lo ≤ hi), for any bounds: i128 cannot overflow here.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
        let pick = u128::from(self.next()) % span;
        (i128::from(lo) + pick as i128) as i64
    }
}

fn bound(v: &toml::Value, key: &str) -> Result<Bound, String> {
    match v {
        toml::Value::Integer(i) => Ok(Bound::Fixed(*i)),
        toml::Value::String(s) => {
            let (name, offset) = match s.find(['+', '-']) {
                Some(at) => {
                    let offset: i64 = s[at..].trim().parse().map_err(|_| {
                        format!("`{key}`: `{s}` is not a size plus or minus a number")
                    })?;
                    (s[..at].trim().to_string(), offset)
                }
                None => (s.trim().to_string(), 0),
            };
            Ok(Bound::Dim(name, offset))
        }
        _ => Err(format!(
            "`{key}`: a bound is an integer or the name of a size in `dims`"
        )),
    }
}

impl Generator {
    /// Reads a `[[generate]]` table; errors name the key inside it.
    pub(super) fn from_file(g: &GeneratorFile) -> Result<Self, String> {
        if !(1..=1000).contains(&g.count) {
            return Err("`count`: must be from 1 to 1000".into());
        }
        let mut dims = BTreeMap::new();
        for (name, [lo, hi]) in &g.dims {
            dims.insert(
                name.clone(),
                [
                    bound(lo, &format!("dims.{name}"))?,
                    bound(hi, &format!("dims.{name}"))?,
                ],
            );
        }
        let mut inputs = BTreeMap::new();
        for (name, spec) in &g.inputs {
            let key = format!("inputs.{name}");
            let draw_spec = match (spec.range, &spec.int, &spec.value) {
                (Some([lo, hi]), None, None) => {
                    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                        return Err(format!("`{key}.range`: needs finite lo ≤ hi"));
                    }
                    let shape = spec
                        .shape
                        .iter()
                        .flatten()
                        .map(|b| bound(b, &format!("{key}.shape")))
                        .collect::<Result<Vec<_>, _>>()?;
                    if shape.len() > 2 {
                        return Err(format!("`{key}.shape`: at most two dimensions (a matrix)"));
                    }
                    InputGen::Floats {
                        shape,
                        lo,
                        hi,
                        decimals: spec.decimals.unwrap_or(3).min(15),
                    }
                }
                (None, Some([lo, hi]), None) if spec.shape.is_none() => InputGen::Int {
                    lo: bound(lo, &format!("{key}.int"))?,
                    hi: bound(hi, &format!("{key}.int"))?,
                },
                (None, None, Some(v)) if spec.shape.is_none() => InputGen::Value(
                    super::toml_to_json(v).map_err(|e| format!("`{key}.value`: {e}"))?,
                ),
                _ => {
                    return Err(format!(
                        "`{key}`: give exactly one of `range` (with optional `shape`), `int` or `value`"
                    ));
                }
            };
            check_input(&draw_spec, &dims, &key)?;
            inputs.insert(name.clone(), draw_spec);
        }
        for (name, bounds) in &dims {
            for b in bounds {
                if let Bound::Dim(d, _) = b
                    && (!dims.contains_key(d) || d == name)
                {
                    return Err(format!(
                        "`dims.{name}`: `{d}` is not another size in `dims`"
                    ));
                }
            }
        }
        Ok(Self {
            name: g.name.clone(),
            count: g.count,
            seed: g.seed,
            visibility: g.visibility,
            points: g.points,
            dims,
            inputs,
        })
    }

    pub fn case_name(&self, index: usize) -> String {
        format!("{}-{}", self.name, index + 1)
    }

    pub fn data_file(&self, index: usize) -> String {
        format!("data/{}.json", self.case_name(index))
    }

    /// The inputs of case `index` (0-based): always the same for the same spec.
    pub fn inputs(&self, index: usize) -> Result<serde_json::Map<String, Json>, String> {
        let mut rng = Rng(self.seed ^ (index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let sizes = self.draw_dims(&mut rng)?;
        let size = |b: &Bound| -> Result<i64, String> {
            match b {
                Bound::Fixed(i) => Ok(*i),
                Bound::Dim(d, offset) => sizes
                    .get(d)
                    .map(|v| v + offset)
                    .ok_or_else(|| format!("unknown size `{d}`")),
            }
        };
        let mut out = serde_json::Map::new();
        for (name, draw_spec) in &self.inputs {
            let value = match draw_spec {
                InputGen::Value(v) => v.clone(),
                InputGen::Int { lo, hi } => {
                    let (lo, hi) = (size(lo)?, size(hi)?);
                    if lo > hi {
                        return Err(format!("`inputs.{name}.int`: {lo} > {hi}"));
                    }
                    Json::from(rng.int(lo, hi))
                }
                InputGen::Floats {
                    shape,
                    lo,
                    hi,
                    decimals,
                } => {
                    let dims = shape.iter().map(size).collect::<Result<Vec<_>, _>>()?;
                    if dims.iter().any(|d| *d < 0) {
                        return Err(format!("`inputs.{name}.shape`: a negative size"));
                    }
                    let elements = dims.iter().try_fold(1i64, |acc, d| acc.checked_mul(*d));
                    if elements.is_none_or(|n| n > MAX_ELEMENTS) {
                        return Err(format!(
                            "`inputs.{name}.shape`: {dims:?} is more than {MAX_ELEMENTS} numbers; test data that large belongs in a benchmark"
                        ));
                    }
                    let scale = 10f64.powi(*decimals as i32);
                    let mut draw = || {
                        crate::compare::float_to_json(
                            ((lo + (hi - lo) * rng.unit()) * scale).round() / scale,
                        )
                    };
                    match dims.as_slice() {
                        [] => draw(),
                        [n] => Json::Array((0..*n).map(|_| draw()).collect()),
                        [r, c] => Json::Array(
                            (0..*r)
                                .map(|_| Json::Array((0..*c).map(|_| draw()).collect()))
                                .collect(),
                        ),
                        _ => return Err(format!("`inputs.{name}.shape`: at most two dimensions")),
                    }
                }
            };
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    fn draw_dims(&self, rng: &mut Rng) -> Result<BTreeMap<String, i64>, String> {
        let mut sizes = BTreeMap::new();
        // Sizes may depend on each other: resolve in passes, each in name order.
        for _ in 0..=self.dims.len() {
            for (name, [lo, hi]) in &self.dims {
                if sizes.contains_key(name) {
                    continue;
                }
                let get = |b: &Bound| match b {
                    Bound::Fixed(i) => Some(*i),
                    Bound::Dim(d, offset) => sizes.get(d).map(|v| v + offset),
                };
                if let (Some(lo), Some(hi)) = (get(lo), get(hi)) {
                    if lo > hi {
                        return Err(format!("`dims.{name}`: {lo} > {hi}"));
                    }
                    let v = rng.int(lo, hi);
                    sizes.insert(name.clone(), v);
                }
            }
        }
        if sizes.len() != self.dims.len() {
            return Err("`dims`: the sizes depend on each other in a cycle".into());
        }
        Ok(sizes)
    }
}

fn check_input(
    draw_spec: &InputGen,
    dims: &BTreeMap<String, [Bound; 2]>,
    key: &str,
) -> Result<(), String> {
    let bounds: Vec<&Bound> = match draw_spec {
        InputGen::Floats { shape, .. } => shape.iter().collect(),
        InputGen::Int { lo, hi } => vec![lo, hi],
        InputGen::Value(_) => vec![],
    };
    for b in bounds {
        if let Bound::Dim(d, _) = b
            && !dims.contains_key(d)
        {
            return Err(format!("`{key}`: `{d}` is not a size declared in `dims`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(toml_text: &str) -> Generator {
        let file: GeneratorFile = toml::from_str(toml_text).expect("toml");
        Generator::from_file(&file).expect("generator")
    }

    const SPEC: &str = r#"
name = "random"
count = 3
seed = 7
dims = { H = [2, 6], W = [2, 6], kh = [1, "H"], kw = [1, "W"] }
inputs = { x = { shape = ["H", "W"], range = [-10.0, 10.0] }, k = { shape = ["kh", "kw"], range = [-1.0, 1.0], decimals = 2 }, n = { int = [1, "H"] }, last = { int = [0, "H-1"] }, base = { value = 10000.0 } }
"#;

    #[test]
    fn same_seed_same_inputs_and_shapes_follow_the_sizes() {
        let g = generator(SPEC);
        for i in 0..3 {
            let a = g.inputs(i).expect("inputs");
            assert_eq!(a, g.inputs(i).expect("inputs"));
            let x = a["x"].as_array().expect("x");
            let k = a["k"].as_array().expect("k");
            assert!(
                k.len() <= x.len()
                    && k[0].as_array().map(Vec::len) <= x[0].as_array().map(Vec::len)
            );
            let n = a["n"].as_i64().expect("n");
            assert!(n >= 1 && n as usize <= x.len());
            assert_eq!(a["base"], Json::from(10000.0));
            let last = a["last"].as_i64().expect("last");
            assert!(last >= 0 && (last as usize) < x.len());
            for v in k.iter().flat_map(|r| r.as_array().expect("row")) {
                let v = v.as_f64().expect("num");
                assert!(
                    (-1.0..=1.0).contains(&v) && ((v * 100.0).round() - v * 100.0).abs() < 1e-9
                );
            }
        }
        assert_ne!(g.inputs(0), g.inputs(1));
    }

    #[test]
    fn the_stream_is_pinned() {
        // A change here changes every committed data file: rerun `grader draw_spec` on purpose.
        let mut rng = Rng(7);
        assert_eq!(
            rng.next(),
            7_191_089_600_892_374_487,
            "splitmix64 stream changed"
        );
        assert_eq!(
            Rng(0).next(),
            0xe220_a839_7b1d_cdaf,
            "splitmix64 reference value"
        );
    }

    #[test]
    fn extreme_bounds_and_sizes_are_errors_not_panics() {
        let mut rng = Rng(3);
        for _ in 0..100 {
            let _ = rng.int(i64::MIN, i64::MAX);
            assert_eq!(rng.int(5, 5), 5);
        }
        let g = generator(
            r#"name = "big"
count = 1
seed = 1
dims = { n = [100000, 100000] }
inputs = { x = { shape = ["n", "n"], range = [0.0, 1.0] } }"#,
        );
        assert!(
            g.inputs(0)
                .expect_err("too big")
                .contains("more than 1000000 numbers")
        );
    }

    #[test]
    fn unknown_sizes_and_cycles_are_errors() {
        let bad: GeneratorFile = toml::from_str(
            r#"name = "r"
count = 1
seed = 1
inputs = { x = { shape = ["N"], range = [0.0, 1.0] } }"#,
        )
        .expect("toml");
        assert!(
            Generator::from_file(&bad)
                .expect_err("unknown")
                .contains("`N` is not a size")
        );
        let cyc: GeneratorFile = toml::from_str(
            r#"name = "r"
count = 1
seed = 1
dims = { a = [1, "b"], b = [1, "a"] }
inputs = { x = { shape = ["a"], range = [0.0, 1.0] } }"#,
        )
        .expect("toml");
        let g = Generator::from_file(&cyc).expect("parses");
        assert!(g.inputs(0).expect_err("cycle").contains("cycle"));
    }
}
