/* {{id}} — {{title}}
 *
 * Reads one JSON object on stdin:   {{inputs}}
 * Prints one JSON object on stdout: {{outputs}}
 *
 * `grader show {{id}}` prints the statement, the tolerances and the sample cases.
 * `grader build .` builds this into handin/{{id}}.wasm (or `make build/{{id}}.wasm`);
 * `grader test {{id}} handin/{{id}}.wasm` tests it.
 */
#include <math.h>

#include "json.h"

int main(void) {
    Json *in = json_read_stdin();
{{read}}
    /* TODO: compute the outputs from the inputs. The placeholders below have the right types
     * and shapes but wrong values (NaN, -1, "TODO"), so the grader says wrong_answer. */
{{unused}}
    Json *out = json_new_object();
{{write}}
    json_write_stdout(out);
    return 0;
}
