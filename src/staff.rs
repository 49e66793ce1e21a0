//! Staff tools over the whole problem set: `verify` proves it right (Kattis' verifyproblem),
//! `gen` writes generated cases' data from the reference solution.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};

use crate::compare::{self, json_at, parse};
use crate::grade::answers::key_error;
use crate::grade::{self, ProblemResult, Verdict};
use crate::sandbox::{Code, Isolated, Outcome, Sandbox};
use crate::spec::{Course, Generated, Item, Problem};

/// One verified claim about the problem set.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// What was checked, e.g. `q2.3` or `q3.2 (answer)`.
    pub subject: String,
    pub ok: bool,
    pub detail: String,
}

fn finding(subject: &str, ok: bool, detail: String) -> Finding {
    Finding {
        subject: subject.to_string(),
        ok,
        detail,
    }
}

/// Checks every spec, runs every labelled solution, and recomputes every twinned answer key.
pub fn verify(course: &Course, jobs: usize) -> anyhow::Result<Vec<Finding>> {
    let (problems, mut spec_errors) = course.problems()?;
    let (items, item_errors) = course.items()?;
    spec_errors.extend(item_errors);
    let mut findings: Vec<Finding> = spec_errors
        .iter()
        .map(|e| finding("spec", false, e.to_string()))
        .collect();
    for problem in &problems {
        findings.extend(verify_problem(course, problem, jobs)?);
    }
    for item in items.iter().filter(|i| i.twin.is_some()) {
        findings.push(verify_twin(course, item, &problems)?);
    }
    Ok(findings)
}

/// A solution's file name (`<name>.wasm` or `<name>.py`) and bytes.
fn load_module(course: &Course, module: &str) -> Result<(String, Vec<u8>), String> {
    let path = course.solution_path(module);
    let name = path
        .file_name()
        .map_or_else(|| module.to_string(), |n| n.to_string_lossy().into_owned());
    std::fs::read(&path)
        .map(|bytes| (name, bytes))
        .map_err(|e| {
            format!(
                "cannot read `{}` ({e}); build the solutions first (scripts/build-fixtures)",
                path.display()
            )
        })
}

fn first_failure(result: &ProblemResult) -> Option<String> {
    result
        .cases
        .iter()
        .find(|c| c.verdict != Verdict::Accepted)
        .map(|c| format!("case `{}`: {} — {}", c.name, c.verdict.as_str(), c.message))
}

fn verify_problem(course: &Course, problem: &Problem, jobs: usize) -> anyhow::Result<Vec<Finding>> {
    let id = problem.id.as_str();
    let Some(solutions) = &problem.solutions else {
        return Ok(vec![finding(
            id,
            false,
            "has no [solutions] reference: every code problem needs one".into(),
        )]);
    };
    let executor = Isolated::here(problem.limits.wasm_stack_bytes)?;
    let run = |module: &str| -> Result<ProblemResult, String> {
        let (name, bytes) = load_module(course, module)?;
        grade::grade(&executor, problem, &name, &bytes, jobs).map_err(|e| format!("{e:#}"))
    };
    let mut findings = Vec::new();
    match run(&solutions.reference) {
        Err(e) => findings.push(finding(
            id,
            false,
            format!("reference {}: {e}", solutions.reference),
        )),
        Ok(r) => findings.push(match first_failure(&r) {
            None => finding(
                id,
                true,
                format!(
                    "reference {} accepted on all {} cases",
                    solutions.reference,
                    r.cases.len()
                ),
            ),
            Some(why) => finding(
                id,
                false,
                format!("reference {} is not accepted: {why}", solutions.reference),
            ),
        }),
    }
    for (module, label) in &solutions.others {
        let f = match run(module) {
            Err(e) => finding(id, false, format!("{module}: {e}")),
            Ok(r) => {
                let earned = r
                    .cases
                    .iter()
                    .map(|c| c.verdict)
                    .find(|v| *v != Verdict::Accepted)
                    .unwrap_or(Verdict::Accepted);
                if earned == *label {
                    finding(id, true, format!("{module} earns {}", label.as_str()))
                } else {
                    let detail = first_failure(&r).unwrap_or_else(|| "every case accepted".into());
                    finding(
                        id,
                        false,
                        format!(
                            "{module} should earn {} but earns {} ({detail})",
                            label.as_str(),
                            earned.as_str()
                        ),
                    )
                }
            }
        };
        findings.push(f);
    }
    Ok(findings)
}

