//! A cohort: a folder of student folders (contract §8), graded into a gradebook.
//!
//! Students are graded side by side on `jobs` threads (each student's problems one after
//! another, so every thread stays busy to the end); this thread writes each finished student
//! to the gradebook in one transaction. What the gradebook already holds is not graded again:
//! a student whose files and problems are unchanged is skipped, and a module whose bytes were
//! graded before on the same problem (by this student or another) takes that result.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::grade::ProblemResult;
use crate::grade::class::Part;
use crate::gradebook::{CourseInfo, Gradebook, Record, Stored};
use crate::handin;
use crate::spec::{Course, Item, Kind, Problem};
use crate::student::{Graded, Grader, Isolation, Known};
use crate::submission::{self, FileStat, Links, Refusal};

/// A deterministic slice of a cohort: students whose name hashes to `index - 1` modulo
/// `count`. A student's shard depends on the name only, so adding a student moves no other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write I/N with 1 ≤ I ≤ N, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    pub fn holds(&self, student: &str) -> bool {
        use sha2::{Digest, Sha256};
        let hash = Sha256::digest(student.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        u64::from_le_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// How a run shows that it is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A bar on stderr when it is a terminal, else a line per student.
    Show,
    Quiet,
}

pub struct Options {
    pub cohort: PathBuf,
    pub out: PathBuf,
    pub shard: Option<Shard>,
    /// Where compiled modules are kept; `None`: compile everything afresh.
    pub cache: Option<PathBuf>,
    pub jobs: usize,
    pub progress: Progress,
}

/// What a run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Outcome {
    /// Students in the cohort (this shard's).
    pub students: usize,
    /// Students graded in this run (new or changed).
    pub graded: usize,
    /// Students whose files and problems were unchanged: not graded again.
    pub unchanged: usize,
    /// Modules compiled and run in this run.
    pub modules_run: usize,
    /// Modules whose result was known from before (same bytes, same problem).
    pub modules_reused: usize,
    /// Students whose folder could not be graded, and why.
    pub failed: Vec<(String, String)>,
    /// Entries of the cohort folder that are not student folders (skipped).
    pub skipped: Vec<String>,
    /// Students in the gradebook with no folder in the cohort any more (kept).
    pub absent: Vec<String>,
    pub seconds: f64,
}

/// A student folder of a cohort: (name, path).
pub type StudentDir = (String, PathBuf);

/// The student folders of `cohort`, sorted by name, and the entries that are not one.
/// A symbolic link is not followed: it is reported as a broken folder.
pub fn discover(cohort: &Path) -> anyhow::Result<(Vec<StudentDir>, Vec<String>)> {
    let entries = std::fs::read_dir(cohort)
        .with_context(|| format!("cannot read the cohort folder `{}`", cohort.display()))?;
    let mut students = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        let entry = entry
            .with_context(|| format!("cannot read the cohort folder `{}`", cohort.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() || kind.is_symlink() {
            students.push((name, entry.path()));
        } else {
            skipped.push(name);
        }
    }
    students.sort();
    skipped.sort();
    Ok((students, skipped))
}

/// The course as the gradebook records it, and each part's digest.
pub fn course_info(
    course: &Course,
    problems: &[Problem],
    items: &[Item],
) -> anyhow::Result<CourseInfo> {
    let items_digest = crate::spec::items_fingerprint(items);
    let mut parts: Vec<(Part, String)> = problems
        .iter()
        .map(|p| {
            (
                Part {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    kind: Kind::Code,
                    max_score: p.max_score(),
                },
                crate::spec::problem_fingerprint(p),
            )
        })
        .chain(items.iter().map(|i| {
            (
                Part {
                    id: i.id.clone(),
                    title: i.title.clone(),
                    kind: i.kind,
                    max_score: i.points,
                },
                items_digest.clone(),
            )
        }))
        .collect();
    parts.sort_by(|a, b| {
        crate::spec::sort_key(&a.0.id)
            .cmp(&crate::spec::sort_key(&b.0.id))
            .then(a.0.kind.cmp(&b.0.kind))
    });
    Ok(CourseInfo {
        name: course.name.clone(),
        digest: format!("sha256:{}", course.digest()?.0),
        parts,
    })
}

/// Results this run has graded and not yet written: a second module with the same bytes
/// waits for the first one's result instead of compiling it again.
#[derive(Default)]
struct Memo {
    /// (problem, SHA-256, a Python file?): the same bytes as a module and as Python source are
    /// two submissions.
    slots: Mutex<HashMap<(String, String, bool), Slot>>,
}

/// One (problem, module bytes) pair's result, once graded; locked while it is graded.
type Slot = Arc<Mutex<Option<ProblemResult>>>;

impl Memo {
    fn slot(&self, problem: &str, sha256: &str, python: bool) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            slots
                .entry((problem.to_string(), sha256.to_string(), python))
                .or_default(),
        )
    }

    /// Once a student is in the gradebook, its results are found there.
    fn forget(&self, files: &[crate::student::HandedFile]) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for f in files {
            if let Some(problem) = &f.problem {
                let python = crate::sandbox::is_python(&f.name);
                slots.remove(&(problem.clone(), f.sha256.clone(), python));
            }
        }
    }
}

