"""Grafana's server-side expression vocabulary, as rendered alert rules use it.

From grafana/grafana: pkg/expr (commands.go for the expression types, mathexp/reduce.go for the reduce
modes, threshold.go for the evaluator types). lint checks rules against it; verify translates with it.
"""

from __future__ import annotations

EXPRESSION_TYPES = frozenset({"reduce", "threshold", "math", "resample", "classic_conditions"})
DROP_NON_NUMBERS = "dropNN"  # reduce mode: drop NaN/±Inf before reducing
STRICT_MODES = frozenset({"", "strict"})  # Grafana's default when `settings.mode` is absent
# threshold evaluator type -> the PromQL comparison it is
COMPARISONS = {"gt": ">", "lt": "<", "ge": ">=", "gte": ">=", "le": "<=", "lte": "<=", "eq": "==", "ne": "!="}
RANGES = {  # evaluator type → (lower op, joiner, upper op)
    "within_range": (">", "and", "<"),
    "outside_range": ("<", "or", ">"),
    "within_range_included": (">=", "and", "<="),
    "outside_range_included": ("<=", "or", ">="),
}
THRESHOLD_TYPES = frozenset(COMPARISONS) | frozenset(RANGES)
