//! The student kit: `grader init` writes a starter repository for the course (a Rust workspace,
//! C files with a Makefile, or Python files with a pyproject.toml; `answers.toml`, a README and
//! a CI workflow), and `grader build` builds such a repository into the hand-in layout of
//! contract §8 (`handin/<id>.wasm`, or `handin/<id>.py` copied as it is, and
//! `handin/answers.toml`).
//!
//! A starter knows only what a student sees of a problem ([`Starter`]: id, title, the input and
//! output fields with their types and declared shapes), never a case or a key. Each one reads
//! its inputs and prints a well-formed wrong answer, so that the grader reports `wrong_answer`
//! until the student writes the solution.

mod c;
mod python;
mod rust;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use serde_json::{Value as Json, json};

use crate::app::UsageError;
use crate::compare::FieldType;
use crate::spec::{Dim, InputField, Item, Measure, Problem};

/// The language of a kit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A Cargo workspace, a crate per problem, built for wasm32-wasip1.
    Rust,
    /// A C file per problem and a Makefile, built with clang and wasi-libc.
    C,
    /// A .py file per problem, run as it is by grader's own Python (CPython 3.15 with numpy).
    Python,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::C => "c",
            Lang::Python => "python",
        }
    }

    /// The extension of a problem's file in the hand-in.
    fn handin_ext(self) -> &'static str {
        match self {
            Lang::Rust | Lang::C => "wasm",
            Lang::Python => "py",
        }
    }
}

/// What a starter may know of a code problem: what a student sees of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Starter {
    pub id: String,
    pub title: String,
    pub inputs: Vec<InputField>,
    pub outputs: Vec<StarterOutput>,
    /// The crate or file name: the id with `_` for what a name cannot hold (`q2.3` → `q2_3`).
    pub stem: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StarterOutput {
    pub name: String,
    pub ty: FieldType,
    /// For a `vec` or `mat`: its size per dimension, in terms of the inputs.
    pub dims: Option<Vec<Dim>>,
    /// The course declares no shape for it: `dims` is a guess.
    pub guessed: bool,
}

impl Starter {
    /// Each input's variable in a stub, by the input's name (see [`ident`]).
    fn input_variables(&self, reserved: &[&str]) -> std::collections::BTreeMap<&str, String> {
        self.inputs
            .iter()
            .map(|i| (i.name.as_str(), ident(&i.name, reserved)))
            .collect()
    }

    /// The student-visible part of `problem`: no case, no key.
    pub fn of(problem: &Problem) -> Self {
        let outputs = problem
            .outputs
            .iter()
            .map(|o| {
                let rank = match o.ty {
                    FieldType::Vec => 1,
                    FieldType::Mat => 2,
                    _ => 0,
                };
                let declared = problem.dims.get(&o.name).cloned().or_else(|| {
                    o.shape.as_ref().filter(|s| s.len() == rank).map(|s| {
                        s.iter()
                            .map(|&n| Dim::Const(i64::try_from(n).unwrap_or(i64::MAX)))
                            .collect()
                    })
                });
                let guessed = rank > 0 && declared.is_none();
                let dims = match rank {
                    0 => None,
                    _ => Some(declared.unwrap_or_else(|| guess_dims(&problem.inputs, rank))),
                };
                StarterOutput {
                    name: o.name.clone(),
                    ty: o.ty.clone(),
                    dims,
                    guessed,
                }
            })
            .collect();
        Self {
            id: problem.id.clone(),
            title: one_line(&problem.title),
            inputs: problem.inputs.clone(),
            outputs,
            stem: stem(&problem.id),
        }
    }

