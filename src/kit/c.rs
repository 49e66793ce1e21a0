//! The C kit: one `qX_Y.c` per code problem, `json.h`/`json.c` (the course's protocol), and a
//! Makefile that builds `build/<id>.wasm` with clang for wasm32-wasi against wasi-libc
//! (Debian's packages; see the Makefile for the flags).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;

use super::{Files, MissingToolchain, ReadmeParts, Starter, fill};
use crate::compare::FieldType;
use crate::spec::{Dim, Measure};

const MAKEFILE: &str = include_str!("templates/c/Makefile");
const JSON_H: &str = include_str!("templates/c/json.h");
const JSON_C: &str = include_str!("templates/c/json.c");
const STUB: &str = include_str!("templates/c/stub.c");

/// The packages of the toolchain, as Debian and Ubuntu name them.
pub const PACKAGES: &str = "clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc make";

/// Keywords and the names the stubs use themselves.
const RESERVED: &[&str] = &[
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "bool", "true", "false", "in", "out", "main",
    "Json", "NAN", "INFINITY", "errno",
];

pub(super) fn files(starters: &[Starter]) -> Files {
    let ids: Vec<&str> = starters.iter().map(|s| s.id.as_str()).collect();
    // The Makefile's examples name the course's first problem.
    let (id, stem) = starters
        .first()
        .map_or(("q1.1", "q1_1"), |s| (s.id.as_str(), s.stem.as_str()));
    let mut files: Files = vec![
        (
            "Makefile".into(),
            fill(
                MAKEFILE,
                &[("problems", &ids.join(" ")), ("id", id), ("stem", stem)],
            ),
        ),
        ("json.h".into(), JSON_H.into()),
        ("json.c".into(), JSON_C.into()),
    ];
    for s in starters {
        files.push((format!("{}.c", s.stem), stub(s)));
    }
    files
}

