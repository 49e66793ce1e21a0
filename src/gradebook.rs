//! The gradebook: an SQLite file (`gradebook.sqlite` in the output folder) holding every
//! student, module, case result and answer of a cohort, with the hash of each file graded,
//! the digest of each problem graded against and the grader's version. The README documents
//! the tables for people who query them with `sqlite3`.
//!
//! Each student is written in one transaction: a run killed at any moment leaves whole
//! students, and the next run grades only what is missing or changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rusqlite::{Connection, OptionalExtension, params};

use crate::grade::answers::{ItemResult, ItemStatus};
use crate::grade::class::{Class, Entry, Part};
use crate::grade::{CaseResult, CodeEntry, Missing, ProblemResult, StudentReport};
use crate::spec::Kind;
use crate::student::HandedFile;
use crate::submission::FileStat;

/// The gradebook's file name in an output folder.
pub const FILE: &str = "gradebook.sqlite";

/// Raised when a table changes shape; a gradebook of another version is refused, not mixed.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS parts (
    id        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    position  INTEGER NOT NULL,
    title     TEXT NOT NULL,
    max_score REAL NOT NULL,
    digest    TEXT NOT NULL,
    PRIMARY KEY (id, kind)
) STRICT;
CREATE TABLE IF NOT EXISTS students (
    student      TEXT PRIMARY KEY,
    score        REAL NOT NULL,
    max_score    REAL NOT NULL,
    pending      REAL NOT NULL,
    error        TEXT,
    items_digest TEXT NOT NULL,
    notes        TEXT NOT NULL,
    warnings     TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS files (
    student  TEXT NOT NULL,
    name     TEXT NOT NULL,
    problem  TEXT,
    sha256   TEXT NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode    INTEGER NOT NULL,
    PRIMARY KEY (student, name)
) STRICT;
CREATE TABLE IF NOT EXISTS submissions (
    student            TEXT NOT NULL,
    problem            TEXT NOT NULL,
    file               TEXT,
    sha256             TEXT,
    digest             TEXT NOT NULL,
    score              REAL NOT NULL,
    max_score          REAL NOT NULL,
    invalid_submission TEXT,
    PRIMARY KEY (student, problem)
) STRICT;
CREATE INDEX IF NOT EXISTS submissions_by_module ON submissions (problem, sha256, digest);
CREATE TABLE IF NOT EXISTS cases (
    student    TEXT NOT NULL,
    problem    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    visibility TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    points     REAL NOT NULL,
    max_points REAL NOT NULL,
    message    TEXT NOT NULL,
    mismatches TEXT NOT NULL,
    stderr     TEXT,
    fuel       INTEGER,
    time_ms    REAL,
    PRIMARY KEY (student, problem, position)
) STRICT;
CREATE TABLE IF NOT EXISTS answers (
    student   TEXT NOT NULL,
    item      TEXT NOT NULL,
    position  INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    status    TEXT NOT NULL,
    score     REAL NOT NULL,
    max_score REAL NOT NULL,
    answer    TEXT,
    result    TEXT NOT NULL,
    PRIMARY KEY (student, item)
) STRICT;
CREATE TABLE IF NOT EXISTS manual_marks (
    student TEXT NOT NULL,
    item    TEXT NOT NULL,
    points  REAL NOT NULL,
    comment TEXT NOT NULL,
    answer  TEXT NOT NULL,
    PRIMARY KEY (student, item)
) STRICT;
CREATE VIEW IF NOT EXISTS marks AS
    SELECT m.student, m.item, m.points, m.comment, a.max_score
    FROM manual_marks m
    JOIN answers a ON a.student = m.student AND a.item = m.item AND a.answer = m.answer;
CREATE VIEW IF NOT EXISTS totals AS
    SELECT s.student,
           s.score + COALESCE((SELECT SUM(points) FROM marks WHERE marks.student = s.student), 0)
               AS score,
           s.max_score,
           s.pending - COALESCE((SELECT SUM(max_score) FROM marks WHERE marks.student = s.student), 0)
               AS pending,
           s.error
    FROM students s;
";

/// What the gradebook holds of one student, enough to know what changed.
#[derive(Debug, Default)]
pub struct Stored {
    /// Files by name.
    pub files: BTreeMap<String, (FileStat, String)>,
    /// Problem → (file, sha256, digest graded against); file `None` when nothing was handed in.
    pub submissions: BTreeMap<String, (Option<String>, Option<String>, String)>,
    pub items_digest: String,
    pub error: bool,
}

/// Everything graded of one student, as the gradebook stores it.
pub struct Record<'a> {
    pub student: &'a str,
    pub report: Result<&'a StudentReport, &'a str>,
    pub files: &'a [HandedFile],
    /// Problem id → the digest of the problem spec it was graded against.
    pub digests: &'a BTreeMap<String, String>,
    pub items_digest: &'a str,
}