    /// `w: vec, b: float, x: vec`.
    fn inputs_line(&self) -> String {
        self.inputs
            .iter()
            .map(|i| {
                let opt = if i.optional { " (optional)" } else { "" };
                format!("{}: {}{opt}", i.name, i.ty)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `y: mat (rows(x) - rows(k) + 1) × (cols(x) - cols(k) + 1)`.
    fn outputs_line(&self) -> String {
        self.outputs
            .iter()
            .map(|o| {
                let shape = match &o.dims {
                    None => String::new(),
                    Some(dims) => {
                        let part = |d: &Dim| match d {
                            Dim::Op(..) if dims.len() > 1 => format!("({d})"),
                            _ => d.to_string(),
                        };
                        let parts: Vec<String> = dims.iter().map(part).collect();
                        let guess = if o.guessed { ", guessed" } else { "" };
                        match parts.as_slice() {
                            [one] => format!(" (length {one}{guess})"),
                            _ => format!(" ({}{guess})", parts.join(" × ")),
                        }
                    }
                };
                format!("{}: {}{shape}", o.name, o.ty)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A shape for an output the course gives none for: that of the first vector or matrix input.
fn guess_dims(inputs: &[InputField], rank: usize) -> Vec<Dim> {
    let first = |ty: FieldType| {
        inputs
            .iter()
            .find(|i| !i.optional && i.ty == ty)
            .map(|i| i.name.clone())
    };
    if rank == 1 {
        if let Some(v) = first(FieldType::Vec) {
            return vec![Dim::Input(Measure::Len, v)];
        }
        if let Some(m) = first(FieldType::Mat) {
            return vec![Dim::Input(Measure::Rows, m)];
        }
        vec![Dim::Const(1)]
    } else {
        match first(FieldType::Mat) {
            Some(m) => vec![
                Dim::Input(Measure::Rows, m.clone()),
                Dim::Input(Measure::Cols, m),
            ],
            None => vec![Dim::Const(1), Dim::Const(1)],
        }
    }
}

/// A well-formed wrong value of a type with no shape of its own: NaN for floats, -1 for
/// integers, "TODO" for strings, a list or map of one such value.
pub fn placeholder(ty: &FieldType) -> Json {
    match ty {
        FieldType::Int => json!(-1),
        FieldType::Float => json!("nan"),
        FieldType::Bool => json!(false),
        FieldType::Str => json!("TODO"),
        FieldType::Vec => json!(["nan"]),
        FieldType::Mat => json!([["nan"]]),
        FieldType::List(t) => json!([placeholder(t)]),
        FieldType::Map(t) => json!({ "TODO": placeholder(t) }),
        FieldType::Optional(t) => placeholder(t),
        FieldType::Json => Json::Null,
    }
}

/// A name for a crate or a C file: lowercase letters, digits and `_`, starting with a letter.
fn stem(id: &str) -> String {
    let s: String = id
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s
    } else {
        format!("p{s}")
    }
}

/// An identifier for an input in the stubs: `name` made of letters, digits and `_`, lowercase,
/// with `_` after it when it is a keyword or a name the stub uses itself.
fn ident(name: &str, reserved: &[&str]) -> String {
    let mut s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    while reserved.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fills `{{name}}` in a template.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

const README: &str = include_str!("templates/README.md");
const WORKFLOW: &str = include_str!("templates/check.yml");
const GITIGNORE: &str = "/target/\n/build/\n/handin/\n";
const GITIGNORE_PYTHON: &str = "/handin/\n__pycache__/\n";

/// The files of a kit, relative to its folder.
type Files = Vec<(String, String)>;

/// What `grader init` wrote.
#[derive(Debug)]
pub struct Written {
    pub dir: PathBuf,
    pub lang: Lang,
    pub starters: Vec<Starter>,
    pub files: usize,
}

impl Written {
    pub fn human(&self) -> String {
        let mut out = format!(
            "wrote a {} kit in {}: {} starters, answers.toml, README.md, .github/workflows/check.yml ({} files)\n",
            self.lang.as_str(),
            self.dir.display(),
            self.starters.len(),
            self.files
        );
        let _ = writeln!(
            out,
            "next: grader build {}    # then: grader grade {}",
            self.dir.display(),
            self.dir.join("handin").display()
        );
        out
    }
}

/// `grader init`: a new kit for the course's code problems and items in `dir`, which must be
/// new or empty.
pub fn init(
    course_name: &str,
    problems: &[Problem],
    items: &[Item],
    dir: &Path,
    lang: Lang,
) -> anyhow::Result<Written> {
    refuse_non_empty(dir)?;
    let mut starters: Vec<Starter> = problems.iter().map(Starter::of).collect();
    starters.sort_by_key(|s| crate::spec::sort_key(&s.id));
    let mut stems = std::collections::BTreeMap::new();
    for s in &starters {
        if let Some(other) = stems.insert(s.stem.as_str(), s.id.as_str()) {
            anyhow::bail!(
                "problems `{other}` and `{}` would share the starter name `{}`",
                s.id,
                s.stem
            );
        }
    }
    let mut files = match lang {
        Lang::Rust => rust::files(&starters),
        Lang::C => c::files(&starters),
        Lang::Python => python::files(&starters),
    };
    files.push((
        "answers.toml".into(),
        crate::report::template::answers_template(items),
    ));
    files.push(("README.md".into(), readme(course_name, lang, &starters)));
    files.push((".github/workflows/check.yml".into(), workflow(lang)));
    let gitignore = match lang {
        Lang::Python => GITIGNORE_PYTHON,
        Lang::Rust | Lang::C => GITIGNORE,
    };
    files.push((".gitignore".into(), gitignore.into()));
    for (path, text) in &files {
        write_new(&dir.join(path), text)?;
    }
    Ok(Written {
        dir: dir.to_path_buf(),
        lang,
        starters,
        files: files.len(),
    })
}

fn refuse_non_empty(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(UsageError(format!(
                    "`{}` is not empty: grader init writes a kit into a new or empty folder",
                    dir.display()
                ))
                .into());
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.exists() && !dir.is_dir() => Err(UsageError(format!(
            "`{}` is a file: grader init writes a kit into a new or empty folder",
            dir.display()
        ))
        .into()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot read `{}`", dir.display()))),
    }
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing `{}`", path.display()))
}

/// What the README says that depends on the language.
pub(super) struct ReadmeParts {
    pub lang_name: &'static str,
    /// What to install, before the commands that do.
    pub install_prose: &'static str,
    pub install: &'static str,
    /// Where a problem's starter is and how it reads and writes.
    pub layout: &'static str,
    /// After the build, test and grade commands: what `grader build` does and how to do it by
    /// hand.
    pub build: &'static str,
}

fn readme(course_name: &str, lang: Lang, starters: &[Starter]) -> String {
    let parts = match lang {
        Lang::Rust => rust::readme_parts(),
        Lang::C => c::readme_parts(),
        Lang::Python => python::readme_parts(),
    };
    let (id, stem) = starters
        .first()
        .map_or(("q1.1", "q1_1"), |s| (s.id.as_str(), s.stem.as_str()));
    let problems: String = starters
        .iter()
        .map(|s| {
            let file = match lang {
                Lang::Rust => format!("`{}/src/main.rs`", s.stem),
                Lang::C => format!("`{}.c`", s.stem),
                Lang::Python => format!("`{}.py`", s.stem),
            };
            format!("| {} | {} | {file} |\n", s.id, s.title.replace('|', "\\|"))
        })
        .collect();
    // A Python file is tested where it is; a module once built. Padded so that its comment
    // lines up with those of the commands around it.
    let test = match lang {
        Lang::Python => format!("grader test {id} {stem}.py"),
        Lang::Rust | Lang::C => format!("grader test {id} handin/{id}.wasm"),
    };
    let text = fill(
        README,
        &[
            ("course", &one_line(course_name)),
            ("lang_name", parts.lang_name),
            ("install_prose", parts.install_prose),
            ("install", parts.install),
            ("layout", parts.layout),
            ("build", parts.build),
            ("test", &format!("{test:<40} ")),
            ("ext", lang.handin_ext()),
            ("problems", problems.trim_end()),
        ],
    );
    // The parts hold examples of a problem's names: the course's first one.
    fill(&text, &[("id", id), ("stem", stem)])
}

fn workflow(lang: Lang) -> String {
    let (install, cache_what, cache_paths) = match lang {
        Lang::Rust => (
            "          rustup target add wasm32-wasip1".to_string(),
            " and your workspace's build",
            "            target/\n",
        ),
        Lang::C => (
            format!(
                "          apt-get update\n          apt-get install -y --no-install-recommends {}",
                c::PACKAGES
            ),
            "",
            "",
        ),
        Lang::Python => (
            "          # scripts/fetch-python downloads the Python runtime with pip.\n          \
             apt-get update\n          \
             apt-get install -y --no-install-recommends python3 python3-pip"
                .to_string(),
            "",
            "",
        ),
    };
    let runtime_steps = match lang {
        Lang::Python => python::RUNTIME_STEPS,
        Lang::Rust | Lang::C => "",
    };
    let text = WORKFLOW
        .replace("{{cache_paths}}\n", cache_paths)
        .replace("{{runtime_steps}}\n", runtime_steps);
    fill(
        &text,
        &[
            ("install", &install),
            ("cache_what", cache_what),
            ("lang", lang.as_str()),
        ],
    )
}

/// A compiler or library `grader build` needs is not installed (exit 4: the machine, not the
/// command line, is what must change, so it is not a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MissingToolchain(pub String);

/// One problem of `grader build`.
#[derive(Debug)]
pub struct ProblemBuild {
    pub id: String,
    /// Where its module (or Python file) went in the hand-in; `None` when it did not build
    /// (or has no file).
    pub module: Option<PathBuf>,
}

/// What `grader build` did.
#[derive(Debug)]
pub struct Built {
    pub lang: Lang,
    pub dir: PathBuf,
    pub handin: PathBuf,
    pub problems: Vec<ProblemBuild>,
    /// The copy of answers.toml, when the kit has one.
    pub answers: Option<PathBuf>,
}

impl Built {
    pub fn failed(&self) -> Vec<&str> {
        self.problems
            .iter()
            .filter(|p| p.module.is_none())
            .map(|p| p.id.as_str())
            .collect()
    }

    pub fn human(&self) -> String {
        // Python files are copied, not built: what fails is a file that is not there.
        let (built_verb, failure, not_built) = match self.lang {
            Lang::Python => ("copied", "not copied (no file: see above)", "not copied"),
            Lang::Rust | Lang::C => (
                "built",
                "did not build (the compiler's messages are above)",
                "did not build",
            ),
        };
        let mut out = String::new();
        for p in &self.problems {
            match &p.module {
                Some(path) => {
                    let _ = writeln!(out, "  {:<8} {}", p.id, path.display());
                }
                None => {
                    let _ = writeln!(out, "  {:<8} {failure}", p.id);
                }
            }
        }
        if let Some(answers) = &self.answers {
            let _ = writeln!(out, "  {:<8} {}", "answers", answers.display());
        }
        let failed = self.failed();
        let built = self.problems.len() - failed.len();
        if failed.is_empty() {
            let _ = writeln!(
                out,
                "{built_verb} all {built} problems into {}",
                self.handin.display()
            );
        } else {
            let _ = writeln!(
                out,
                "{built_verb} {built} of {} problems into {}; {not_built}: {}",
                self.problems.len(),
                self.handin.display(),
                failed.join(", ")
            );
        }
        out
    }
}

/// `grader build`: every starter of the kit in `dir` into `dir/handin/<id>.wasm` (a Python
/// kit's files copied to `dir/handin/<id>.py`), and a copy of `answers.toml`. A problem that
/// does not build is reported (its stale module, if any, is removed) and the others still
/// build.
pub fn build(dir: &Path) -> anyhow::Result<Built> {
    let lang = detect(dir)?;
    let problems = match lang {
        Lang::Rust => rust::problems(dir)?,
        Lang::C => c::problems(dir)?,
        Lang::Python => python::problems(dir)?.unwrap_or_default(),
    };
    if problems.is_empty() {
        return Err(UsageError(format!(
            "the {} kit in `{}` lists no problems",
            lang.as_str(),
            dir.display()
        ))
        .into());
    }
    // Python needs no toolchain: the grader runs the files in its own Python.
    match lang {
        Lang::Rust => rust::check_toolchain(dir)?,
        Lang::C => c::check_toolchain()?,
        Lang::Python => {}
    }
    let modules = match lang {
        Lang::Rust => rust::build(dir, &problems)?,
        Lang::C => c::build(dir, &problems)?,
        Lang::Python => python::build(dir, &problems)?,
    };
    let handin = dir.join("handin");
    std::fs::create_dir_all(&handin)
        .with_context(|| format!("cannot create `{}`", handin.display()))?;
    let mut built = Vec::new();
    for (id, _) in &problems {
        let target = handin.join(format!("{id}.{}", lang.handin_ext()));
        // A module graded before a Python file of the same problem, or left from a kit of the
        // other kind, would be graded instead of this one.
        for ext in ["wasm", "py"] {
            if ext != lang.handin_ext() {
                remove_stale(&handin.join(format!("{id}.{ext}")))?;
            }
        }
        let module = match modules.get(id) {
            Some(source) => {
                std::fs::copy(source, &target).with_context(|| {
                    format!(
                        "cannot copy `{}` to `{}`",
                        source.display(),
                        target.display()
                    )
                })?;
                Some(target)
            }
            None => {
                // A module from an earlier build would be graded as if it were this one.
                remove_stale(&target)?;
                None
            }
        };
        built.push(ProblemBuild {
            id: id.clone(),
            module,
        });
    }
    let source = dir.join(crate::handin::ANSWERS_FILE);
    let answers = if source.is_file() {
        let target = handin.join(crate::handin::ANSWERS_FILE);
        std::fs::copy(&source, &target)
            .with_context(|| format!("cannot copy `{}`", source.display()))?;
        Some(target)
    } else {
        None
    };
    Ok(Built {
        lang,
        dir: dir.to_path_buf(),
        handin,
        problems: built,
        answers,
    })
}

fn remove_stale(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => {
            Err(anyhow::Error::new(e)
                .context(format!("cannot remove the stale `{}`", path.display())))
        }
    }
}

/// A Python kit has a pyproject.toml with `[tool.grader]`, a Rust kit a Cargo.toml, a C kit a
/// Makefile. The Python kit's mark is looked for first, being the most specific: a Makefile
/// a student adds to a Python kit does not make it a C kit.
fn detect(dir: &Path) -> anyhow::Result<Lang> {
    if !dir.is_dir() {
        return Err(UsageError(format!("`{}` is not a folder", dir.display())).into());
    }
    if python::problems(dir)?.is_some() {
        Ok(Lang::Python)
    } else if dir.join("Cargo.toml").is_file() {
        Ok(Lang::Rust)
    } else if dir.join("Makefile").is_file() {
        Ok(Lang::C)
    } else {
        Err(UsageError(format!(
            "`{}` is not a kit: it has no Cargo.toml (Rust), Makefile (C) or pyproject.toml \
             with [tool.grader] (Python); make one with `grader init {} --lang rust`, `--lang c` \
             or `--lang python`",
            dir.display(),
            dir.display()
        ))
        .into())
    }
}

/// Whether `program args…` runs and exits 0; its stdout when it does.
fn run_quietly(program: &str, args: &[&str], dir: Option<&Path>) -> Option<String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The build tools' stdout goes to grader's stderr: grader's stdout is its report.
fn stdout_to_stderr() -> Stdio {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::inherit(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe() {
        assert_eq!(stem("q2.3"), "q2_3");
        assert_eq!(stem("Q12.1"), "q12_1");
        assert_eq!(stem("2.3"), "p2_3");
        assert_eq!(ident("type", &["type"]), "type_");
        assert_eq!(ident("d-model", &[]), "d_model");
        assert_eq!(ident("3d", &[]), "_3d");
    }

    #[test]
    fn placeholders_are_well_formed_for_their_type() {
        for ty in [
            "int",
            "float",
            "bool",
            "str",
            "vec",
            "mat",
            "list<map<str>>",
            "map<float>",
            "optional<str>",
            "json",
            "list<list<str>>",
        ] {
            let ty: FieldType = ty.parse().expect("type");
            let value = placeholder(&ty);
            assert!(
                crate::compare::parse(&value, &ty, "x").is_ok(),
                "{ty}: {value}"
            );
        }
    }

    #[test]
    fn readmes_are_filled() {
        for lang in [Lang::Rust, Lang::C, Lang::Python] {
            let text = readme("A course", lang, &[]);
            assert!(!text.contains("{{"), "{text}");
        }
    }

    #[test]
    fn templates_are_filled() {
        for lang in [Lang::Rust, Lang::C, Lang::Python] {
            let text = workflow(lang);
            let unfilled = text
                .match_indices("{{")
                .any(|(i, _)| text[i + 2..].starts_with(|c: char| c.is_ascii_alphabetic()));
            assert!(!unfilled, "{text}");
            assert!(text.contains("${{ runner.os }}"));
        }
    }
}
