//! The commands: each loads what it needs, runs the pipeline, and prints data on stdout.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context as _;
use colored::Colorize;

use crate::cli::{Cli, Color, Command, Format, ReportFormat};
use crate::grade::{self, ProblemResult};
use crate::report;
use crate::sandbox::Isolated;
use crate::spec::{Course, InvalidSpec, Kind, Problem};
use crate::staff;
use crate::student::Grader;

/// How the program ends: the one table of exit codes, used by `main`, `--help`, the README
/// and the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every case accepted (for `grade`: every auto-graded part at full marks, nothing
    /// missing); for `check` and `verify`, all is well.
    Success,
    /// Graded, but not everything was accepted; `verify` found a failure.
    NotAllAccepted,
    /// The command line is wrong: an unknown flag, problem id, or no course folder.
    Usage,
    /// The course or a problem spec is invalid.
    InvalidSpec,
    /// An internal or I/O failure, e.g. the submission file cannot be read.
    Failure,
}

impl Exit {
    pub const ALL: [Exit; 5] = [
        Exit::Success,
        Exit::NotAllAccepted,
        Exit::Usage,
        Exit::InvalidSpec,
        Exit::Failure,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::NotAllAccepted => 1,
            Exit::Usage => 2,
            Exit::InvalidSpec => 3,
            Exit::Failure => 4,
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => {
                "all cases accepted (grade: everything auto-graded at full marks, nothing missing; check, verify: all is well)"
            }
            Exit::NotAllAccepted => {
                "graded, but not everything accepted (verify: a check failed; build: a problem did not build)"
            }
            Exit::Usage => "usage error: unknown flag, command or problem id, or no course folder",
            Exit::InvalidSpec => "invalid course or problem spec",
            Exit::Failure => {
                "internal or I/O failure (e.g. the submission cannot be read; build: a compiler is missing)"
            }
        }
    }

    /// The code's name in JSON errors.
    pub fn name(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::NotAllAccepted => "not_all_accepted",
            Exit::Usage => "usage",
            Exit::InvalidSpec => "invalid_spec",
            Exit::Failure => "failure",
        }
    }

    /// `Success` when everything graded was accepted.
    fn graded(all_accepted: bool) -> Self {
        if all_accepted {
            Exit::Success
        } else {
            Exit::NotAllAccepted
        }
    }

    /// The exit code for an error that ended a command.
    pub fn of_error(err: &anyhow::Error) -> Self {
        if err.chain().any(|e| e.is::<UsageError>()) {
            Exit::Usage
        } else if err.chain().any(|e| e.is::<InvalidSpec>()) {
            Exit::InvalidSpec
        } else {
            Exit::Failure
        }
    }
}

/// The `--help` text's table of exit codes.
pub fn exit_codes_help() -> String {
    let mut text = String::from("Exit codes:");
    for exit in Exit::ALL {
        let _ = write!(text, "\n  {}  {}", exit.code(), exit.meaning());
    }
    text
}

