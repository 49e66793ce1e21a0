//! `report.html`: the class at a glance, one self-contained page (no network, no script).

use std::io::Write;

use super::summary::Summary;
use crate::grade::class::Class;

/// Text for HTML: the five characters that matter escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub fn html(class: &Class, summary: &Summary, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>",
        escape(&class.course)
    )?;
    writeln!(
        out,
        "<h1>{}</h1><p>{} students graded of {}; mean {:.2}, median {:.2} of {} points</p>",
        escape(&class.course),
        summary.graded,
        summary.students,
        summary.mean,
        summary.median,
        super::points(summary.max_score)
    )?;
    writeln!(out, "<table><tr><th>part</th><th>full marks</th></tr>")?;
    for p in &summary.parts {
        writeln!(
            out,
            "<tr><td>{}</td><td>{:.0}%</td></tr>",
            escape(&p.id),
            p.pass_rate * 100.0
        )?;
    }
    writeln!(out, "</table></body></html>")?;
    Ok(())
}