/// What one grading thread knows: the student's stored files, the gradebook, the memo.
struct Before<'a> {
    stored: Option<&'a Stored>,
    book: &'a Mutex<Gradebook>,
    memo: &'a Memo,
    digests: &'a BTreeMap<String, String>,
}

impl Known for Before<'_> {
    fn hash_of(&self, name: &str, stat: &FileStat) -> Option<String> {
        let (known, sha) = self.stored?.files.get(name)?;
        (known == stat).then(|| sha.clone())
    }

    fn result(
        &self,
        problem: &Problem,
        sha256: &str,
        python: bool,
        grade: &mut dyn FnMut() -> anyhow::Result<ProblemResult>,
    ) -> anyhow::Result<(ProblemResult, bool)> {
        let slot = self.memo.slot(&problem.id, sha256, python);
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(result) = slot.as_ref() {
            return Ok((result.clone(), false));
        }
        let digest = self.digests.get(&problem.id).map_or("", String::as_str);
        let stored = {
            let book = self.book.lock().unwrap_or_else(|e| e.into_inner());
            book.result_for(&problem.id, sha256, digest, python)?
        };
        let (result, ran) = match stored {
            Some(result) => (result, false),
            None => (grade()?, true),
        };
        *slot = Some(result.clone());
        Ok((result, ran))
    }
}

/// True when nothing `dir`'s grade depends on has changed since `stored` was written.
fn unchanged(
    stored: &Stored,
    dir: &Path,
    problems: &[Problem],
    digests: &BTreeMap<String, String>,
    items_digest: &str,
) -> bool {
    if stored.error || stored.items_digest != items_digest {
        return false;
    }
    if stored.submissions.len() != problems.len() {
        return false;
    }
    let ids: Vec<String> = problems.iter().map(|p| p.id.clone()).collect();
    let Ok(hand_in) = handin::read(dir, &ids) else {
        return false;
    };
    let same_file = |name: &str, stored_name: Option<&str>| -> bool {
        match submission::open(&hand_in.dir.join(name), Links::Refuse) {
            Ok(opened) => {
                stored_name == Some(name)
                    && stored
                        .files
                        .get(name)
                        .is_some_and(|(stat, _)| *stat == opened.stat)
            }
            Err(Refusal::NotFound) => stored_name.is_none(),
            // A file that is there but refused is refused again: cheap, and never stale.
            Err(_) => false,
        }
    };
    problems.iter().all(|p| {
        let Some((file, _, digest)) = stored.submissions.get(&p.id) else {
            return false;
        };
        let name = hand_in
            .modules
            .get(&p.id)
            .cloned()
            .unwrap_or_else(|| format!("{}.wasm", p.id));
        Some(digest) == digests.get(&p.id) && same_file(&name, file.as_deref())
    }) && {
        let answers = stored
            .files
            .contains_key(handin::ANSWERS_FILE)
            .then_some(handin::ANSWERS_FILE);
        same_file(handin::ANSWERS_FILE, answers)
    }
}

enum Done {
    Unchanged,
    Graded(Box<Graded>),
    Failed(String),
}

