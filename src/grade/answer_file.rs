//! Reads a student's `answers.toml` question by question (contract §7): the file is split at
//! its table headers, each question's tables are parsed on their own, and a broken one (a
//! syntax error, a duplicate table, an unquoted fraction) costs only that question.

use std::collections::BTreeMap;

use crate::sanitize;

/// Why a question's table could not be read: where, and the parser's words.
#[derive(Clone, Debug, PartialEq)]
pub struct Broken {
    /// 1-based, in the student's file.
    pub line: usize,
    pub reason: String,
}

/// What could be read of an answers file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnswerFile {
    /// Every table that could be read, by its first key (a question id, or something the
    /// grader warns about later).
    pub tables: toml::Table,
    /// The questions whose tables could not be read.
    pub broken: BTreeMap<String, Broken>,
    /// About broken tables and text outside any table, each naming a line.
    pub warnings: Vec<String>,
}

/// The most characters of the student's own text quoted in one warning.
const QUOTE_CHARS: usize = 60;

/// `text` on one line, without terminal escapes, and at most `max` characters.
pub fn shown(text: &str, max: usize) -> String {
    let line = sanitize::line(text);
    if line.chars().count() <= max {
        line
    } else {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// `s` as a TOML basic string: how a table header names a question.
pub fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A table header line: its key path and whether it is `[[…]]`.
struct Header {
    path: Vec<String>,
    array: bool,
}

/// The header on `line`, if the line is one (and nothing else but a comment).
fn header(line: &str) -> Option<Header> {
    if !line.trim_start().starts_with('[') {
        return None;
    }
    // A header line on its own is a whole TOML document: the table it opens, empty.
    let doc: toml::Table = toml::from_str(line).ok()?;
    let mut path = Vec::new();
    let mut table = &doc;
    loop {
        let mut entries = table.iter();
        let (key, value) = entries.next()?;
        if entries.next().is_some() {
            return None;
        }
        path.push(key.clone());
        match value {
            toml::Value::Table(t) if t.is_empty() => return Some(Header { path, array: false }),
            toml::Value::Table(t) => table = t,
            toml::Value::Array(a)
                if a.len() == 1 && a[0].as_table().is_some_and(|t| t.is_empty()) =>
            {
                return Some(Header { path, array: true });
            }
            _ => return None,
        }
    }
}

/// The question a header names and the rest of its path: `["q2.2"]`, `[q2.2]` (which TOML
/// reads as table `2` in table `q2`) and `["q5.1".BERT]` all name a question of `ids`.
fn question(path: &[String], ids: &[String]) -> (String, Vec<String>) {
    if !ids.contains(&path[0]) && path.len() >= 2 {
        let joined = format!("{}.{}", path[0], path[1]);
        if ids.contains(&joined) {
            return (joined, path[2..].to_vec());
        }
    }
    (path[0].clone(), path[1..].to_vec())
}

/// Where a line leaves the lexer: inside a multi-line string, or how deep in brackets.
#[derive(Clone, Copy, Default, PartialEq)]
enum Within {
    #[default]
    Code,
    BasicString,
    LiteralString,
}

#[derive(Default)]
struct Lexer {
    within: Within,
    depth: usize,
}

impl Lexer {
    /// At the start of a line, could a header start here?
    fn at_top(&self) -> bool {
        self.within == Within::Code && self.depth == 0
    }

    /// Follows one line: strings, comments and brackets, so that a `[` opening a row of a
    /// multi-line matrix or a line of a multi-line string is not taken for a header.
    fn follow(&mut self, line: &str) {
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            match self.within {
                Within::BasicString => {
                    if rest[0] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if rest.starts_with(b"\"\"\"") {
                        self.within = Within::Code;
                        i += 3;
                        continue;
                    }
                }
                Within::LiteralString => {
                    if rest.starts_with(b"'''") {
                        self.within = Within::Code;
                        i += 3;
                        continue;
                    }
                }
                Within::Code => match rest[0] {
                    b'#' => return,
                    b'"' if rest.starts_with(b"\"\"\"") => {
                        self.within = Within::BasicString;
                        i += 3;
                        continue;
                    }
                    b'\'' if rest.starts_with(b"'''") => {
                        self.within = Within::LiteralString;
                        i += 3;
                        continue;
                    }
                    b'"' => {
                        // A one-line string ends at its quote or, broken, at the line's end.
                        i += 1;
                        while i < bytes.len() && bytes[i] != b'"' {
                            i += if bytes[i] == b'\\' { 2 } else { 1 };
                        }
                    }
                    b'\'' => {
                        i += 1;
                        while i < bytes.len() && bytes[i] != b'\'' {
                            i += 1;
                        }
                    }
                    b'[' | b'{' => self.depth += 1,
                    b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                },
            }
            i += 1;
        }
    }
}

/// A run of lines from one header to the next.
struct Chunk {
    /// 0-based index of the header line.
    start: usize,
    /// One past the last line.
    end: usize,
    /// The header, rewritten to name the question by its id in quotes.
    header: String,
}

/// Reads `text` table by table. `ids` are the course's question and problem ids, so that
/// `[q2.2]` can be read as question `q2.2`.
pub fn read(text: &str, ids: &[String]) -> AnswerFile {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut file = AnswerFile::default();
    // Questions in the order they first appear, each with its chunks.
    let mut groups: Vec<(String, Vec<Chunk>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut open: Option<(usize, usize)> = None;
    let mut lexer = Lexer::default();
    let mut first_header = lines.len();
    for (n, line) in lines.iter().enumerate() {
        let found = header(line).and_then(|h| {
            let (id, rest) = question(&h.path, ids);
            // Inside a multi-line value only a header naming a known question counts: the
            // value must be broken, and the question after it should not pay for it.
            (lexer.at_top() || ids.contains(&id)).then_some((id, rest, h.array))
        });
        let Some((id, rest, array)) = found else {
            lexer.follow(line);
            continue;
        };
        lexer = Lexer::default();
        first_header = first_header.min(n);
        // The chunk before ends here.
        if let Some((g, c)) = open {
            groups[g].1[c].end = n;
        }
        let path: Vec<String> = std::iter::once(quoted(&id))
            .chain(rest.iter().map(|s| quoted(s)))
            .collect();
        let (opening, closing) = if array { ("[[", "]]") } else { ("[", "]") };
        let chunk = Chunk {
            start: n,
            end: lines.len(),
            header: format!("{opening}{}{closing}", path.join(".")),
        };
        let g = match index.get(&id) {
            Some(&g) => g,
            None => {
                index.insert(id.clone(), groups.len());
                groups.push((id, Vec::new()));
                groups.len() - 1
            }
        };
        groups[g].1.push(chunk);
        open = Some((g, groups[g].1.len() - 1));
    }
    for (n, line) in lines.iter().enumerate().take(first_header) {
        let trimmed = line.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            file.warnings.push(format!(
                "answers.toml line {}: `{}` is not inside a question's table (one starts with a line like [\"q1.1\"]); ignored",
                n + 1,
                shown(trimmed, QUOTE_CHARS)
            ));
        }
    }
    for (id, chunks) in groups {
        // The question's chunks as one document, with where each of its lines came from.
        let mut doc = String::new();
        let mut origin = Vec::new();
        for chunk in &chunks {
            doc.push_str(&chunk.header);
            doc.push('\n');
            origin.push(chunk.start);
            for (n, line) in lines
                .iter()
                .enumerate()
                .take(chunk.end)
                .skip(chunk.start + 1)
            {
                doc.push_str(line);
                doc.push('\n');
                origin.push(n);
            }
        }
        match toml::from_str::<toml::Table>(&doc) {
            Ok(mut table) => {
                if let Some(value) = table.remove(&id) {
                    file.tables.insert(id, value);
                }
            }
            Err(e) => {
                let at = e
                    .span()
                    .map(|s| doc[..s.start.min(doc.len())].matches('\n').count())
                    .unwrap_or(0);
                let line = origin.get(at).copied().unwrap_or(chunks[0].start);
                let mut reason = shown(e.message().lines().next().unwrap_or("").trim(), 120);
                if reason.starts_with("duplicate key") && header(lines[line]).is_some() {
                    reason = "the table is given twice".into();
                }
                if unquoted_fraction(lines[line]) {
                    reason.push_str("; write a fraction in quotes, e.g. \"24/25\"");
                }
                file.warnings.push(format!(
                    "answers.toml line {}: [{}] could not be read, so the question scores 0: {reason} (`{}`)",
                    line + 1,
                    shown(&quoted(&id), QUOTE_CHARS),
                    shown(lines[line].trim(), QUOTE_CHARS)
                ));
                file.broken.insert(
                    id,
                    Broken {
                        line: line + 1,
                        reason,
                    },
                );
            }
        }
    }
    file
}

/// `cos = 24/25`: a fraction the student forgot to quote.
fn unquoted_fraction(line: &str) -> bool {
    let Some((_, value)) = line.split_once('=') else {
        return false;
    };
    let value = value.split('#').next().unwrap_or("").trim();
    value
        .split_once('/')
        .is_some_and(|(a, b)| is_integer(a.trim()) && is_integer(b.trim()))
}

/// An optionally signed run of ASCII digits.
pub fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        ["q2.2", "q4.4", "q5.1", "q6.1", "q4.5", "q2.3"]
            .map(String::from)
            .to_vec()
    }

    fn table<'a>(file: &'a AnswerFile, id: &str) -> &'a toml::Table {
        file.tables
            .get(id)
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("no table {id}: {file:?}"))
    }

    #[test]
    fn a_duplicate_table_costs_only_its_question() {
        let file = read(
            "[\"q2.2\"]\nparams = 1\n\n[\"q4.4\"]\nd_k = 64\n\n[\"q2.2\"]\nparams = 2\n",
            &ids(),
        );
        assert_eq!(table(&file, "q4.4")["d_k"].as_integer(), Some(64));
        assert!(!file.tables.contains_key("q2.2"));
        let broken = &file.broken["q2.2"];
        assert_eq!(broken.line, 7, "{broken:?}");
        assert_eq!(file.warnings.len(), 1, "{:?}", file.warnings);
        assert!(
            file.warnings[0]
                == "answers.toml line 7: [\"q2.2\"] could not be read, so the question scores 0: the table is given twice (`[\"q2.2\"]`)",
            "{:?}",
            file.warnings
        );
    }

    #[test]
    fn a_broken_line_costs_only_its_question() {
        let file = read(
            "# mine\n[\"q6.1\"]\ncos = 24/25\n[\"q4.4\"]\nd_k = 64\n",
            &ids(),
        );
        assert_eq!(table(&file, "q4.4")["d_k"].as_integer(), Some(64));
        assert_eq!(file.broken["q6.1"].line, 3);
        let w = &file.warnings[0];
        assert!(
            w.starts_with(
                "answers.toml line 3: [\"q6.1\"] could not be read, so the question scores 0: "
            ) && w.contains("write a fraction in quotes, e.g. \"24/25\"")
                && w.ends_with("(`cos = 24/25`)"),
            "{w}"
        );
    }

    #[test]
    fn text_before_the_first_table_is_warned_with_its_line() {
        let file = read(
            "# comment\n\nanswers = {\"q1.1\": 2}\nprint(answers)\n[\"q4.4\"]\nd_k = 64\n",
            &ids(),
        );
        assert_eq!(table(&file, "q4.4")["d_k"].as_integer(), Some(64));
        assert_eq!(file.warnings.len(), 2, "{:?}", file.warnings);
        assert!(
            file.warnings[0].starts_with(
                "answers.toml line 3: `answers = {\"q1.1\": 2}` is not inside a question's table"
            ),
            "{:?}",
            file.warnings
        );
        assert!(file.warnings[1].starts_with("answers.toml line 4: `print(answers)`"));
    }

    #[test]
    fn nested_and_bare_headers_name_their_question() {
        let file = read(
            "[\"q5.1\".BERT]\nmasking = \"bidirectional\"\n[q4.4]\nd_k = 64\n[\"q5.1\".GPT]\nmasking = \"causal\"\n[\"q5.1\".T5] # mine\nmasking = causal\n",
            &ids(),
        );
        assert_eq!(table(&file, "q4.4")["d_k"].as_integer(), Some(64));
        // One broken nested table costs the whole question, once.
        assert_eq!(file.broken["q5.1"].line, 8);
        assert_eq!(file.warnings.len(), 1, "{:?}", file.warnings);
        let file = read(
            "[\"q5.1\".BERT]\nmasking = \"bidirectional\"\n[q4.4]\nd_k = 64\n[\"q5.1\".GPT]\nmasking = \"causal\"\n",
            &ids(),
        );
        let q51 = table(&file, "q5.1");
        assert_eq!(q51["GPT"]["masking"].as_str(), Some("causal"));
        assert_eq!(q51["BERT"]["masking"].as_str(), Some("bidirectional"));
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    }

    #[test]
    fn brackets_inside_values_are_not_headers() {
        let text = "[\"q2.3\"]\ny = [\n  [-4, -4],\n  [1],\n]\nnote = \"\"\"\n[q9.9]\n\"\"\"\n[\"q4.4\"]\nd_k = 64\n";
        let file = read(text, &ids());
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
        assert_eq!(table(&file, "q2.3")["y"].as_array().map(Vec::len), Some(2));
        assert_eq!(table(&file, "q2.3")["note"].as_str(), Some("[q9.9]\n"));
        // An array left open does not swallow the next question.
        let file = read("[\"q2.3\"]\ny = [[1, 2],\n[\"q4.4\"]\nd_k = 64\n", &ids());
        assert_eq!(table(&file, "q4.4")["d_k"].as_integer(), Some(64));
        assert_eq!(file.broken["q2.3"].line, 2, "{:?}", file.broken);
    }

    #[test]
    fn what_is_quoted_is_one_short_clean_line() {
        let long = "x".repeat(500);
        let file = read(
            &format!("\u{1b}[2J{long}\n[\"q4.4\"]\nd_k = \u{1b}{long}\n"),
            &ids(),
        );
        assert_eq!(file.warnings.len(), 2);
        for w in &file.warnings {
            assert!(
                !w.contains('\u{1b}') && !w.contains('\n') && w.chars().count() < 400,
                "{w}"
            );
        }
    }
}
