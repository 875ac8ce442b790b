"""LogQL checks: syntax by Loki's official lezer grammar, stream selectors against the shipper's labels.

A stream selector may only match labels the app's log shipper sends (app.logship.STREAM_LABEL_NAMES);
anything else (`job`, `logger`, `event`...) lives inside the JSON line and must be filtered after `| json`,
otherwise the query silently matches no stream at all. A matcher on a label whose values the shipper fixes
(`app`, `level`: registry.LOKI_STREAM_VALUES) must match one of them, or it selects no stream either.
"""

from __future__ import annotations

from typing import Any

from scripts.lint.promql import label_value_findings
from scripts.lint.registry import LOKI_STREAM_LABELS, LOKI_STREAM_VALUES, Registry, did_you_mean
from scripts.rendered.model import Finding, PanelQuery
from scripts.rendered.variables import Substituted


def check_logql(
    query: PanelQuery, sub: Substituted, facts: dict[str, Any], registry: Registry
) -> list[Finding]:
    findings = []
    for error in facts["errors"][:1]:  # the first error explains the rest (lezer recovers and repeats)
        findings.append(
            query.finding(
                "logql-syntax",
                f"LogQL syntax error at column {error['from'] + 1} near {error['near']!r} in: {sub.text}",
            )
        )
    for selector in facts["selectors"]:
        for label in selector["labels"]:
            if label not in LOKI_STREAM_LABELS:
                hint = did_you_mean(registry.closest_label(label, LOKI_STREAM_LABELS))
                findings.append(
                    query.finding(
                        "logql-stream-labels",
                        f"stream label {label!r} is not sent by the log shipper (only "
                        f"{', '.join(sorted(LOKI_STREAM_LABELS))}): filter it after `| json`{hint}",
                    )
                )
        findings += label_value_findings(
            query, sub, selector["matchers"], LOKI_STREAM_VALUES, "the log shipper sends", "logql-label-value"
        )
    return findings