/// An error as JSON, for `--format json`: a program reading stdout gets an object it can
/// parse, whatever went wrong (the same text also goes to stderr for people).
pub fn error_json(exit: Exit, message: &str) -> String {
    let value = serde_json::json!({
        "error": {
            "kind": exit.name(),
            "exit_code": exit.code(),
            "message": message,
        },
        "schema_version": report::SCHEMA_VERSION,
        "grader_version": env!("CARGO_PKG_VERSION"),
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

/// Whether the command line asks for `--format json` (looked at before, or without, parsing
/// it: a usage error is reported in the format asked for too).
pub fn wants_json(args: &[String]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json")
}

/// A mistake on the command line that the user can fix (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// True when `err` is a write to a closed pipe (`grader show q1.1 | head`): the reader has
/// what it wanted, so the program ends quietly with exit 0, as ripgrep does.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes report text to stdout. Every command's data goes through here, so that a closed
/// pipe is an error `main` recognises rather than a panic inside `print!`.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub fn run(cli: &Cli) -> anyhow::Result<Exit> {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    colored::control::set_override(color);

    let jobs = cli.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    match &cli.command {
        Command::SandboxWorker { stack, cache } => {
            crate::sandbox::isolate::serve(*stack, cache.as_deref())?;
            return Ok(Exit::Success);
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            let mut command = crate::cli::Cli::command_with_help();
            clap_complete::generate(*shell, &mut command, "grader", &mut out);
            emit(&String::from_utf8_lossy(&out))?;
            return Ok(Exit::Success);
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(crate::cli::Cli::command_with_help()).render(&mut out)?;
            emit(&String::from_utf8_lossy(&out))?;
            return Ok(Exit::Success);
        }
        _ => {}
    }
    if let Command::Python { cache_dir } = &cli.command {
        return prepare_python(cache_dir.as_deref());
    }
    // A kit builds without the course: a student's repository need not hold it.
    if let Command::Build { dir } = &cli.command {
        let built = crate::kit::build(dir)?;
        emit(&built.human())?;
        return Ok(Exit::graded(built.failed().is_empty()));
    }
    let course = load_course(&cli.course)?;
    if let Some(expected) = &cli.expect_digest {
        let (actual, _) = course.digest()?;
        let want = expected
            .trim()
            .trim_start_matches("sha256:")
            .to_ascii_lowercase();
        if want != actual {
            return Err(InvalidSpec(vec![crate::spec::SpecError {
                file: course.root.join(crate::spec::COURSE_FILE),
                key: None,
                message: format!(
                    "this course is sha256:{actual}, not the pinned sha256:{} (--expect-digest): \
                     check out the pinned version of the course",
                    crate::sanitize::line(&want)
                ),
            }])
            .into());
        }
    }
    match &cli.command {
        Command::SandboxWorker { .. }
        | Command::Completions { .. }
        | Command::Man
        | Command::Python { .. }
        | Command::Build { .. } => Ok(Exit::Success),
        Command::Init { dir, lang } => {
            let (problems, items) = course.everything()?;
            let written = crate::kit::init(&course.name, &problems, &items, dir, *lang)?;
            emit(&written.human())?;
            Ok(Exit::Success)
        }
        Command::Test {
            problem,
            submission,
            format,
            staff,
            min_score,
        } => {
            let id = resolve_id(&course, problem, IdKind::Code)?;
            let problem = course.problem(&id)?;
            let result = grade_file(&problem, submission, jobs)?;
            let result = if *staff { result } else { result.for_student() };
            match format {
                ReportFormat::Human => emit(&report::human(&result))?,
                ReportFormat::Json => emit(&(report::json(&result, &course.digest()?.0) + "\n"))?,
                ReportFormat::Junit => emit(&report::ci::junit_problem(&result))?,
            }
            github_actions(
                &report::ci::annotations_problem(&result),
                &report::ci::summary_problem(&result),
            )?;
            Ok(match min_score {
                Some(min) => Exit::graded(min.passes(result.score, result.max_score)),
                None => Exit::graded(result.all_accepted()),
            })
        }
        Command::Grade {
            student,
            format,
            staff,
            min_score,
        } => {
            let (problems, items) = course.everything()?;
            let grader = Grader::new(problems, items, jobs)?;
            let report = grader.grade_student(student)?;
            let report = if *staff {
                report
            } else {
                report.for_student(course.keys_released)
            };
            match format {
                ReportFormat::Human => emit(&report::student_human(&report))?,
                ReportFormat::Json => emit(&(report::json(&report, &course.digest()?.0) + "\n"))?,
                ReportFormat::Junit => emit(&report::ci::junit_student(&report))?,
            }
            github_actions(
                &report::ci::annotations_student(&report),
                &report::ci::summary_student(&report),
            )?;
            Ok(match min_score {
                Some(min) => Exit::graded(min.passes(report.score, report.max_score)),
                None => Exit::graded(report.complete()),
            })
        }
        Command::Batch {
            cohort,
            out,
            shard,
            cache_dir,
            no_cache,
            quiet,
            format,
        } => {
            let cache = if *no_cache {
                None
            } else {
                // wasmtime's cache wants an absolute folder; workers may start elsewhere.
                let dir = cache_dir.clone().or_else(crate::cohort::default_cache_dir);
                dir.map(|d| std::path::absolute(&d).unwrap_or(d))
            };
            let options = crate::cohort::Options {
                cohort: cohort.clone(),
                out: out.clone(),
                shard: *shard,
                cache,
                jobs,
                progress: if *quiet {
                    crate::cohort::Progress::Quiet
                } else {
                    crate::cohort::Progress::Show
                },
            };
            let _lock = crate::gradebook::lock(out)?;
            let outcome = crate::cohort::run(&course, &options)?;
            let head = format!(
                "{} {} students in {:.1} s: {} graded, {} unchanged; {} modules run, {} known from before\n",
                "batch:".bold(),
                outcome.students,
                outcome.seconds,
                outcome.graded,
                outcome.unchanged,
                outcome.modules_run,
                outcome.modules_reused
            );
            let mut notes = String::new();
            for name in &outcome.skipped {
                let _ = writeln!(
                    notes,
                    "skipped `{}`: not a folder",
                    crate::sanitize::line(name)
                );
            }
            if !outcome.absent.is_empty() {
                let _ = writeln!(
                    notes,
                    "kept {} students of the gradebook with no folder in the cohort: {}",
                    outcome.absent.len(),
                    crate::sanitize::line(&outcome.absent.join(", "))
                );
            }
            let exit = Exit::graded(outcome.failed.is_empty());
            finish_gradebook(&course, out, *format, &head, &notes, Some(&outcome))?;
            Ok(exit)
        }
        Command::Merge { shards, out } => {
            let _lock = crate::gradebook::lock(out)?;
            let merged = crate::gradebook::merge(out, shards)?;
            let head = format!(
                "{} {} students from {} shards into {}\n",
                "merge:".bold(),
                merged,
                shards.len(),
                out.join(crate::gradebook::FILE).display()
            );
            finish_gradebook(&course, out, Format::Human, &head, "", None)?;
            Ok(Exit::Success)
        }
        Command::Import { marks, out } => {
            let mut book = crate::gradebook::Gradebook::open(out)?;
            let _lock = crate::gradebook::lock(out)?;
            let imported = crate::marks::import(&mut book, marks)?;
            let head = format!(
                "{} {} marks written, {} rows left blank (still pending)\n",
                "import:".bold(),
                imported.marked,
                imported.blank
            );
            finish_gradebook(&course, out, Format::Human, &head, "", None)?;
            Ok(Exit::Success)
        }
        Command::Check => check(&course),
        Command::Verify => {
            if course.is_student_copy() {
                return Err(UsageError(
                    "a student copy holds no solutions or keys to verify; verify the staff course"
                        .into(),
                )
                .into());
            }
            let findings = staff::verify(&course, jobs)?;
            emit(&report::checks::verified(&findings))?;
            Ok(Exit::graded(findings.iter().all(|f| f.ok)))
        }
        Command::Digest => {
            let (hex, files) = course.digest()?;
            let copy = match &course.staff_digest {
                Some(staff) => format!("; a student copy of {staff}"),
                None => String::new(),
            };
            emit(&format!("sha256:{hex}  ({files} files{copy})\n"))?;
            Ok(Exit::Success)
        }
        Command::Export { students } => export_students(&course, students),
        Command::Gen { problem } => {
            let id = resolve_id(&course, problem, IdKind::Code)?;
            for path in staff::generate(&course, &id)? {
                emit(&format!("wrote {}\n", path.display()))?;
            }
            Ok(Exit::Success)
        }
        Command::List { format } => list(&course, *format),
        Command::Answers { output } => {
            let (_, items) = course.everything()?;
            let template = report::template::answers_template(&items);
            match output {
                None => emit(&template)?,
                Some(path) => {
                    use std::io::Write;
                    let mut file = match std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(path)
                    {
                        Ok(file) => file,
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            return Err(UsageError(format!(
                                "`{}` already exists; not overwritten (choose another --output, or remove it)",
                                path.display()
                            ))
                            .into());
                        }
                        Err(e) => {
                            return Err(anyhow::Error::new(e)
                                .context(format!("cannot create `{}`", path.display())));
                        }
                    };
                    file.write_all(template.as_bytes())
                        .with_context(|| format!("writing `{}`", path.display()))?;
                    emit(&format!("wrote {}\n", path.display()))?;
                }
            }
            Ok(Exit::Success)
        }
        Command::Show { problem } => {
            // A question may have a code part, a paper part, or both.
            let id = resolve_id(&course, problem, IdKind::Any)?;
            let (items, _) = course.items()?;
            let item = items.iter().find(|i| i.id == id);
            let code = match course.problem(&id) {
                Ok(p) => Some(p),
                Err(_) if item.is_some() => None,
                Err(e) => return Err(e.into()),
            };
            emit(&report::course::show(
                code.as_ref(),
                item,
                course.is_student_copy(),
            ))?;
            Ok(Exit::Success)
        }
    }
}

/// Under GitHub Actions (`GITHUB_ACTIONS=true`): the annotations, on stderr so that stdout
/// stays the report (the runner reads workflow commands from both), and the Markdown summary
/// appended to the file `GITHUB_STEP_SUMMARY` names.
fn github_actions(annotations: &[String], summary: &str) -> anyhow::Result<()> {
    if std::env::var_os("GITHUB_ACTIONS").is_none_or(|v| v != "true") {
        return Ok(());
    }
    {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        for line in annotations {
            writeln!(err, "{line}")?;
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening GITHUB_STEP_SUMMARY `{}`", path.display()))?;
        writeln!(file, "{summary}")
            .with_context(|| format!("writing GITHUB_STEP_SUMMARY `{}`", path.display()))?;
    }
    Ok(())
}

/// Writes the exports of the gradebook in `out` and prints what happened and the class
/// summary.
fn finish_gradebook(
    course: &Course,
    out: &Path,
    format: Format,
    head: &str,
    notes: &str,
    outcome: Option<&crate::cohort::Outcome>,
) -> anyhow::Result<()> {
    let book = crate::gradebook::Gradebook::open(out)?;
    let class = book.class()?;
    let written = report::exports::write_all(&class, course.keys_released, out)?;
    let summary = report::summary::Summary::of(&class);
    match format {
        Format::Json => {
            let value = serde_json::json!({
                "run": outcome,
                "summary": summary,
                "gradebook": book.path(),
                "files": written,
            });
            emit(&(report::json(&value, &course.digest()?.0) + "\n"))?;
        }
        Format::Human => {
            let mut text = String::from(head);
            text += notes;
            text += &summary.human();
            let _ = writeln!(
                text,
                "{} {} and {}",
                "wrote".bold(),
                book.path().display(),
                written
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            emit(&text)?;
        }
    }
    Ok(())
}

/// `grader export --students DIR`: writes the student copy (spec::student_copy) into a
/// folder next to DIR, then puts it in DIR's place. DIR may be missing, empty, or a student
/// copy written before (its grader.toml says `student_copy = true` and it holds nothing but
/// grader.toml and problems/), which is replaced; anything else is refused.
fn export_students(course: &Course, dir: &Path) -> anyhow::Result<Exit> {
    use crate::spec::COURSE_FILE;
    if course.is_student_copy() {
        return Err(UsageError(format!(
            "`{}` is itself a student copy; export the staff course",
            course.root.display()
        ))
        .into());
    }
    let refuse = |why: &str| -> anyhow::Error {
        UsageError(format!(
            "`{}` {why}; not overwritten (choose a new or empty folder, or a student copy \
             written before)",
            dir.display()
        ))
        .into()
    };
    let replaced = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read `{}`", dir.display())));
        }
        Ok(meta) if !meta.is_dir() => return Err(refuse("is not a folder")),
        Ok(_) => {
            let entries: Vec<std::ffi::OsString> = std::fs::read_dir(dir)
                .with_context(|| format!("cannot list `{}`", dir.display()))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("cannot list `{}`", dir.display()))?;
            if entries.is_empty() {
                false
            } else if entries.iter().all(|e| e == COURSE_FILE || e == "problems")
                && is_student_copy(&dir.join(COURSE_FILE))
            {
                true
            } else {
                return Err(refuse("exists and is not empty, nor a student copy"));
            }
        }
    };
    let files = crate::spec::student_copy(course)?;
    let name = dir
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let staging = parent.join(format!(".{name}.export-{}", std::process::id()));
    let write = || -> anyhow::Result<()> {
        std::fs::create_dir(&staging)
            .with_context(|| format!("cannot create `{}`", staging.display()))?;
        for (path, bytes) in &files {
            let path = staging.join(path);
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("cannot create `{}`", folder.display()))?;
            }
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        if replaced {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot remove the old copy `{}`", dir.display()))?;
        } else if dir.exists() {
            std::fs::remove_dir(dir)
                .with_context(|| format!("cannot replace `{}`", dir.display()))?;
        }
        std::fs::rename(&staging, dir)
            .with_context(|| format!("cannot move the copy to `{}`", dir.display()))
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let copy = Course::load(dir)?;
    let (problems, items) = copy.everything()?;
    let samples: usize = problems.iter().map(|p| p.cases.len()).sum();
    emit(&format!(
        "wrote a student copy to {}: {} code problems with {} sample cases, {} answer, \
         choice and manual items; no hidden case, key or rubric (staff digest {})\n",
        dir.display(),
        problems.len(),
        samples,
        items.len(),
        copy.staff_digest.as_deref().unwrap_or_default()
    ))?;
    Ok(Exit::Success)
}

