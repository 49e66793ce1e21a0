//! Text that came from outside the grader (a student's file names, stderr, answers, the
//! command line) made safe to print: no terminal escapes or control characters can reach a
//! terminal through a report, so no program can draw a fake line on a TA's screen.

/// `text` with every control character except newline and tab written as a visible escape
/// (`\u{1b}` becomes `\x1b`), and every other character kept.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\n' | '\t' => out.push(ch),
            c if c.is_control() || is_bidi_override(c) => {
                out.extend(c.escape_default());
            }
            c => out.push(c),
        }
    }
    out
}

/// Like [`text`], for a value shown on one line: newlines and tabs are escaped too.
pub fn line(line: &str) -> String {
    text(line).replace('\n', "\\n").replace('\t', "\\t")
}

/// Characters that reorder what a terminal shows (the "Trojan Source" trick).
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_become_visible() {
        for (raw, shown) in [
            ("plain ✓ text", "plain ✓ text"),
            (
                "\u{1b}[2K\u{1b}[1Ascore 13/13",
                "\\u{1b}[2K\\u{1b}[1Ascore 13/13",
            ),
            ("bell\u{7}", "bell\\u{7}"),
            ("cr\roverwrite", "cr\\roverwrite"),
            ("two\nlines\ttab", "two\nlines\ttab"),
            ("rtl\u{202E}cod.exe", "rtl\\u{202e}cod.exe"),
        ] {
            assert_eq!(text(raw), shown, "{raw:?}");
        }
        assert_eq!(line("a\nb\tc"), "a\\nb\\tc");
    }
}