fn verify_twin(course: &Course, item: &Item, problems: &[Problem]) -> anyhow::Result<Finding> {
    let subject = format!("{} ({})", item.id, item.kind.as_str());
    let Some(twin) = &item.twin else {
        return Ok(finding(&subject, true, "no twin".into()));
    };
    let fail = |detail: String| Ok(finding(&subject, false, detail));
    let Some(problem) = problems.iter().find(|p| p.id == twin.problem) else {
        return fail(format!(
            "twin problem `{}` does not exist or does not load",
            twin.problem
        ));
    };
    let Some(case) = problem.cases.iter().find(|c| c.name == twin.case) else {
        return fail(format!(
            "twin case `{}` is not a case of {}",
            twin.case, problem.id
        ));
    };
    let Some(reference) = problem.solutions.as_ref().map(|s| s.reference.clone()) else {
        return fail(format!(
            "{} has no reference solution to recompute the keys with",
            problem.id
        ));
    };
    let (name, bytes) = match load_module(course, &reference) {
        Ok(w) => w,
        Err(e) => return fail(e),
    };
    let sandbox = Sandbox::new(problem.limits.wasm_stack_bytes)?;
    let program = sandbox
        .load_code(Code::of(&name, &bytes), &problem.limits.run)?
        .map_err(|e| anyhow!("{reference}: {e}"))?;
    let stdin = serde_json::to_vec(&case.input)?;
    let exec = crate::parallel::on_grading_thread(problem.limits.wasm_stack_bytes, || {
        sandbox.run(&program, &stdin, &problem.limits.run)
    })?;
    if exec.outcome != Outcome::Exited(0) {
        return fail(format!(
            "the reference {reference} failed on case `{}`: {:?}",
            case.name, exec.outcome
        ));
    }
    let output = match compare::parse_output(&exec.stdout) {
        Ok(map) => serde_json::Value::Object(map),
        Err(e) => return fail(format!("the reference's output: {e}")),
    };
    let mut checked = Vec::new();
    for field in item.fields.iter().filter(|f| f.twin.is_some()) {
        let path = field.twin.as_deref().unwrap_or_default();
        let Some(raw) = json_at(&output, path) else {
            return fail(format!(
                "`{}`: the reference's output has nothing at `{path}`",
                field.name
            ));
        };
        let value = match parse(raw, &field.ty, path) {
            Ok(v) => v,
            Err(e) => return fail(format!("`{}`: {e}", field.name)),
        };
        let Some(key) = &field.key else {
            return fail(format!("`{}` has no key to check", field.name));
        };
        if let Some(why) = key_error(field, &value) {
            return fail(format!(
                "key `{}` = {} disagrees with the reference ({} on {}, case `{}`): {why}",
                field.name,
                key.to_json(),
                reference,
                problem.id,
                case.name
            ));
        }
        checked.push(field.name.as_str());
    }
    Ok(finding(
        &subject,
        true,
        format!(
            "keys {} agree with {} on case `{}`",
            checked.join(", "),
            reference,
            case.name
        ),
    ))
}

/// Runs the reference on every generated case of `id` and writes the data files.
pub fn generate(course: &Course, id: &str) -> anyhow::Result<Vec<PathBuf>> {
    let problem = course.load_problem(id, Generated::Skipped)?;
    if problem.generators.is_empty() {
        bail!("{} declares no [[generate]] cases", problem.file.display());
    }
    let reference = problem
        .solutions
        .as_ref()
        .map(|s| s.reference.clone())
        .ok_or_else(|| {
            anyhow!(
                "{}: no [solutions] reference to compute expected outputs with",
                problem.file.display()
            )
        })?;
    let (file, bytes) = load_module(course, &reference).map_err(|e| anyhow!(e))?;
    let sandbox = Sandbox::new(problem.limits.wasm_stack_bytes)?;
    let program = sandbox
        .load_code(Code::of(&file, &bytes), &problem.limits.run)?
        .map_err(|e| anyhow!("{reference}: {e}"))?;
    let mut written = Vec::new();
    for generator in &problem.generators {
        for i in 0..generator.count {
            let name = generator.case_name(i);
            let input = generator.inputs(i).map_err(|e| {
                anyhow!(
                    "{}: generate {}: {e}",
                    problem.file.display(),
                    generator.name
                )
            })?;
            let stdin = serde_json::to_vec(&input)?;
            let exec = crate::parallel::on_grading_thread(problem.limits.wasm_stack_bytes, || {
                sandbox.run(&program, &stdin, &problem.limits.run)
            })?;
            if exec.outcome != Outcome::Exited(0) {
                bail!(
                    "the reference {reference} failed on generated case `{name}`: {:?}",
                    exec.outcome
                );
            }
            let output = compare::parse_output(&exec.stdout)
                .map_err(|e| anyhow!("the reference on `{name}`: {e}"))?;
            let mut expected = serde_json::Map::new();
            for field in &problem.outputs {
                let raw = output.get(&field.name).ok_or_else(|| {
                    anyhow!("the reference on `{name}` printed no `{}`", field.name)
                })?;
                let value = parse(raw, &field.ty, &field.name)
                    .map_err(|e| anyhow!("the reference on `{name}`: {e}"))?;
                expected.insert(field.name.clone(), value.to_json());
            }
            let path = problem.dir().join(generator.data_file(i));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let data = serde_json::json!({ "input": input, "expected": expected });
            std::fs::write(&path, serde_json::to_string_pretty(&data)? + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
    }
    // What was written must load: the same check `grader check` makes.
    course.problem(id)?;
    Ok(written)
}