/// Whether `file` is the grader.toml of a student copy: `[course] student_copy = true`.
fn is_student_copy(file: &Path) -> bool {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| t.get("course")?.get("student_copy")?.as_bool())
        .unwrap_or(false)
}

/// Loads the course at `dir`; no `grader.toml` there is a usage error that says how to point
/// at a course.
fn load_course(dir: &Path) -> anyhow::Result<Course> {
    if !dir.join(crate::spec::COURSE_FILE).exists() {
        return Err(UsageError(format!(
            "no {} in `{}`: run grader inside a course folder, or point at one with \
             --course DIR or GRADER_COURSE=DIR",
            crate::spec::COURSE_FILE,
            dir.display()
        ))
        .into());
    }
    Ok(Course::load(dir)?)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Code,
    Any,
}

/// The course's id for what the user typed, or a usage error with a did-you-mean.
fn resolve_id(course: &Course, typed: &str, kind: IdKind) -> anyhow::Result<String> {
    let ids: Vec<String> = match kind {
        IdKind::Code => course.code_ids(),
        IdKind::Any => course.problem_ids()?,
    };
    if ids.iter().any(|id| id == typed) {
        return Ok(typed.to_string());
    }
    if kind == IdKind::Code && course.problem_ids()?.iter().any(|id| id == typed) {
        return Err(UsageError(format!(
            "`{typed}` has no code part: it is answered in answers.toml (`grader show {typed}`)"
        ))
        .into());
    }
    let what = match kind {
        IdKind::Code => "code problem",
        IdKind::Any => "problem or question",
    };
    let hint = match crate::spec::did_you_mean(typed, &ids) {
        Some(id) => format!("did you mean `{id}`?"),
        None => format!("`grader list` shows them all ({})", ids.join(", ")),
    };
    Err(UsageError(format!(
        "no {what} `{}` in this course; {hint}",
        crate::sanitize::line(typed)
    ))
    .into())
}

