//! {{id}} — {{title}}
//!
//! Reads one JSON object on stdin:   {{inputs}}
//! Prints one JSON object on stdout: {{outputs}}
//!
//! `grader show {{id}}` prints the statement, the tolerances and the sample cases.
//! `grader build .` builds this into handin/{{id}}.wasm; `grader test {{id}} handin/{{id}}.wasm` tests it.

use kit_io::Output;

fn main() {
    let input = kit_io::read_input();
{{read}}
    // TODO: compute the outputs from the inputs. The placeholders below have the right types
    // and shapes but wrong values (NaN, -1, "TODO"), so the grader says wrong_answer.
{{unused}}
    let mut out = Output::new();
{{write}}
    kit_io::write_output(&out);
}