/// Grades the cohort into the gradebook in `opts.out` (whose [`crate::gradebook::lock`] the
/// caller holds).
pub fn run(course: &Course, opts: &Options) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let (problems, items) = course.everything()?;
    let info = course_info(course, &problems, &items)?;
    let digests: BTreeMap<String, String> = info
        .parts
        .iter()
        .filter(|(part, _)| part.kind == Kind::Code)
        .map(|(part, digest)| (part.id.clone(), digest.clone()))
        .collect();
    let items_digest = crate::spec::items_fingerprint(&items);

    let mut book = Gradebook::create(&opts.out)?;
    let shard = opts
        .shard
        .map_or_else(|| "1/1".to_string(), |s| s.to_string());
    match book.meta("shard")? {
        Some(recorded) if recorded != shard => bail!(crate::app::UsageError(format!(
            "`{}` holds the gradebook of shard {recorded}, not {shard}: give each shard its own --out",
            opts.out.display()
        ))),
        _ => book.set_meta("shard", &shard)?,
    }
    book.set_course(&info)?;

    let (mut students, skipped) = discover(&opts.cohort)?;
    if let Some(shard) = opts.shard {
        students.retain(|(name, _)| shard.holds(name));
    }
    let mut outcome = Outcome {
        students: students.len(),
        skipped,
        ..Outcome::default()
    };
    let names: std::collections::BTreeSet<&str> =
        students.iter().map(|(n, _)| n.as_str()).collect();
    outcome.absent = book
        .students()?
        .into_iter()
        .filter(|s| !names.contains(s.as_str()))
        .collect();

    let exe = std::env::current_exe().context("finding the grader executable")?;
    let grader = Grader::with(
        problems.clone(),
        items,
        1,
        &Isolation::Workers(exe, opts.cache.clone()),
    )?;
    // The Python runtime's one-time preparation (minutes) before the bar: it reports its own
    // progress, and no student's time is spent waiting for it.
    let code_ids: Vec<String> = problems.iter().map(|p| p.id.clone()).collect();
    if students.iter().any(|(_, dir)| holds_python(dir, &code_ids)) {
        let cache = crate::sandbox::python::cache_folder(opts.cache.as_deref())?;
        crate::sandbox::python::prepare_visibly(&cache, grader.max_wasm_stack())?;
    }
    let mut bar = progress_bar(students.len(), opts.progress);
    let memo = Memo::default();
    let next = AtomicUsize::new(0);
    let cases_run = AtomicUsize::new(0);
    let threads = opts.jobs.clamp(1, students.len().max(1));
    let (tx, rx) = mpsc::channel::<(usize, Done)>();

    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..threads {
            let tx = tx.clone();
            let reader = Mutex::new(Gradebook::open(&opts.out)?);
            let (students, grader, memo, next, digests, items_digest, problems, cases_run) = (
                &students,
                &grader,
                &memo,
                &next,
                &digests,
                &items_digest,
                &problems,
                &cases_run,
            );
            std::thread::Builder::new()
                .name("grader-student".into())
                .stack_size(grader.max_wasm_stack() + (8 << 20))
                .spawn_scoped(scope, move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((name, dir)) = students.get(i) else {
                            break;
                        };
                        let done = grade_one(
                            name,
                            dir,
                            &reader,
                            grader,
                            memo,
                            digests,
                            items_digest,
                            problems,
                        );
                        if let Done::Graded(g) = &done {
                            let cases: usize = g
                                .report
                                .problems
                                .iter()
                                .filter_map(|p| p.result.as_ref())
                                .map(|r| r.cases.len())
                                .sum();
                            cases_run.fetch_add(cases, Ordering::Relaxed);
                        }
                        if tx.send((i, done)).is_err() {
                            break;
                        }
                    }
                })
                .context("starting a grading thread")?;
        }
        drop(tx);
        for (i, done) in rx {
            let (name, _) = &students[i];
            let line = match done {
                Done::Unchanged => {
                    outcome.unchanged += 1;
                    "unchanged".to_string()
                }
                Done::Graded(graded) => {
                    book.write(&Record {
                        student: name,
                        report: Ok(&graded.report),
                        files: &graded.files,
                        digests: &digests,
                        items_digest: &items_digest,
                    })?;
                    memo.forget(&graded.files);
                    outcome.graded += 1;
                    let modules = graded
                        .report
                        .problems
                        .iter()
                        .filter(|p| p.result.is_some())
                        .count();
                    outcome.modules_run += graded.ran;
                    outcome.modules_reused += modules - graded.ran.min(modules);
                    format!(
                        "{}/{}",
                        crate::report::points(graded.report.score),
                        crate::report::points(graded.report.max_score)
                    )
                }
                Done::Failed(error) => {
                    book.write(&Record {
                        student: name,
                        report: Err(&error),
                        files: &[],
                        digests: &digests,
                        items_digest: &items_digest,
                    })?;
                    outcome.graded += 1;
                    outcome.failed.push((name.clone(), error.clone()));
                    format!("not graded: {error}")
                }
            };
            bar.student(
                name,
                &line,
                cases_run.load(Ordering::Relaxed),
                started.elapsed(),
            );
        }
        Ok(())
    })?;
    bar.finish();
    outcome.failed.sort();
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

