//! `report.html`: the class at a glance for a TA, one self-contained page (no network, no
//! script, no external font or style sheet): the class's numbers, a score histogram, full
//! marks per part, the verdict mix of each code problem, the hardest cases, missing work,
//! students not graded, and a line per student.
//!
//! The charts are SVG written by hand here rather than drawn with the `plotters` crate: all
//! they are is rectangles and labels, and plotters lays out text through a font backend —
//! `font-kit`, which loads the system's fonts through fontconfig and FreeType, or
//! `ab_glyph` with a font file bundled into the binary — which would add native
//! libraries or a bundled font to a grader that needs neither. Inline SVG text is
//! laid out by the browser in its own fonts, so a few lines of deterministic code that place
//! rectangles and `<text>` on a fixed grid do the job, print well and are easy to test.
//!
//! Every string that comes from the class (student folder names, case names, titles, errors)
//! goes through [`escape`], in text and in attributes alike.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use super::points;
use super::summary::{PartStats, Summary};
use crate::grade::Verdict;
use crate::grade::class::Class;
use crate::spec::{Kind, Visibility};

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

/// Bins of the score histogram.
const BINS: usize = 10;
/// Width of the bar area of the horizontal charts, in SVG units.
const PART_BAR: f64 = 340.0;
const VERDICT_BAR: f64 = 500.0;
/// Height of a row of the horizontal charts, and of a bar in it.
const ROW: f64 = 20.0;
const BAR: f64 = 14.0;
/// Characters of a part's title shown after its bar (the whole title is in the tooltip).
const TITLE_CHARS: usize = 40;

