//! TA marks for manual items: `manual.csv` (written with every export) filled in by TAs and
//! read back into the gradebook. The whole file is checked first and imported in one
//! transaction, or not at all: a mistake on one line never leaves half a file imported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use rusqlite::params;

use crate::app::UsageError;
use crate::gradebook::Gradebook;
use crate::report::exports::{answer_id, uncell};

/// The most bytes of a marks file read: thousands of rows are a few hundred KiB.
const LIMIT: usize = 64 << 20;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Marks written (new or changed).
    pub marked: usize,
    /// Rows left blank (`points` empty): still pending.
    pub blank: usize,
}

struct Row {
    at: String,
    student: String,
    item: String,
    points: f64,
    comment: String,
    answer: String,
}

/// Imports the marks in `file` (a filled `manual.csv`) into `book`.
pub fn import(book: &mut Gradebook, file: &Path) -> anyhow::Result<Imported> {
    let bytes = crate::submission::read(file, LIMIT, crate::submission::Links::Follow)
        .map_err(|e| anyhow::anyhow!("`{}` {e}", file.display()))?;
    let name = file.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .with_context(|| format!("{name}: cannot read the header line"))?
        .clone();
    let column = |want: &str| headers.iter().position(|h| h.trim() == want);
    let mut errors = Vec::new();
    let (Some(c_student), Some(c_item), Some(c_points)) =
        (column("student"), column("item"), column("points"))
    else {
        return Err(UsageError(format!(
            "{name} line 1: the header needs the columns student, item and points (it has: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        ))
        .into());
    };
    let c_comment = column("comment");
    let c_answer = column("answer_id");

    // What can be marked: every manual answer in the gradebook, with its text.
    let students: BTreeSet<String> = book.students()?.into_iter().collect();
    let manual: BTreeMap<(String, String), (Option<String>, f64)> = {
        let conn = book.connection();
        let mut stmt = conn.prepare(
            "SELECT student, item, answer, max_score FROM answers WHERE kind = 'manual'",
        )?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let items: BTreeSet<&str> = manual.keys().map(|(_, i)| i.as_str()).collect();

    let mut rows = Vec::new();
    let mut seen = BTreeSet::new();
    let mut blank = 0;
    // A spreadsheet's row (the header is row 1) and the text file's line, which differ when
    // a cell holds a line break.
    let place = |row: usize, line: u64| {
        if line == row as u64 {
            format!("row {row}")
        } else {
            format!("row {row} (line {line})")
        }
    };
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(format!("{name} {}: {e}", place(row, line)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let at = place(row, line);
        let get = |c: usize| record.get(c).unwrap_or("").trim();
        let student = uncell(get(c_student)).to_string();
        let item = get(c_item).to_string();
        let shown = crate::sanitize::line(&student);
        let mut fail = |message: String| errors.push(format!("{name} {at}: {message}"));
        if !students.contains(&student) {
            let known: Vec<String> = students.iter().cloned().collect();
            let hint = crate::spec::did_you_mean(&student, &known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            fail(format!("no student `{shown}` in the gradebook{hint}"));
            continue;
        }
        let Some((answer, max)) = manual.get(&(student.clone(), item.clone())) else {
            if items.contains(item.as_str()) {
                fail(format!(
                    "`{shown}` did not answer `{item}`: nothing to mark"
                ));
            } else {
                fail(format!(
                    "no manual item `{}` (manual items: {})",
                    crate::sanitize::line(&item),
                    items.iter().copied().collect::<Vec<_>>().join(", ")
                ));
            }
            continue;
        };
        let Some(answer) = answer else {
            fail(format!(
                "`{shown}` did not answer `{item}`: nothing to mark"
            ));
            continue;
        };
        if !seen.insert((student.clone(), item.clone())) {
            fail(format!("`{shown}` `{item}` is marked twice"));
            continue;
        }
        let points_text = get(c_points);
        if points_text.is_empty() {
            blank += 1;
            continue;
        }
        let points: f64 = match points_text.parse() {
            Ok(p) if f64::is_finite(p) => p,
            _ => {
                fail(format!(
                    "points `{}` is not a number",
                    crate::sanitize::line(points_text)
                ));
                continue;
            }
        };
        if points < 0.0 || points > *max {
            fail(format!(
                "points {points} for `{item}` is outside 0–{}",
                crate::report::points(*max)
            ));
            continue;
        }
        if let Some(c) = c_answer {
            let id = get(c);
            if !id.is_empty() && id != answer_id(answer) {
                fail(format!(
                    "`{shown}` has changed the answer to `{item}` since this file was written: \
                     mark the new one (manual.csv of the latest run)"
                ));
                continue;
            }
        }
        rows.push(Row {
            at: at.clone(),
            student,
            item,
            points,
            comment: c_comment
                .map(|c| uncell(get(c)).to_string())
                .unwrap_or_default(),
            answer: answer.clone(),
        });
    }
    if !errors.is_empty() {
        // The TA fixes the file and runs the same command again: a usage error (exit 2).
        errors.push(format!("nothing was imported from {name}"));
        return Err(UsageError(errors.join("\n")).into());
    }
    let conn = book.connection();
    let tx = conn.transaction()?;
    let mut marked = 0;
    for row in &rows {
        let changed = tx
            .execute(
                "INSERT INTO manual_marks (student, item, points, comment, answer)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (student, item) DO UPDATE SET
                    points = excluded.points, comment = excluded.comment, answer = excluded.answer
                 WHERE points IS NOT excluded.points OR comment IS NOT excluded.comment
                    OR answer IS NOT excluded.answer",
                params![row.student, row.item, row.points, row.comment, row.answer],
            )
            .with_context(|| format!("{name} {}", row.at))?;
        marked += changed;
    }
    tx.commit()?;
    Ok(Imported { marked, blank })
}