/// A C string literal.
fn literal(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn stub(s: &Starter) -> String {
    let names = s.input_variables(RESERVED);
    let var = |name: &str| names.get(name).cloned().unwrap_or_else(|| name.to_string());
    let mut read = Vec::new();
    for i in &s.inputs {
        let v = var(&i.name);
        let name = literal(&i.name);
        read.push(if i.optional {
            format!(
                "    const Json *{v} = json_find(in, {name}); /* {}, optional: NULL or null when not given */",
                i.ty
            )
        } else {
            match &i.ty {
                FieldType::Int => format!("    long long {v} = json_get_int(in, {name});"),
                FieldType::Float => format!("    double {v} = json_get_float(in, {name});"),
                FieldType::Bool => format!("    int {v} = json_get_bool(in, {name});"),
                FieldType::Str => format!("    const char *{v} = json_get_str(in, {name});"),
                FieldType::Vec => format!(
                    "    size_t {v}_len;\n    double *{v} = json_get_vec(in, {name}, &{v}_len);"
                ),
                FieldType::Mat => format!(
                    "    size_t {v}_rows, {v}_cols;\n    double *{v} = json_get_mat(in, {name}, &{v}_rows, &{v}_cols); /* {v}[i * {v}_cols + j] */"
                ),
                other => format!(
                    "    const Json *{v} = json_get(in, {name}); /* {other}: json_len, json_at, json_find, … */"
                ),
            }
        });
    }
    let unused = if s.inputs.is_empty() {
        String::new()
    } else {
        let casts: Vec<String> = s
            .inputs
            .iter()
            .map(|i| format!("(void){};", var(&i.name)))
            .collect();
        format!(
            "    /* Silences `unused variable` until your code reads the inputs: then delete it. */\n    {}\n",
            casts.join(" ")
        )
    };
    let leaf = |m: Measure, name: &str| {
        let v = var(name);
        let ty = s.inputs.iter().find(|i| i.name == name).map(|i| &i.ty);
        match (m, ty) {
            (Measure::Value, _) => v,
            (Measure::Len, Some(FieldType::Vec)) => format!("(long long){v}_len"),
            (Measure::Rows, Some(FieldType::Mat)) => format!("(long long){v}_rows"),
            (Measure::Cols, _) => format!("(long long){v}_cols"),
            (Measure::Len | Measure::Rows, _) => format!("(long long)json_len({v})"),
        }
    };
    let dim = |dims: &Option<Vec<Dim>>, i: usize| {
        dims.as_ref()
            .and_then(|d| d.get(i))
            .map_or("1".to_string(), |d| d.render(&leaf))
    };
    let mut write = Vec::new();
    for o in &s.outputs {
        let name = literal(&o.name);
        if o.guessed {
            write.push(format!(
                "    /* The course declares no shape for `{}`: this one is a guess. */",
                o.name
            ));
        }
        let value = match &o.ty {
            FieldType::Float => "json_new_float(NAN)".to_string(),
            FieldType::Int => "json_new_int(-1)".to_string(),
            FieldType::Bool => "json_new_bool(0)".to_string(),
            FieldType::Str => "json_new_string(\"TODO\")".to_string(),
            FieldType::Vec => format!("json_new_filled_vec({}, NAN)", dim(&o.dims, 0)),
            FieldType::Mat => format!(
                "json_new_filled_mat({}, {}, NAN)",
                dim(&o.dims, 0),
                dim(&o.dims, 1)
            ),
            other => format!(
                "json_from_text({}) /* {other} */",
                literal(&super::placeholder(other).to_string())
            ),
        };
        write.push(format!("    json_set(out, {name}, {value});"));
    }
    let comment = |text: String| text.replace("*/", "* /");
    fill(
        STUB,
        &[
            ("id", &comment(s.id.clone())),
            ("title", &comment(s.title.clone())),
            ("inputs", &comment(s.inputs_line())),
            ("outputs", &comment(s.outputs_line())),
            ("read", &read.join("\n")),
            ("unused", &unused),
            ("write", &write.join("\n")),
        ],
    )
}

pub(super) fn readme_parts() -> ReadmeParts {
    ReadmeParts {
        lang_name: "C",
        install_prose: "clang with its WebAssembly linker and runtime, wasi-libc and make (Debian or Ubuntu \
         packages), and grader (with Rust's cargo, from https://rustup.rs):",
        install: "sudo apt-get install -y --no-install-recommends clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc make\n\
         cargo install --locked --git <the course's grader repository> grader",
        layout: "Each problem is a file named like its id (`{{stem}}.c` for {{id}}). `json.h` and `json.c` read\n\
         the inputs and print the outputs: `json_get_vec(in, \"w\", &w_len)`,\n\
         `json_get_float(in, \"b\")`, `json_get_mat(in, \"x\", &rows, &cols)`, … and\n\
         `json_set(out, \"z\", json_new_float(z))`, `json_new_vec(probs, n)`, …; non-finite floats\n\
         are written as `\"inf\"`, `\"-inf\"`, `\"nan\"` as the course asks. Only the C standard\n\
         library (wasi-libc) is there: no files, no network.",
        build: "`grader build` says which problem did not compile (with the compiler's messages) and still\n\
         builds the others. By hand: `make` builds `build/<id>.wasm` for every problem (`make build/{{id}}.wasm` for\n\
         one); `make CC=clang-18` picks another clang.",
    }
}

/// The kit's problems: the ids on the Makefile's `PROBLEMS :=` line, as (id, file stem).
pub(super) fn problems(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let path = dir.join("Makefile");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let joined = text.replace("\\\n", " ");
    let ids: Vec<String> = joined
        .lines()
        .find_map(|line| {
            let rest = line.trim_start().strip_prefix("PROBLEMS")?;
            let rest = rest.trim_start();
            let value = rest
                .strip_prefix(":=")
                .or_else(|| rest.strip_prefix("::="))
                .or_else(|| rest.strip_prefix('='))?;
            Some(value.split_whitespace().map(String::from).collect())
        })
        .unwrap_or_default();
    Ok(ids
        .into_iter()
        .map(|id| {
            let stem = super::stem(&id);
            (id, stem)
        })
        .collect())
}

/// The compiler named by CC (default clang-19), its wasm linker and runtime, wasi-libc, make.
pub(super) fn check_toolchain() -> anyhow::Result<()> {
    let cc = std::env::var("CC")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "clang-19".into());
    let default_cc = cc == "clang-19";
    let sysroot = std::env::var("SYSROOT")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "/usr".into());
    let mut missing: Vec<(String, &str)> = Vec::new();
    if super::run_quietly("make", &["--version"], None).is_none() {
        missing.push(("make".into(), "make"));
    }
    if super::run_quietly(&cc, &["--version"], None).is_none() {
        missing.push((format!("the C compiler `{cc}`"), "clang-19"));
        if default_cc {
            missing.push(("its WebAssembly linker (wasm-ld)".into(), "lld-19"));
            missing.push((
                "its WebAssembly runtime (libclang_rt.builtins-wasm32.a)".into(),
                "libclang-rt-19-dev-wasm32",
            ));
        }
    } else {
        let linker = super::run_quietly(
            &cc,
            &["--target=wasm32-wasi", "-print-prog-name=wasm-ld"],
            None,
        );
        let linker_found = linker.is_some_and(|l| {
            Path::new(&l).is_file() || super::run_quietly(&l, &["--version"], None).is_some()
        });
        if !linker_found {
            missing.push(("the WebAssembly linker wasm-ld".into(), "lld-19"));
        }
        let runtime = super::run_quietly(
            &cc,
            &["--target=wasm32-wasi", "-print-libgcc-file-name"],
            None,
        );
        if !runtime.is_some_and(|r| Path::new(&r).is_file()) {
            missing.push((
                "the WebAssembly runtime (libclang_rt.builtins-wasm32.a)".into(),
                "libclang-rt-19-dev-wasm32",
            ));
        }
    }
    let libc = Path::new(&sysroot).join("lib/wasm32-wasi/libc.a");
    if !libc.is_file() {
        missing.push((format!("wasi-libc ({})", libc.display()), "wasi-libc"));
    }
    if missing.is_empty() {
        return Ok(());
    }
    let what: Vec<&str> = missing.iter().map(|(w, _)| w.as_str()).collect();
    let mut packages: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
    packages.dedup();
    let unset = if default_cc {
        ""
    } else {
        " (or set CC to a clang that is installed)"
    };
    Err(MissingToolchain(format!(
        "cannot build C for WebAssembly: missing {}. Install with: sudo apt-get install -y \
         --no-install-recommends {}{unset}",
        what.join(", "),
        packages.join(" ")
    ))
    .into())
}

/// `make build/<id>.wasm` per problem, so that one that fails does not stop the others; the
/// compiler's messages stream to stderr.
pub(super) fn build(
    dir: &Path,
    problems: &[(String, String)],
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut modules = BTreeMap::new();
    for (id, _) in problems {
        let target = format!("build/{id}.wasm");
        let status = Command::new("make")
            .args(["--no-print-directory", "-s", &target])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(super::stdout_to_stderr())
            .stderr(Stdio::inherit())
            .status()
            .context("cannot run make")?;
        let module = dir.join(&target);
        if status.success() && module.is_file() {
            modules.insert(id.clone(), module);
        }
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_makefile_lists_the_problems() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = fill(MAKEFILE, &[("problems", "q1.1 q2.3 \\\n  q12.1")]);
        std::fs::write(dir.path().join("Makefile"), text).expect("write");
        let problems = problems(dir.path()).expect("problems");
        assert_eq!(
            problems,
            [
                ("q1.1".to_string(), "q1_1".to_string()),
                ("q2.3".into(), "q2_3".into()),
                ("q12.1".into(), "q12_1".into())
            ]
        );
    }

    #[test]
    fn string_literals_are_escaped() {
        assert_eq!(literal(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
