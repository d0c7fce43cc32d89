"""SARIF 2.1.0 for code scanning (GitHub's Security tab, other SARIF viewers): lint findings.

One run, the tool's driver with a rule per rule id found (its safer way as the help), one
result per finding (error/warning level, the message, the file and line as a physical location,
relative to the checkout as SARIF viewers resolve it).
"""

from __future__ import annotations

import json
from typing import Any

from app import __version__
from app.core.errors import redact
from app.core.text import json_safe
from app.report.checks import CheckRun

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def document(run: CheckRun) -> dict[str, Any]:
    """The SARIF log as a dict."""
    findings = [c for c in run.checks if c.outcome in ("failed", "warning")]
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for c in findings:
        rule = c.rule or run.command
        rules.setdefault(rule, {"id": rule, "shortDescription": {"text": rule.replace("-", " ")},
                                "help": {"text": c.rule_help or rule}})
        result: dict[str, Any] = {"ruleId": rule, "level": "error" if c.outcome == "failed" else "warning",
                                  "message": {"text": c.message or rule}}
        if c.file:
            region: dict[str, int] = {"startLine": max(c.line or 1, 1)}
            if c.column is not None:
                region["startColumn"] = max(c.column, 1)
            result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": c.file}, "region": region}}]
        results.append(result)
    driver = {"name": "Tidemark", "version": __version__, "semanticVersion": __version__,
              "rules": list(rules.values())}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}


def render(run: CheckRun) -> str:
    """The SARIF log as JSON text."""
    return json_safe(redact(json.dumps(document(run), indent=2, ensure_ascii=False))) + "\n"