/// A course as the gradebook records it.
pub struct CourseInfo {
    pub name: String,
    pub digest: String,
    pub parts: Vec<(Part, String)>,
}

pub struct Gradebook {
    conn: Connection,
    path: PathBuf,
}

/// The right to write an output folder: one `grader batch`, `merge` or `import` at a time
/// (two at once would grade the same students twice and race on the exports). Held until
/// dropped; the operating system releases it if the process dies.
pub struct Lock(#[allow(dead_code)] std::fs::File);

/// Takes the output folder `dir` (creating it), or says who has it.
pub fn lock(dir: &Path) -> anyhow::Result<Lock> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the output folder `{}`", dir.display()))?;
    let path = dir.join("gradebook.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening `{}`", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Lock(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(crate::app::UsageError(format!(
            "another grader is writing to `{}`: wait for it to finish, or choose another --out",
            dir.display()
        ))
        .into()),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("locking `{}`", path.display())))
        }
    }
}

fn text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> anyhow::Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .with_context(|| format!("unknown value `{s}` in the gradebook"))
}

impl Gradebook {
    /// Opens (creating it if needed) the gradebook in the output folder `dir`.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the output folder `{}`", dir.display()))?;
        Self::open_file(&dir.join(FILE), true)
    }

    /// Opens the gradebook in `dir`, which must exist.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(FILE);
        if !path.is_file() {
            bail!(
                "no gradebook in `{}` (expected {}): run `grader batch` first",
                dir.display(),
                FILE
            );
        }
        Self::open_file(&path, false)
    }

    fn open_file(path: &Path, create: bool) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening the gradebook `{}`", path.display()))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")
        };
        setup().with_context(|| format!("opening the gradebook `{}`", path.display()))?;
        let book = Self {
            conn,
            path: path.to_path_buf(),
        };
        let version: Option<String> = book.meta("schema_version")?;
        match version {
            Some(v) if v != SCHEMA_VERSION.to_string() => bail!(
                "`{}` is a gradebook of schema version {v}; this grader writes version \
                 {SCHEMA_VERSION}: use another output folder",
                path.display()
            ),
            Some(_) => {}
            None if create => {
                book.conn
                    .execute_batch(SCHEMA)
                    .with_context(|| format!("creating the gradebook `{}`", path.display()))?;
                book.set_meta("schema_version", &SCHEMA_VERSION.to_string())?;
            }
            None => bail!("`{}` is not a grader gradebook", path.display()),
        }
        Ok(book)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> anyhow::Result<Option<String>> {
        let exists: bool = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        if !exists {
            return Ok(None);
        }
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Records the course graded against: its name, digest, the grader's version and every
    /// part with its digest.
    pub fn set_course(&mut self, course: &CourseInfo) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        for (key, value) in [
            ("course", course.name.as_str()),
            ("course_digest", course.digest.as_str()),
            ("grader_version", env!("CARGO_PKG_VERSION")),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        tx.execute("DELETE FROM parts", [])?;
        for (position, (part, digest)) in course.parts.iter().enumerate() {
            tx.execute(
                "INSERT INTO parts (id, position, kind, title, max_score, digest)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    part.id,
                    position as i64,
                    part.kind.as_str(),
                    part.title,
                    part.max_score,
                    digest
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The students in the gradebook, sorted.
    pub fn students(&self) -> anyhow::Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT student FROM students ORDER BY student")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What is stored of `student`, if anything.
    pub fn stored(&self, student: &str) -> anyhow::Result<Option<Stored>> {
        let head: Option<(String, Option<String>)> = self
            .conn
            .prepare_cached("SELECT items_digest, error FROM students WHERE student = ?1")?
            .query_row([student], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((items_digest, error)) = head else {
            return Ok(None);
        };
        let mut stored = Stored {
            items_digest,
            error: error.is_some(),
            ..Stored::default()
        };
        let mut files = self.conn.prepare_cached(
            "SELECT name, size, mtime_ns, ctime_ns, inode, sha256 FROM files WHERE student = ?1",
        )?;
        let rows = files.query_map([student], |r| {
            Ok((
                r.get::<_, String>(0)?,
                FileStat {
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ns: r.get(2)?,
                    ctime_ns: r.get(3)?,
                    inode: r.get::<_, i64>(4)? as u64,
                },
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (name, stat, sha) = row?;
            stored.files.insert(name, (stat, sha));
        }
        let mut subs = self.conn.prepare_cached(
            "SELECT problem, file, sha256, digest FROM submissions WHERE student = ?1",
        )?;
        let rows = subs.query_map([student], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (r.get(1)?, r.get(2)?, r.get::<_, String>(3)?),
            ))
        })?;
        for row in rows {
            let (problem, sub) = row?;
            stored.submissions.insert(problem, sub);
        }
        Ok(Some(stored))
    }

    /// A stored result of `problem` for a module with these bytes, graded against the
    /// problem as it is now (`digest`): any student's, since grading depends on nothing else.
    pub fn result_for(
        &self,
        problem: &str,
        sha256: &str,
        digest: &str,
        python: bool,
    ) -> anyhow::Result<Option<ProblemResult>> {
        // Of the same kind of file: the same bytes as a module and as Python are two programs.
        let student: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT student FROM submissions
                 WHERE problem = ?1 AND sha256 = ?2 AND digest = ?3 AND file IS NOT NULL
                   AND (lower(file) LIKE '%.py') = ?4
                 ORDER BY student LIMIT 1",
            )?
            .query_row(params![problem, sha256, digest, python], |r| r.get(0))
            .optional()?;
        match student {
            Some(student) => self.result(&student, problem),
            None => Ok(None),
        }
    }

    /// The stored result of `student` on `problem` (`None` when nothing was handed in).
    pub fn result(&self, student: &str, problem: &str) -> anyhow::Result<Option<ProblemResult>> {
        type Head = (Option<String>, f64, f64, Option<String>, String);
        let head: Option<Head> = self
            .conn
            .prepare_cached(
                "SELECT s.file, s.score, s.max_score, s.invalid_submission,
                        COALESCE(p.title, s.problem)
                 FROM submissions s LEFT JOIN parts p ON p.id = s.problem AND p.kind = 'code'
                 WHERE s.student = ?1 AND s.problem = ?2",
            )?
            .query_row(params![student, problem], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let Some((Some(file), score, max_score, invalid_submission, title)) = head else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, visibility, verdict, points, max_points, message, mismatches, stderr,
                    fuel, time_ms
             FROM cases WHERE student = ?1 AND problem = ?2 ORDER BY position",
        )?;
        let rows = stmt.query_map(params![student, problem], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, f64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<i64>>(8)?,
                r.get::<_, Option<f64>>(9)?,
            ))
        })?;
        let mut cases = Vec::new();
        for row in rows {
            let (
                name,
                visibility,
                verdict,
                points,
                max_points,
                message,
                mismatches,
                stderr,
                fuel,
                time_ms,
            ) = row?;
            cases.push(CaseResult {
                name,
                visibility: parse(&visibility)?,
                verdict: parse(&verdict)?,
                points,
                max_points,
                message,
                mismatches: serde_json::from_str(&mismatches)
                    .context("a case's mismatches in the gradebook")?,
                stderr,
                fuel: fuel.map(|f| f as u64),
                time_ms,
            });
        }
        Ok(Some(ProblemResult {
            problem: problem.to_string(),
            title,
            submission: file,
            score,
            max_score,
            invalid_submission,
            cases,
        }))
    }

    /// Replaces everything stored of one student, in one transaction.
    pub fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        let student = record.student;
        let tx = self.conn.transaction()?;
        for table in ["students", "files", "submissions", "cases", "answers"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE student = ?1"),
                [student],
            )?;
        }
        let (score, max_score, pending, error, notes, warnings) = match record.report {
            Ok(r) => (
                r.score,
                r.max_score,
                r.pending,
                None,
                serde_json::to_string(&r.notes)?,
                serde_json::to_string(&r.warnings)?,
            ),
            Err(e) => (0.0, 0.0, 0.0, Some(e), "[]".into(), "[]".into()),
        };
        tx.execute(
            "INSERT INTO students (student, score, max_score, pending, error, items_digest,
                                   notes, warnings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                student,
                score,
                max_score,
                pending,
                error,
                record.items_digest,
                notes,
                warnings
            ],
        )?;
        {
            let mut files = tx.prepare_cached(
                "INSERT INTO files (student, name, problem, sha256, size, mtime_ns, ctime_ns, inode)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for f in record.files {
                files.execute(params![
                    student,
                    f.name,
                    f.problem,
                    f.sha256,
                    f.stat.size as i64,
                    f.stat.mtime_ns,
                    f.stat.ctime_ns,
                    f.stat.inode as i64
                ])?;
            }
        }
        if let Ok(report) = record.report {
            let mut subs = tx.prepare_cached(
                "INSERT INTO submissions (student, problem, file, sha256, digest, score,
                                          max_score, invalid_submission)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut cases = tx.prepare_cached(
                "INSERT INTO cases (student, problem, position, name, visibility, verdict,
                                    points, max_points, message, mismatches, stderr, fuel,
                                    time_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for entry in &report.problems {
                let result = entry.result.as_ref();
                let sha = result.and_then(|r| {
                    record
                        .files
                        .iter()
                        .find(|f| f.name == r.submission)
                        .map(|f| f.sha256.clone())
                });
                subs.execute(params![
                    student,
                    entry.problem,
                    result.map(|r| r.submission.clone()),
                    sha,
                    record
                        .digests
                        .get(&entry.problem)
                        .map_or("", String::as_str),
                    entry.score,
                    entry.max_score,
                    result.and_then(|r| r.invalid_submission.clone()),
                ])?;
                for (position, case) in result.iter().flat_map(|r| r.cases.iter()).enumerate() {
                    cases.execute(params![
                        student,
                        entry.problem,
                        position as i64,
                        case.name,
                        text(&case.visibility),
                        text(&case.verdict),
                        case.points,
                        case.max_points,
                        case.message,
                        serde_json::to_string(&case.mismatches)?,
                        case.stderr,
                        case.fuel.map(|f| f as i64),
                        case.time_ms,
                    ])?;
                }
            }
            let mut answers = tx.prepare_cached(
                "INSERT INTO answers (student, item, position, kind, status, score, max_score,
                                      answer, result)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for (position, item) in report.items.iter().enumerate() {
                answers.execute(params![
                    student,
                    item.id,
                    position as i64,
                    item.kind.as_str(),
                    text(&item.status),
                    item.score,
                    item.max_score,
                    item.answer,
                    serde_json::to_string(item)?,
                ])?;
            }
        }
        tx.commit()
            .with_context(|| format!("writing {student} to the gradebook"))?;
        Ok(())
    }

    /// The course's parts as recorded, in course order.
    pub fn parts(&self) -> anyhow::Result<Vec<Part>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, title, kind, max_score FROM parts ORDER BY position")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, f64>(3)?,
            ))
        })?;
        let mut parts = Vec::new();
        for row in rows {
            let (id, title, kind, max_score) = row?;
            parts.push(Part {
                id,
                title,
                kind: parse(&kind)?,
                max_score,
            });
        }
        Ok(parts)
    }

    /// One student's report (staff view) with TA marks applied, or why it could not be made.
    pub fn report(&self, student: &str) -> anyhow::Result<Entry> {
        let (score, max_score, pending, error, notes, warnings): (
            f64,
            f64,
            f64,
            Option<String>,
            String,
            String,
        ) = self
            .conn
            .prepare_cached(
                "SELECT score, max_score, pending, error, notes, warnings
                 FROM students WHERE student = ?1",
            )?
            .query_row([student], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .with_context(|| format!("no student `{student}` in the gradebook"))?;
        if let Some(error) = error {
            return Ok(Entry {
                student: student.to_string(),
                report: None,
                error: Some(error),
            });
        }
        let mut problems = Vec::new();
        let mut missing = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.problem, COALESCE(p.title, s.problem), s.score, s.max_score
             FROM submissions s LEFT JOIN parts p ON p.id = s.problem AND p.kind = 'code'
             WHERE s.student = ?1 ORDER BY COALESCE(p.position, 1 << 30), s.problem",
        )?;
        let rows: Vec<(String, String, f64, f64)> = stmt
            .query_map([student], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (problem, title, score, max) in rows {
            let result = self.result(student, &problem)?;
            if result.is_none() {
                missing.push(Missing {
                    id: problem.clone(),
                    kind: Kind::Code,
                });
            }
            problems.push(CodeEntry {
                problem,
                title,
                score,
                max_score: max,
                result,
            });
        }
        let mut items: Vec<ItemResult> = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT result FROM answers WHERE student = ?1 ORDER BY position")?;
        for row in stmt.query_map([student], |r| r.get::<_, String>(0))? {
            items.push(serde_json::from_str(&row?).context("an answer in the gradebook")?);
        }
        let mut marked_points = 0.0;
        let mut marked_max = 0.0;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT item, points, comment FROM marks WHERE student = ?1")?;
        let marks: Vec<(String, f64, String)> = stmt
            .query_map([student], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (item, points, comment) in marks {
            if let Some(i) = items.iter_mut().find(|i| i.id == item) {
                i.status = ItemStatus::Marked;
                i.score = points;
                i.comment = (!comment.is_empty()).then_some(comment);
                marked_points += points;
                marked_max += i.max_score;
            }
        }
        missing.extend(Missing::unanswered(&items));
        Ok(Entry {
            student: student.to_string(),
            report: Some(StudentReport {
                student: student.to_string(),
                score: score + marked_points,
                max_score,
                pending: (pending - marked_max).max(0.0),
                problems,
                items,
                missing,
                notes: serde_json::from_str(&notes).unwrap_or_default(),
                warnings: serde_json::from_str(&warnings).unwrap_or_default(),
            }),
            error: None,
        })
    }

    /// The whole class, for the exports.
    pub fn class(&self) -> anyhow::Result<Class> {
        let students = self
            .students()?
            .iter()
            .map(|s| self.report(s))
            .collect::<anyhow::Result<_>>()?;
        Ok(Class {
            course: self.meta("course")?.unwrap_or_default(),
            course_digest: self.meta("course_digest")?.unwrap_or_default(),
            grader_version: self.meta("grader_version")?.unwrap_or_default(),
            parts: self.parts()?,
            students,
        })
    }

    /// The connection, for the modules that read or write tables of their own concern
    /// (manual marks, merging).
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// The tables that hold a student's results, each keyed by `student`.
const STUDENT_TABLES: [&str; 5] = ["students", "files", "submissions", "cases", "answers"];

/// Combines the gradebooks of shard output folders into the gradebook in `out`: each
/// shard's students replace those students' rows, TA marks are kept and added. Returns how
/// many students were merged. Shards of another course version, another grader version, or
/// sharing a student are refused before anything is written.
pub fn merge(out: &Path, shards: &[PathBuf]) -> anyhow::Result<usize> {
    let mut books = Vec::new();
    for dir in shards {
        books.push((dir, Gradebook::open(dir)?));
    }
    let Some((first_dir, first)) = books.first() else {
        bail!("no shard folders to merge");
    };
    let key = |b: &Gradebook| -> anyhow::Result<(Option<String>, Option<String>)> {
        Ok((b.meta("course_digest")?, b.meta("grader_version")?))
    };
    let want = key(first)?;
    let mut owner: BTreeMap<String, &PathBuf> = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for (dir, book) in &books {
        let have = key(book)?;
        if have != want {
            bail!(
                "`{}` was graded against course {} with grader {}, but `{}` against course {} \
                 with grader {}: grade every shard with the same course and grader",
                first_dir.display(),
                want.0.as_deref().unwrap_or("?"),
                want.1.as_deref().unwrap_or("?"),
                dir.display(),
                have.0.as_deref().unwrap_or("?"),
                have.1.as_deref().unwrap_or("?")
            );
        }
        if let (Some(a), Some(b)) = (book.meta("shard")?, first.meta("shard")?)
            && a.split('/').nth(1) != b.split('/').nth(1)
        {
            bail!(
                "`{}` is shard {a} but `{}` is shard {b}: shards of one split have the same N",
                dir.display(),
                first_dir.display()
            );
        }
        for student in book.students()? {
            if let Some(other) = owner.insert(student.clone(), dir) {
                bail!(
                    "student `{}` is in both `{}` and `{}`: were the shards split with \
                     different --shard counts?",
                    crate::sanitize::line(&student),
                    other.display(),
                    dir.display()
                );
            }
        }
        counts.insert(dir.to_path_buf(), book.students()?.len());
    }
    drop(books);

    let mut target = Gradebook::create(out)?;
    if let Some(shard) = target.meta("shard")?
        && shard != "1/1"
    {
        bail!(
            "`{}` holds the gradebook of shard {shard}: merge into another --out",
            out.display()
        );
    }
    for dir in shards {
        let path = dir.join(FILE);
        let conn = &mut target.conn;
        conn.execute("ATTACH DATABASE ?1 AS shard", [path.to_string_lossy()])
            .with_context(|| format!("opening `{}`", path.display()))?;
        let copy = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            for table in STUDENT_TABLES {
                tx.execute(
                    &format!(
                        "DELETE FROM main.{table}
                         WHERE student IN (SELECT student FROM shard.students)"
                    ),
                    [],
                )?;
                tx.execute(
                    &format!("INSERT INTO main.{table} SELECT * FROM shard.{table}"),
                    [],
                )?;
            }
            tx.execute(
                "INSERT INTO main.manual_marks SELECT * FROM shard.manual_marks WHERE true
                 ON CONFLICT (student, item) DO UPDATE SET
                    points = excluded.points, comment = excluded.comment, answer = excluded.answer",
                [],
            )?;
            tx.execute("DELETE FROM main.parts", [])?;
            tx.execute("INSERT INTO main.parts SELECT * FROM shard.parts", [])?;
            tx.execute(
                "INSERT INTO main.meta SELECT * FROM shard.meta WHERE key <> 'shard'
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [],
            )?;
            tx.commit()
        };
        let copied = copy(conn).with_context(|| format!("merging `{}`", path.display()));
        conn.execute("DETACH DATABASE shard", [])?;
        copied?;
    }
    target.set_meta("shard", "1/1")?;
    Ok(counts.values().sum())
}