/// Grades one module file on one problem.
pub fn grade_file(
    problem: &Problem,
    submission: &Path,
    jobs: usize,
) -> anyhow::Result<ProblemResult> {
    use crate::submission::{Links, Refusal};
    let name = submission.display().to_string();
    let limit = problem.limits.module_bytes;
    let wasm = match crate::submission::read(submission, limit, Links::Follow) {
        Ok(wasm) => wasm,
        // A file that is there but cannot be a module is the submission's verdict; one that
        // is not there or cannot be opened is the user's error.
        Err(refusal @ (Refusal::TooLarge { .. } | Refusal::NotRegular(_))) => {
            let reason = refusal.as_load_error(limit);
            return Ok(grade::refused(problem, &name, &reason));
        }
        Err(refusal) => {
            return Err(anyhow::Error::new(refusal)
                .context(format!("cannot read submission `{}`", submission.display())));
        }
    };
    let executor = Isolated::here(problem.limits.wasm_stack_bytes)?;
    grade::grade(&executor, problem, &name, &wasm, jobs)
}

fn check(course: &Course) -> anyhow::Result<Exit> {
    let (problems, items) = course.everything()?;
    let leaks = crate::spec::paper_key_leaks(&problems, &items);
    if !leaks.is_empty() {
        return Err(InvalidSpec(leaks).into());
    }
    let cases: usize = problems.iter().map(|p| p.cases.len()).sum();
    emit(&report::checks::valid(
        problems.len(),
        cases,
        items.len(),
        &course.root.join(crate::spec::COURSE_FILE),
    ))?;
    Ok(Exit::Success)
}

