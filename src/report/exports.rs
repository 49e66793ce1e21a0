//! The files a cohort run leaves for people and other systems, all rendered from one
//! [`Class`]: `grades.csv` for an LMS, a Gradescope `results.json` per student,
//! `manual.csv` for TAs, `report.html`. Each file is written whole or not at all (a temporary
//! file renamed into place), so an interrupted run never leaves a truncated export.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use super::summary::Summary;
use crate::grade::answers::ItemStatus;
use crate::grade::class::Class;
use crate::spec::Kind;

/// The column of a part in `grades.csv`: `q2.3:code`, `q1.1:answer`, … (a question may have a
/// code part and a paper part under one id).
pub fn column(id: &str, kind: Kind) -> String {
    format!("{id}:{}", kind.as_str())
}

/// A cell that a spreadsheet will not run as a formula: text from a student (a folder name,
/// an answer) that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
/// `'`, as OWASP advises against CSV injection; so does text already starting with `'`, so
/// that [`uncell`] gives back exactly what was written.
pub fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// The text of a cell written by [`cell`].
pub fn uncell(text: &str) -> &str {
    text.strip_prefix('\'').unwrap_or(text)
}

/// Writes `path` whole or not at all.
pub fn write_atomic(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    let write = || -> anyhow::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::new(file);
        render(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    };
    write().with_context(|| format!("writing `{}`", path.display()))
}

/// `grades.csv`: a header, then a row per student (sorted): `student`, `score` (marked manual
/// answers included), `max_score`, `pending` (manual points not yet marked), `status`
/// (`graded` or why not), then a column per part in course order ([`column`]).
pub fn grades_csv(class: &Class, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    let mut header: Vec<String> = ["student", "score", "max_score", "pending", "status"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(class.parts.iter().map(|p| column(&p.id, p.kind)));
    csv.write_record(&header)?;
    for s in &class.students {
        let mut row = vec![cell(&s.student)];
        match &s.report {
            Some(r) => {
                row.extend([
                    super::points(r.score),
                    super::points(r.max_score),
                    super::points(r.pending),
                    "graded".to_string(),
                ]);
                for p in &class.parts {
                    let score = if p.kind == Kind::Code {
                        r.problems
                            .iter()
                            .find(|e| e.problem == p.id)
                            .map(|e| e.score)
                    } else {
                        r.items.iter().find(|i| i.id == p.id).map(|i| i.score)
                    };
                    row.push(score.map(super::points).unwrap_or_default());
                }
            }
            None => {
                row.extend(["0".into(), super::points(class.max_score()), "0".into()]);
                row.push(cell(&format!(
                    "not graded: {}",
                    s.error.as_deref().unwrap_or("")
                )));
                row.extend(class.parts.iter().map(|_| String::new()));
            }
        }
        csv.write_record(&row)?;
    }
    csv.flush()?;
    Ok(())
}

/// A student's Gradescope `results.json` (the autograder specification's format): the
/// student's view only — hidden cases as `hidden-N` with `"visibility": "hidden"` and no data,
/// keys only once released — so nothing on Gradescope can carry a hidden case out.
pub fn gradescope(report: &crate::grade::StudentReport, keys_released: bool) -> serde_json::Value {
    let report = report.clone().for_student(keys_released);
    let mut tests = Vec::new();
    for entry in &report.problems {
        match &entry.result {
            None => tests.push(json!({
                "name": format!("{} {}", entry.problem, entry.title),
                "score": 0.0,
                "max_score": entry.max_score,
                "visibility": "visible",
                "output": format!("not submitted ({}.wasm)", entry.problem),
            })),
            Some(result) => {
                for case in &result.cases {
                    let visibility = match case.visibility {
                        crate::spec::Visibility::Sample => "visible",
                        crate::spec::Visibility::Hidden => "hidden",
                    };
                    tests.push(json!({
                        "name": format!("{} {}", entry.problem, case.name),
                        "score": case.points,
                        "max_score": case.max_points,
                        "visibility": visibility,
                        "output": format!("{}: {}", case.verdict.as_str(), case.message),
                    }));
                }
            }
        }
    }
    for item in &report.items {
        let output = match item.status {
            ItemStatus::Pending => "waiting for a TA".to_string(),
            ItemStatus::Missing => "not answered in answers.toml".to_string(),
            ItemStatus::Marked => match &item.comment {
                Some(comment) => format!("marked by a TA: {comment}"),
                None => "marked by a TA".to_string(),
            },
            _ => item
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name, f.message))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        tests.push(json!({
            "name": format!("{} {} (answers.toml)", item.id, item.title),
            "score": item.score,
            "max_score": item.max_score,
            "visibility": "visible",
            "output": output,
        }));
    }
    json!({
        "score": report.score,
        "output": format!(
            "{} of {} points{}",
            super::points(report.score),
            super::points(report.max_score),
            if report.pending > 0.0 {
                format!("; {} points wait for a TA", super::points(report.pending))
            } else {
                String::new()
            }
        ),
        "tests": tests,
    })
}

/// `manual.csv`: a row per manual answer handed in, for TAs to fill in `points` and
/// `comment` and give back to `grader import`. `answer_id` ties a mark to the answer read.
pub fn manual_csv(class: &Class, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "student",
        "item",
        "max_points",
        "points",
        "comment",
        "answer_id",
        "answer",
        "rubric",
    ])?;
    for s in &class.students {
        let Some(report) = &s.report else { continue };
        for item in &report.items {
            let Some(answer) = &item.answer else { continue };
            if item.kind != Kind::Manual {
                continue;
            }
            let (points, comment) = match item.status {
                ItemStatus::Marked => (
                    super::points(item.score),
                    item.comment.clone().unwrap_or_default(),
                ),
                _ => (String::new(), String::new()),
            };
            csv.write_record([
                cell(&s.student),
                item.id.clone(),
                super::points(item.max_score),
                points,
                cell(&comment),
                answer_id(answer),
                cell(answer),
                item.rubric.clone().unwrap_or_default(),
            ])?;
        }
    }
    csv.flush()?;
    Ok(())
}

/// A short name for an answer's text: the first 16 hex digits of its SHA-256.
pub fn answer_id(answer: &str) -> String {
    let mut id = crate::submission::sha256_hex(answer.as_bytes());
    id.truncate(16);
    id
}

/// Writes every export of `class` into `dir`; returns the paths written.
pub fn write_all(class: &Class, keys_released: bool, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let path = dir.join("grades.csv");
    write_atomic(&path, |out| grades_csv(class, out))?;
    written.push(path);
    let path = dir.join("manual.csv");
    write_atomic(&path, |out| manual_csv(class, out))?;
    written.push(path);
    let summary = Summary::of(class);
    let path = dir.join("summary.json");
    write_atomic(&path, |out| {
        serde_json::to_writer_pretty(&mut *out, &summary)?;
        writeln!(out)?;
        Ok(())
    })?;
    written.push(path);
    let path = dir.join("report.html");
    write_atomic(&path, |out| super::html::html(class, &summary, out))?;
    written.push(path);
    let gradescope_dir = dir.join("gradescope");
    for s in &class.students {
        let Some(report) = &s.report else { continue };
        let student_dir = gradescope_dir.join(&s.student);
        std::fs::create_dir_all(&student_dir)
            .with_context(|| format!("creating `{}`", student_dir.display()))?;
        let value = gradescope(report, keys_released);
        write_atomic(&student_dir.join("results.json"), |out| {
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
            Ok(())
        })?;
    }
    written.push(gradescope_dir);
    Ok(written)
}