#[allow(clippy::too_many_arguments)]
fn grade_one(
    name: &str,
    dir: &Path,
    reader: &Mutex<Gradebook>,
    grader: &Grader,
    memo: &Memo,
    digests: &BTreeMap<String, String>,
    items_digest: &str,
    problems: &[Problem],
) -> Done {
    let stored = {
        let book = reader.lock().unwrap_or_else(|e| e.into_inner());
        match book.stored(name) {
            Ok(stored) => stored,
            Err(e) => return Done::Failed(format!("{e:#}")),
        }
    };
    if dir.is_symlink() {
        return Done::Failed(
            "is a symbolic link, not a folder: only folders inside the cohort are graded".into(),
        );
    }
    if let Some(stored) = &stored
        && unchanged(stored, dir, problems, digests, items_digest)
    {
        return Done::Unchanged;
    }
    let known = Before {
        stored: stored.as_ref(),
        book: reader,
        memo,
        digests,
    };
    match grader.grade_folder(dir, &known) {
        Ok(mut graded) => {
            graded.report.student = name.to_string();
            Done::Graded(Box::new(graded))
        }
        Err(e) => Done::Failed(crate::sanitize::line(&format!("{e:#}"))),
    }
}

/// The bar on a terminal, a line per student elsewhere (a CI log), nothing when quiet.
enum Bar {
    Terminal(indicatif::ProgressBar),
    Lines { total: usize, done: usize },
    Quiet,
}

fn progress_bar(students: usize, progress: Progress) -> Bar {
    match progress {
        Progress::Quiet => Bar::Quiet,
        Progress::Show if std::io::stderr().is_terminal() => {
            let bar = indicatif::ProgressBar::new(students as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} students  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            Bar::Terminal(bar)
        }
        Progress::Show => Bar::Lines {
            total: students,
            done: 0,
        },
    }
}

impl Bar {
    fn student(&mut self, name: &str, line: &str, cases: usize, elapsed: Duration) {
        let rate = cases as f64 / elapsed.as_secs_f64().max(1e-3);
        match self {
            Bar::Terminal(bar) => {
                bar.set_message(format!("{rate:.0} cases/s"));
                bar.inc(1);
            }
            Bar::Lines { total, done } => {
                *done += 1;
                eprintln!(
                    "[{done}/{total}] {}: {}",
                    crate::sanitize::line(name),
                    crate::sanitize::line(line)
                );
            }
            Bar::Quiet => {}
        }
    }

    fn finish(&self) {
        if let Bar::Terminal(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Whether a student folder hands in a Python file for a code problem (by the hand-in rules:
/// a stray `plot.py` does not count).
fn holds_python(dir: &Path, code_ids: &[String]) -> bool {
    crate::handin::read(dir, code_ids)
        .is_ok_and(|h| h.modules.values().any(|f| crate::sandbox::is_python(f)))
}

/// The default folder of compiled modules: `$XDG_CACHE_HOME/grader`, else `~/.cache/grader`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("grader"))
}