fn list(course: &Course, format: Format) -> anyhow::Result<Exit> {
    use report::course::{Graded, Row};
    let (problems, items) = course.everything()?;
    let mut rows: Vec<Row> = problems
        .iter()
        .map(|p| Row {
            id: p.id.clone(),
            title: p.title.clone(),
            kind: p.kind,
            points: p.max_score(),
            graded: Graded::Cases(p.cases.len()),
        })
        .chain(items.iter().map(|i| Row {
            id: i.id.clone(),
            title: i.title.clone(),
            kind: i.kind,
            points: i.points,
            graded: match i.kind {
                Kind::Manual => Graded::ByTa,
                _ => Graded::Fields(i.fields.len()),
            },
        }))
        .collect();
    rows.sort_by(|a, b| {
        crate::spec::sort_key(&a.id)
            .cmp(&crate::spec::sort_key(&b.id))
            .then(a.kind.cmp(&b.kind))
    });
    match format {
        Format::Json => emit(
            &(report::course::list_json(&rows)?
                + "
"),
        )?,
        Format::Human => emit(&report::course::list_human(&rows))?,
    }
    Ok(Exit::Success)
}

/// `grader python`: the runtime prepared (or found prepared) in the cache, and where.
fn prepare_python(cache_dir: Option<&Path>) -> anyhow::Result<Exit> {
    use crate::sandbox::python;
    let cache = python::cache_folder(cache_dir)?;
    let started = std::time::Instant::now();
    // The stack does not change the compiled code: one preparation serves every problem.
    let snapshot = python::prepare_visibly(&cache, 512 << 10)?;
    let runtime = python::PythonRuntime::open(&cache, 512 << 10)?;
    emit(&format!(
        "Python runtime: {} (CPython 3.15 with numpy) from `{}`\nprepared: `{}`, compiled in \
         the cache `{}` ({:.1?}); every case starts from it with numpy imported, in {} of \
         the interpreter's own memory (on top of the case's memory limit)\n",
        python::RUNTIME,
        python::runtime_dir().display(),
        snapshot.display(),
        cache.display(),
        started.elapsed(),
        crate::grade::human_bytes(runtime.base_memory())
    ))?;
    Ok(Exit::Success)
}
