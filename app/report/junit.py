"""JUnit XML for CI test views (GitLab, Jenkins, GitHub test reporters): a CheckRun as one suite
(a fleet: one suite per target, `render_all`).

The shape of the Ant/Jenkins JUnit schema CI systems read: <testsuites> with one <testsuite>
(name, tests, failures, errors, skipped, time, timestamp, hostname), one <testcase> per check
(name, classname, time; file and line as pytest's xunit1 and GitLab read them), a failed one
with <failure message type>, whose text also names file:line for readers that ignore the
attributes; a skipped one with <skipped message>; a warning passes, its text in <system-out>.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from app.core.errors import redact
from app.report.checks import Check, CheckRun

# Characters XML 1.0 cannot carry at all (even escaped): written out as \xNN instead.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", redact(value))


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def render(run: CheckRun) -> str:
    """The XML document, with its declaration."""
    return render_all([run])


def render_all(runs: list[CheckRun]) -> str:
    """One document with a <testsuite> per run: a fleet's targets, each as a single target's suite."""
    command = runs[0].command if runs else ""
    suites = [_suite_attrs(r) for r in runs]
    totals = {k: str(sum(int(a[k]) for a in suites)) for k in ("tests", "failures", "errors", "skipped")}
    time_s = sum(float(a["time"]) for a in suites)
    root = ET.Element("testsuites", {"name": _text(f"tidemark {command}"), **totals, "time": f"{time_s:.3f}"})
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    host = _text(socket.gethostname())
    for run, attrs in zip(runs, suites, strict=True):
        suite = ET.SubElement(root, "testsuite", {**attrs, "timestamp": stamp, "hostname": host})
        if run.target:
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", {"name": "target", "value": _text(run.target)})
        for c in run.checks:
            _case(suite, run.command, c)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite_attrs(run: CheckRun) -> dict[str, str]:
    total_ms = run.time_ms or sum(c.time_ms for c in run.checks)
    return {"name": _text(f"tidemark {run.command}" + (f": {run.target}" if run.target else "")),
            "tests": str(len(run.checks)), "failures": str(run.count("failed")), "errors": "0",
            "skipped": str(run.count("skipped")), "time": _seconds(total_ms)}


def _case(suite: ET.Element, command: str, c: Check) -> None:
    attrs = {"name": _text(c.name), "classname": f"tidemark.{command}", "time": _seconds(c.time_ms)}
    if c.file:
        attrs["file"] = _text(c.file)
    if c.line is not None:
        attrs["line"] = str(c.line)
    case = ET.SubElement(suite, "testcase", attrs)
    where = f"{c.file}:{c.line}" if c.file and c.line is not None else c.file or ""
    if c.outcome == "failed":
        failure = ET.SubElement(case, "failure", {"message": _text(c.message), "type": _text(c.rule or command)})
        failure.text = _text("\n".join(x for x in (f"{where}: {c.message}" if where else c.message, c.detail) if x))
    elif c.outcome == "skipped":
        ET.SubElement(case, "skipped", {"message": _text(c.message)})
    elif c.outcome == "warning" or c.message:
        out = ET.SubElement(case, "system-out")
        prefix = "warning: " if c.outcome == "warning" else ""
        out.text = _text("\n".join(x for x in (f"{where}: {prefix}{c.message}" if where else prefix + c.message,
                                                c.detail) if x))