const STYLE: &str = "\
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;\
margin:0 auto;max-width:1040px;padding:24px;color:#1a1a1a;background:#fff;line-height:1.4}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.2em;margin:32px 0 8px;border-bottom:1px solid #bbb;padding-bottom:4px}
p.meta{color:#444;margin:0 0 16px}
p.note{color:#444;margin:4px 0 8px;font-size:.92em}
dl.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:0}
dl.stats div{border:1px solid #bbb;border-radius:6px;padding:6px 10px}
dl.stats dt{font-size:.82em;color:#444}
dl.stats dd{margin:0;font-size:1.35em;font-weight:600;font-variant-numeric:tabular-nums}
dl.stats dd small{font-size:.6em;font-weight:400;color:#444}
svg{max-width:100%;height:auto;display:block}
svg text{font-size:12px;fill:#1a1a1a}
ul.legend{list-style:none;padding:0;margin:0 0 8px;display:flex;flex-wrap:wrap;gap:4px 18px;font-size:.92em}
ul.legend svg{display:inline-block;vertical-align:-2px;margin-right:4px}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #ddd;vertical-align:top;overflow-wrap:anywhere}
th{border-bottom:2px solid #888;white-space:nowrap;overflow-wrap:normal}
table.narrow{width:auto;min-width:60%}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.err{white-space:pre-wrap}
code{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
@media print{body{max-width:none;padding:0;font-size:10pt}h2{break-after:avoid}\
tr,figure{break-inside:avoid}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
";

/// A number for people: at most two decimals, no trailing zeros; `–` when not a number.
fn num(x: f64) -> String {
    if x.is_finite() {
        points((x * 100.0).round() / 100.0)
    } else {
        "–".to_string()
    }
}

/// `1 student`, `2 students`.
fn students_count(n: usize) -> String {
    if n == 1 {
        "1 student".to_string()
    } else {
        format!("{n} students")
    }
}

fn percent(rate: f64) -> String {
    format!("{:.0}%", rate * 100.0)
}

/// At most `n` characters of `text`, with `…` when cut (before escaping: no entity is cut).
fn clip(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(n.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The label of a part: its id, and its kind for answer items (`q1.1 answer`), since a
/// question may have a code part and an item under one id.
fn part_label(id: &str, kind: Kind) -> String {
    if kind == Kind::Code {
        id.to_string()
    } else {
        format!("{id} {}", kind.as_str())
    }
}

/// A verdict's short name, fill colour and the colour of text on that fill. The colours are
/// the Okabe–Ito palette (told apart with the common kinds of colour blindness), and every
/// bar also says its verdicts in text.
fn verdict_style(v: Verdict) -> (&'static str, &'static str, &'static str) {
    match v {
        Verdict::Accepted => ("AC", "#009e73", "#000"),
        Verdict::WrongAnswer => ("WA", "#d55e00", "#000"),
        Verdict::InvalidOutput => ("IO", "#e69f00", "#000"),
        Verdict::RuntimeError => ("RE", "#cc79a7", "#000"),
        Verdict::TimeLimitExceeded => ("TLE", "#0072b2", "#fff"),
        Verdict::MemoryLimitExceeded => ("MLE", "#56b4e9", "#000"),
        Verdict::OutputLimitExceeded => ("OLE", "#f0e442", "#000"),
        Verdict::InvalidSubmission => ("IS", "#555555", "#fff"),
    }
}

/// How many scores fall in each of [`BINS`] equal ranges of `0..=max_score` (the last range
/// includes its end; scores outside are counted in the nearest range).
fn histogram(scores: &[f64], max_score: f64) -> [usize; BINS] {
    let mut counts = [0; BINS];
    let width = if max_score > 0.0 {
        max_score / BINS as f64
    } else {
        1.0
    };
    for &s in scores {
        // `as` saturates, and a NaN becomes 0.
        let bin = ((s / width).floor() as i64).clamp(0, BINS as i64 - 1) as usize;
        counts[bin] += 1;
    }
    counts
}

pub fn html(class: &Class, summary: &Summary, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut page = String::new();
    write_page(&mut page, class, summary)?;
    out.write_all(page.as_bytes())?;
    Ok(())
}

fn write_page(page: &mut String, class: &Class, summary: &Summary) -> std::fmt::Result {
    let course = escape(&class.course);
    write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{course} — class report</title>\n<style>\n{STYLE}</style></head>\n<body>\n"
    )?;
    header(page, class, summary)?;
    scores(page, summary)?;
    parts(page, summary)?;
    verdicts(page, summary)?;
    hardest(page, summary)?;
    missing(page, class, summary)?;
    failed(page, summary)?;
    students(page, class)?;
    page.push_str("</body></html>\n");
    Ok(())
}

fn header(page: &mut String, class: &Class, summary: &Summary) -> std::fmt::Result {
    let of = format!("<small>of {}</small>", num(summary.max_score));
    writeln!(
        page,
        "<header><h1>{}</h1>\n<p class=\"meta\">Class report, graded with grader {} against \
         course <code>{}</code></p>",
        escape(&class.course),
        escape(&class.grader_version),
        escape(&class.course_digest)
    )?;
    let graded = format!(
        "{} <small>of {} students</small>",
        summary.graded, summary.students
    );
    let cells = [
        ("graded", graded),
        ("mean", format!("{} {of}", num(summary.mean))),
        ("median", format!("{} {of}", num(summary.median))),
        ("min", format!("{} {of}", num(summary.min))),
        ("max", format!("{} {of}", num(summary.max))),
        (
            "manual answers pending",
            summary.pending_answers.to_string(),
        ),
    ];
    page.push_str("<dl class=\"stats\">");
    for (name, value) in cells {
        write!(page, "<div><dt>{name}</dt><dd>{value}</dd></div>")?;
    }
    page.push_str("</dl></header>\n");
    Ok(())
}

/// The score histogram.
fn scores(page: &mut String, summary: &Summary) -> std::fmt::Result {
    page.push_str("<section><h2>Scores</h2>\n");
    if summary.scores.is_empty() {
        page.push_str("<p>No student was graded.</p></section>\n");
        return Ok(());
    }
    let counts = histogram(&summary.scores, summary.max_score);
    let (left, top, plot_w, plot_h) = (30.0, 22.0, 900.0, 170.0);
    let (width, height) = (left + plot_w + 30.0, top + plot_h + 46.0);
    let bin_w = plot_w / BINS as f64;
    let step = summary.max_score.max(0.0) / BINS as f64;
    let tallest = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let ranges: Vec<String> = (0..BINS)
        .map(|i| format!("{}–{}", num(step * i as f64), num(step * (i + 1) as f64)))
        .collect();
    let desc: Vec<String> = ranges
        .iter()
        .zip(counts)
        .map(|(range, n)| format!("{range}: {}", students_count(n)))
        .collect();
    writeln!(
        page,
        "<figure><svg id=\"histogram\" role=\"img\" aria-label=\"Histogram of the scores of the \
         {} graded students, in {BINS} ranges of 0 to {} points\" width=\"{width:.0}\" \
         height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\">\
         <title>Score histogram</title><desc>Students per score range: {}</desc>",
        summary.graded,
        num(summary.max_score),
        desc.join("; ")
    )?;
    let base = top + plot_h;
    for (i, &n) in counts.iter().enumerate() {
        let h = n as f64 / tallest * plot_h;
        let x = left + i as f64 * bin_w;
        writeln!(
            page,
            "<rect class=\"bin\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" \
             fill=\"#0072b2\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{n}</text>",
            x + 3.0,
            base - h,
            bin_w - 6.0,
            desc[i],
            x + bin_w / 2.0,
            base - h - 5.0
        )?;
    }
    writeln!(
        page,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\" stroke=\"#1a1a1a\"/>",
        left + plot_w
    )?;
    for i in 0..=BINS {
        let x = left + i as f64 * bin_w;
        writeln!(
            page,
            "<line x1=\"{x:.1}\" y1=\"{base}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#1a1a1a\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            base + 4.0,
            base + 18.0,
            num(step * i as f64)
        )?;
    }
    writeln!(
        page,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">score (points); each bar: \
         students in the range, labelled with their number</text></svg></figure></section>",
        left + plot_w / 2.0,
        base + 38.0
    )?;
    Ok(())
}

/// Full marks per part: a horizontal bar per part.
fn parts(page: &mut String, summary: &Summary) -> std::fmt::Result {
    page.push_str(
        "<section><h2>Full marks per part</h2>\n<p class=\"note\">Share of the graded students \
         at full marks on each part (code: every case accepted); then how many handed the \
         part in, and the mean score.</p>\n",
    );
    if summary.parts.is_empty() {
        page.push_str("<p>The course has no parts.</p></section>\n");
        return Ok(());
    }
    let (label_w, text_x) = (110.0, 110.0 + PART_BAR + 10.0);
    let height = summary.parts.len() as f64 * ROW + 4.0;
    let width = 1000.0;
    let desc: Vec<String> = summary
        .parts
        .iter()
        .map(|p| {
            format!(
                "{} {}, {} submitted",
                part_label(&p.id, p.kind),
                percent(p.pass_rate),
                p.submitted
            )
        })
        .collect();
    writeln!(
        page,
        "<figure><svg id=\"parts\" role=\"img\" aria-label=\"Share of the students at full \
         marks on each of the {} parts\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\"><title>Full marks per part</title>\
         <desc>{}</desc>",
        summary.parts.len(),
        escape(&desc.join("; "))
    )?;
    for (row, p) in summary.parts.iter().enumerate() {
        let y = row as f64 * ROW + 2.0;
        let text_y = y + BAR - 3.0;
        let label = part_label(&p.id, p.kind);
        let fill = if p.kind == Kind::Code {
            "#0072b2"
        } else {
            "#56b4e9"
        };
        writeln!(
            page,
            "<g class=\"part\"><title>{}: {}</title>\
             <text x=\"0\" y=\"{text_y:.1}\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{PART_BAR}\" height=\"{BAR}\" fill=\"#e6e6e6\"/>\
             <rect class=\"pass\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" fill=\"{fill}\"/>\
             <text x=\"{text_x}\" y=\"{text_y:.1}\">{}</text></g>",
            escape(&label),
            escape(&p.title),
            escape(&label),
            p.pass_rate.clamp(0.0, 1.0) * PART_BAR,
            escape(&part_line(p, summary.graded)),
        )?;
    }
    page.push_str("</svg></figure></section>\n");
    Ok(())
}

/// The words after a part's bar: `60% · 4/5 submitted · mean 8.4 of 14 · A single neuron`.
fn part_line(p: &PartStats, graded: usize) -> String {
    format!(
        "{} · {}/{graded} submitted · mean {} of {} · {}",
        percent(p.pass_rate),
        p.submitted,
        num(p.mean_score),
        num(p.max_score),
        clip(&p.title, TITLE_CHARS)
    )
}

/// The verdicts of every case run, per code problem: a stacked bar each, and a legend.
fn verdicts(page: &mut String, summary: &Summary) -> std::fmt::Result {
    let code: Vec<&PartStats> = summary
        .parts
        .iter()
        .filter(|p| p.kind == Kind::Code)
        .collect();
    if code.is_empty() {
        return Ok(());
    }
    page.push_str(
        "<section><h2>Verdicts per code problem</h2>\n<p class=\"note\">Every case run of every \
         submission, by verdict; the bar is all the runs of the problem.</p>\n\
         <ul class=\"legend\" aria-label=\"Verdict colours\">",
    );
    for v in Verdict::ALL {
        let (short, fill, _) = verdict_style(v);
        write!(
            page,
            "<li><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><rect width=\"14\" \
             height=\"14\" fill=\"{fill}\"/></svg><b>{short}</b> {}</li>",
            v.as_str()
        )?;
    }
    page.push_str("</ul>\n");
    let (label_w, text_x) = (70.0, 70.0 + VERDICT_BAR + 10.0);
    let height = code.len() as f64 * ROW + 4.0;
    let width = 1000.0;
    let desc: Vec<String> = code.iter().map(|p| verdict_words(&p.verdicts)).collect();
    let desc: Vec<String> = code
        .iter()
        .zip(desc)
        .map(|(p, words)| format!("{}: {words}", p.id))
        .collect();
    writeln!(
        page,
        "<figure><svg id=\"verdicts\" role=\"img\" aria-label=\"Verdicts of the case runs of \
         each of the {} code problems\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\"><title>Verdicts per code problem</title>\
         <desc>{}</desc>",
        code.len(),
        escape(&desc.join("; "))
    )?;
    for (row, p) in code.iter().enumerate() {
        let y = row as f64 * ROW + 2.0;
        let text_y = y + BAR - 3.0;
        let total: usize = p.verdicts.values().sum();
        writeln!(
            page,
            "<g class=\"verdicts\"><title>{} {}: {}</title><text x=\"0\" y=\"{text_y:.1}\">{}</text>",
            escape(&p.id),
            escape(&p.title),
            escape(&verdict_words(&p.verdicts)),
            escape(&p.id)
        )?;
        if total == 0 {
            writeln!(
                page,
                "<rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{VERDICT_BAR}\" height=\"{BAR}\" \
                 fill=\"none\" stroke=\"#bbb\"/><text x=\"{text_x}\" y=\"{text_y:.1}\">no \
                 submissions</text></g>"
            )?;
            continue;
        }
        let mut x = label_w;
        let mut words = Vec::new();
        for v in Verdict::ALL {
            let n = p.verdicts.get(&v).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let (short, fill, ink) = verdict_style(v);
            let w = n as f64 / total as f64 * VERDICT_BAR;
            write!(
                page,
                "<rect class=\"{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{BAR}\" \
                 fill=\"{fill}\"><title>{}: {n}</title></rect>",
                v.as_str(),
                v.as_str()
            )?;
            // A label inside the segment when it fits (about 7 units a character).
            let inside = format!("{short} {n}");
            let fits = |s: &str| (s.len() as f64) * 7.0 + 6.0 <= w;
            let label = if fits(&inside) {
                Some(inside)
            } else if fits(&n.to_string()) {
                Some(n.to_string())
            } else {
                None
            };
            if let Some(label) = label {
                write!(
                    page,
                    "<text x=\"{:.1}\" y=\"{text_y:.1}\" text-anchor=\"middle\" \
                     style=\"fill:{ink}\">{label}</text>",
                    x + w / 2.0
                )?;
            }
            words.push(format!("{short} {n}"));
            x += w;
        }
        writeln!(
            page,
            "<text x=\"{text_x}\" y=\"{text_y:.1}\">{} · {total} runs</text></g>",
            words.join(" · ")
        )?;
    }
    page.push_str("</svg></figure></section>\n");
    Ok(())
}

/// `36 accepted, 12 time_limit_exceeded (48 case runs)`.
fn verdict_words(verdicts: &BTreeMap<Verdict, usize>) -> String {
    let total: usize = verdicts.values().sum();
    if total == 0 {
        return "no submissions".to_string();
    }
    let words: Vec<String> = Verdict::ALL
        .into_iter()
        .filter_map(|v| {
            let n = verdicts.get(&v).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {}", v.as_str()))
        })
        .collect();
    format!("{} ({total} case runs)", words.join(", "))
}

fn hardest(page: &mut String, summary: &Summary) -> std::fmt::Result {
    page.push_str("<section><h2>Hardest cases</h2>\n");
    if summary.hardest.is_empty() {
        page.push_str("<p>Every case run was accepted.</p></section>\n");
        return Ok(());
    }
    page.push_str(
        "<table id=\"hardest\" class=\"narrow\"><thead><tr><th>problem</th><th>case</th><th>shown to \
         students</th><th class=\"n\">accepted</th><th class=\"n\">rate</th></tr></thead><tbody>\n",
    );
    for c in &summary.hardest {
        let rate = if c.attempts > 0 {
            c.accepted as f64 / c.attempts as f64
        } else {
            0.0
        };
        writeln!(
            page,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"n\">{}/{}</td>\
             <td class=\"n\">{}</td></tr>",
            escape(&c.problem),
            escape(&c.case),
            match c.visibility {
                Visibility::Sample => "sample",
                Visibility::Hidden => "hidden",
            },
            c.accepted,
            c.attempts,
            percent(rate)
        )?;
    }
    page.push_str("</tbody></table></section>\n");
    Ok(())
}

/// Students with parts not handed in, the parts grouped by kind.
fn missing(page: &mut String, class: &Class, summary: &Summary) -> std::fmt::Result {
    page.push_str("<section><h2>Missing work</h2>\n");
    if summary.missing.is_empty() {
        page.push_str("<p>Every graded student handed in every part.</p></section>\n");
        return Ok(());
    }
    page.push_str(
        "<table id=\"missing\"><thead><tr><th>student</th><th class=\"n\">parts</th>\
         <th>not handed in</th></tr></thead><tbody>\n",
    );
    for (student, ids) in &summary.missing {
        let report = class
            .students
            .iter()
            .find(|s| &s.student == student)
            .and_then(|s| s.report.as_ref());
        let parts = match report {
            Some(r) if r.missing.len() == ids.len() => {
                let mut by_kind: BTreeMap<Kind, Vec<&str>> = BTreeMap::new();
                for m in &r.missing {
                    by_kind.entry(m.kind).or_default().push(&m.id);
                }
                by_kind
                    .iter()
                    .map(|(kind, ids)| {
                        format!("<b>{}</b> {}", kind.as_str(), escape(&ids.join(", ")))
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            }
            _ => escape(&ids.join(", ")),
        };
        writeln!(
            page,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{parts}</td></tr>",
            escape(student),
            ids.len()
        )?;
    }
    page.push_str("</tbody></table></section>\n");
    Ok(())
}

fn failed(page: &mut String, summary: &Summary) -> std::fmt::Result {
    page.push_str("<section><h2>Not graded</h2>\n");
    if summary.failed.is_empty() {
        page.push_str("<p>Every student's folder was graded.</p></section>\n");
        return Ok(());
    }
    page.push_str(
        "<table id=\"failed\"><thead><tr><th>student</th><th>why</th></tr></thead><tbody>\n",
    );
    for (student, error) in &summary.failed {
        writeln!(
            page,
            "<tr><td>{}</td><td class=\"err\">{}</td></tr>",
            escape(student),
            escape(error)
        )?;
    }
    page.push_str("</tbody></table></section>\n");
    Ok(())
}

/// A line per student, in the class's order.
fn students(page: &mut String, class: &Class) -> std::fmt::Result {
    page.push_str("<section><h2>Students</h2>\n");
    if class.students.is_empty() {
        page.push_str("<p>The class has no students.</p></section>\n");
        return Ok(());
    }
    page.push_str(
        "<table id=\"students\" class=\"narrow\"><thead><tr><th>student</th><th class=\"n\">score</th>\
         <th class=\"n\">%</th><th class=\"n\">pending points</th>\
         <th class=\"n\">parts missing</th></tr></thead><tbody>\n",
    );
    for s in &class.students {
        match &s.report {
            Some(r) => writeln!(
                page,
                "<tr><td>{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(&s.student),
                num(r.score),
                num(r.max_score),
                if r.max_score > 0.0 {
                    percent(r.score / r.max_score)
                } else {
                    "–".to_string()
                },
                num(r.pending),
                r.missing.len()
            )?,
            None => writeln!(
                page,
                "<tr><td>{}</td><td colspan=\"4\">not graded (see above)</td></tr>",
                escape(&s.student)
            )?,
        }
    }
    page.push_str("</tbody></table></section>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::answers::{ItemResult, ItemStatus};
    use crate::grade::class::{Entry, Part};
    use crate::grade::{CaseResult, CodeEntry, Missing, ProblemResult, StudentReport};

    fn case(name: &str, visibility: Visibility, verdict: Verdict) -> CaseResult {
        let points = if verdict == Verdict::Accepted {
            1.0
        } else {
            0.0
        };
        CaseResult {
            name: name.to_string(),
            visibility,
            verdict,
            points,
            max_points: 1.0,
            message: String::new(),
            mismatches: Vec::new(),
            stderr: None,
            fuel: None,
            time_ms: None,
        }
    }

    fn code(verdicts: [Verdict; 2]) -> CodeEntry {
        let cases = vec![
            case("small", Visibility::Sample, verdicts[0]),
            case("say \"hi\" & <b>bye</b>", Visibility::Hidden, verdicts[1]),
        ];
        let score = cases.iter().map(|c| c.points).sum();
        CodeEntry {
            problem: "q2.3".into(),
            title: "Convolution".into(),
            score,
            max_score: 2.0,
            result: Some(ProblemResult {
                problem: "q2.3".into(),
                title: "Convolution".into(),
                submission: "q2.3.wasm".into(),
                score,
                max_score: 2.0,
                invalid_submission: None,
                cases,
            }),
        }
    }

    fn item(status: ItemStatus, score: f64) -> ItemResult {
        ItemResult {
            id: "q2.3".into(),
            title: "Output size, by hand".into(),
            kind: Kind::Manual,
            status,
            score,
            max_score: 2.0,
            fields: Vec::new(),
            answer: (status != ItemStatus::Missing).then(|| "because".to_string()),
            rubric: None,
            comment: None,
        }
    }

    fn student(name: &str, code: CodeEntry, item: ItemResult) -> Entry {
        let mut missing = Missing::unanswered(std::slice::from_ref(&item));
        if code.result.is_none() {
            missing.insert(
                0,
                Missing {
                    id: code.problem.clone(),
                    kind: Kind::Code,
                },
            );
        }
        let pending = if item.status == ItemStatus::Pending {
            item.max_score
        } else {
            0.0
        };
        Entry {
            student: name.into(),
            report: Some(StudentReport {
                student: name.into(),
                score: code.score + item.score,
                max_score: 4.0,
                pending,
                problems: vec![code],
                items: vec![item],
                missing,
                notes: Vec::new(),
                warnings: Vec::new(),
            }),
            error: None,
        }
    }

    /// Four students: one at full marks, one half right and pending, one hostile name with
    /// nothing handed in, one not graded.
    fn class() -> Class {
        use Verdict::*;
        let nothing = CodeEntry {
            result: None,
            score: 0.0,
            ..code([Accepted, Accepted])
        };
        Class {
            course: "Deep Learning & <Friends>".into(),
            course_digest: "sha256:abc123".into(),
            grader_version: "0.1.0".into(),
            parts: vec![
                Part {
                    id: "q2.3".into(),
                    title: "Convolution".into(),
                    kind: Kind::Code,
                    max_score: 2.0,
                },
                Part {
                    id: "q2.3".into(),
                    title: "Output size, by hand".into(),
                    kind: Kind::Manual,
                    max_score: 2.0,
                },
            ],
            students: vec![
                student(
                    "<script>alert(1)</script>",
                    nothing,
                    item(ItemStatus::Missing, 0.0),
                ),
                student(
                    "ada",
                    code([Accepted, Accepted]),
                    item(ItemStatus::Marked, 2.0),
                ),
                student(
                    "ben",
                    code([Accepted, TimeLimitExceeded]),
                    item(ItemStatus::Pending, 0.0),
                ),
                Entry {
                    student: "cyd\"'&".into(),
                    report: None,
                    error: Some("no folder <here> & \"there\"".into()),
                },
            ],
        }
    }

    fn render(class: &Class) -> String {
        let summary = Summary::of(class);
        let mut out = Vec::new();
        let written = html(class, &summary, &mut out);
        assert!(written.is_ok(), "{written:?}");
        String::from_utf8(out).unwrap_or_default()
    }

    /// The `<g>` of the row of `class` whose text contains `needle`.
    fn row<'a>(page: &'a str, class: &str, needle: &str) -> &'a str {
        let rows: Vec<&str> = page
            .split(&format!("<g class=\"{class}\">"))
            .skip(1)
            .map(|g| g.split("</g>").next().unwrap_or_default())
            .filter(|g| g.contains(needle))
            .collect();
        assert_eq!(rows.len(), 1, "rows of {class} with {needle}: {rows:?}");
        rows[0]
    }

    #[test]
    fn every_string_from_the_class_is_escaped() {
        let page = render(&class());
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<b>bye"));
        assert!(page.contains("say &quot;hi&quot; &amp; &lt;b&gt;bye&lt;/b&gt;"));
        assert!(page.contains("Deep Learning &amp; &lt;Friends&gt;"));
        assert!(page.contains("cyd&quot;&#39;&amp;"));
        assert!(page.contains("no folder &lt;here&gt; &amp; &quot;there&quot;"));
        assert!(!page.contains("<Friends>") && !page.contains("<here>"));
    }

    #[test]
    fn the_page_is_self_contained() {
        let page = render(&class());
        for banned in [
            "http://", "https://", "<script", "<link", "<img", "<iframe", "url(", "@import",
            "src=", "href=",
        ] {
            assert!(!page.contains(banned), "the page has {banned}");
        }
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.trim_end().ends_with("</html>"));
        assert!(page.contains("<style>"));
        // Every chart is labelled for screen readers.
        assert_eq!(
            page.matches("<svg id=").count(),
            page.matches("role=\"img\" aria-label=").count()
        );
        assert_eq!(page.matches("<svg id=").count(), 3);
    }

    #[test]
    fn header_has_the_class_numbers() {
        let page = render(&class());
        // Scores 0, 4 and 1 of 4: mean 1.67, median 1.
        assert!(page.contains("<dt>graded</dt><dd>3 <small>of 4 students</small></dd>"));
        assert!(page.contains("<dt>mean</dt><dd>1.67 <small>of 4</small>"));
        assert!(page.contains("<dt>median</dt><dd>1 <small>of 4</small>"));
        assert!(page.contains("<dt>min</dt><dd>0 <small>of 4</small>"));
        assert!(page.contains("<dt>max</dt><dd>4 <small>of 4</small>"));
        assert!(page.contains("<dt>manual answers pending</dt><dd>1</dd>"));
        assert!(page.contains("grader 0.1.0"));
        assert!(page.contains("<code>sha256:abc123</code>"));
    }

    #[test]
    fn histogram_counts_scores_per_range() {
        assert_eq!(
            histogram(&[0.0, 0.99, 1.0, 5.0, 10.0, 12.0, -1.0, f64::NAN], 10.0),
            [4, 1, 0, 0, 0, 1, 0, 0, 0, 2]
        );
        assert_eq!(histogram(&[0.0, 3.0], 0.0), [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        let page = render(&class());
        let bins: Vec<&str> = page.split("<rect class=\"bin\"").skip(1).collect();
        assert_eq!(bins.len(), BINS);
        // Scores 0, 1 and 4 of 4: bins 0, 2 and 9, each with one student at full height.
        for (i, bin) in bins.iter().enumerate() {
            let full = [0, 2, 9].contains(&i);
            assert_eq!(bin.contains("height=\"170.0\""), full, "bin {i}: {bin}");
            assert_eq!(bin.contains("height=\"0.0\""), !full, "bin {i}: {bin}");
            let label = if full { ">1</text>" } else { ">0</text>" };
            assert!(bin.contains(label), "bin {i}: {bin}");
        }
        assert!(page.contains("<title>0.8–1.2: 1 student</title>"));
        assert!(page.contains("Students per score range: 0–0.4: 1 student; 0.4–0.8: 0 students;"));
        assert!(page.contains("text-anchor=\"middle\">3.6</text>"));
    }

    #[test]
    fn part_bars_are_as_wide_as_their_pass_rate() {
        let page = render(&class());
        // q2.3 code: ada at full marks of 3 graded, 2 submitted.
        let code = row(&page, "part", ">q2.3</text>");
        assert!(code.contains("class=\"pass\" x=\"110\" y=\"2.0\" width=\"113.3\""));
        assert!(code.contains(">33% · 2/3 submitted · mean 1 of 2 · Convolution<"));
        // q2.3 manual: ada marked 2 of 2; ben pending; the first one missing.
        let manual = row(&page, "part", ">q2.3 manual</text>");
        assert!(manual.contains("width=\"113.3\""));
        assert!(manual.contains("33% · 2/3 submitted · mean 0.67 of 2 · Output size, by hand<"));
        assert_eq!(page.matches("<g class=\"part\">").count(), 2);
    }

    #[test]
    fn verdict_bars_stack_the_verdicts() {
        let page = render(&class());
        let bar = row(&page, "verdicts", ">q2.3</text>");
        // 3 accepted and 1 time limit of 4 runs: 375 and 125 of 500 units, side by side.
        assert!(bar.contains(
            "class=\"accepted\" x=\"70.0\" y=\"2.0\" width=\"375.0\" height=\"14\" fill=\"#009e73\""
        ));
        assert!(bar.contains(
            "class=\"time_limit_exceeded\" x=\"445.0\" y=\"2.0\" width=\"125.0\" height=\"14\" fill=\"#0072b2\""
        ));
        assert!(bar.contains(">AC 3</text>") && bar.contains(">TLE 1</text>"));
        assert!(bar.contains(">AC 3 · TLE 1 · 4 runs</text>"));
        assert!(bar.contains(
            "<title>q2.3 Convolution: 3 accepted, 1 time_limit_exceeded (4 case runs)</title>"
        ));
        assert!(!bar.contains("wrong_answer"));
        // The legend names every verdict, in words and with its colour.
        for v in Verdict::ALL {
            let (short, fill, _) = verdict_style(v);
            assert!(page.contains(&format!(
                "fill=\"{fill}\"/></svg><b>{short}</b> {}</li>",
                v.as_str()
            )));
        }
        let fills: std::collections::HashSet<_> = Verdict::ALL
            .map(|v| verdict_style(v).1)
            .into_iter()
            .collect();
        assert_eq!(fills.len(), Verdict::ALL.len());
    }

    #[test]
    fn tables_list_hard_cases_missing_work_and_students() {
        let page = render(&class());
        assert!(page.contains(
            "<tr><td>q2.3</td><td><code>say &quot;hi&quot; &amp; &lt;b&gt;bye&lt;/b&gt;</code></td>\
             <td>hidden</td><td class=\"n\">1/2</td><td class=\"n\">50%</td></tr>"
        ));
        assert!(
            !page.contains("<code>small</code>"),
            "small was always accepted"
        );
        assert!(page.contains(
            "<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td class=\"n\">2</td>\
             <td><b>code</b> q2.3<br><b>manual</b> q2.3</td></tr>"
        ));
        assert!(page.contains(
            "<tr><td>cyd&quot;&#39;&amp;</td><td class=\"err\">no folder &lt;here&gt; &amp; \
             &quot;there&quot;</td></tr>"
        ));
        assert!(page.contains(
            "<tr><td>ben</td><td class=\"n\">1 / 4</td><td class=\"n\">25%</td>\
             <td class=\"n\">2</td><td class=\"n\">0</td></tr>"
        ));
        assert!(page.contains("<td colspan=\"4\">not graded (see above)</td>"));
    }

    #[test]
    fn an_empty_class_still_makes_a_page() {
        let empty = Class {
            course: "c".into(),
            course_digest: "sha256:0".into(),
            grader_version: "0.1.0".into(),
            parts: Vec::new(),
            students: Vec::new(),
        };
        let page = render(&empty);
        assert!(page.contains("No student was graded."));
        assert!(page.contains("The class has no students."));
        assert!(page.trim_end().ends_with("</html>"));
    }
}
