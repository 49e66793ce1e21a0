"""{{id}} — {{title}}

Reads one JSON object on stdin:   {{inputs}}
Prints one JSON object on stdout: {{outputs}}

`grader show {{id}}` prints the statement, the tolerances and the sample cases.
`grader test {{id}} {{stem}}.py` tests this file; `grader build .` copies it to
handin/{{id}}.py.
"""

import json
import math
import sys

import numpy as np

{{helpers}}

data = json.load(sys.stdin)
{{read}}

# TODO: compute the outputs from the inputs. The placeholders below have the right types
# and shapes but wrong values (NaN, -1, "TODO"), so the grader says wrong_answer.
{{write}}

{{output}}
