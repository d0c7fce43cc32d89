"""Running squawk (the `squawk-cli` package's binary) over migration files, and its rule names in ours."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from app.core.errors import TidemarkError

# squawk's rule names -> ours. None: not about locks or running clients (style), or a rule
# Tidemark makes itself with more context (lock_timeout), or one that does not apply to how
# Tidemark runs files (it wraps each in a transaction itself, and runs CONCURRENTLY outside one).
SQUAWK_RULES: dict[str, str | None] = {
    "adding-required-field": "not-null-column-without-default",
    "adding-field-with-default": "default-rewrites-table",
    "require-concurrent-index-creation": "index-not-concurrent",
    "require-concurrent-index-deletion": "drop-index-not-concurrent",
    "require-concurrent-reindex": "reindex-not-concurrent",
    "changing-column-type": "column-type-change",
    "renaming-column": "rename-column",
    "renaming-table": "rename-table",
    "ban-drop-column": "drop-column",
    "ban-drop-table": "drop-table",
    "ban-drop-database": "drop-database",
    "constraint-missing-not-valid": "constraint-without-not-valid",
    "adding-foreign-key-constraint": "constraint-without-not-valid",
    "disallowed-unique-constraint": "unique-constraint-builds-index",
    "adding-serial-primary-key-field": "add-serial-column",
    "adding-not-nullable-field": "set-not-null",
    "ban-truncate-cascade": "truncate-cascade",
    "require-lock-timeout": None,
    "require-statement-timeout": None,
    "prefer-robust-stmts": None,
    "prefer-bigint-over-int": None,
    "prefer-bigint-over-smallint": None,
    "prefer-identity": None,
    "prefer-text-field": None,
    "prefer-timestamptz": None,
    "ban-char-field": None,
    "transaction-nesting": None,
    "ban-concurrent-index-creation-in-transaction": None,
    "syntax-error": None,  # pglast (PostgreSQL's parser) already accepted the file
}


class LintUnavailable(TidemarkError):
    """The squawk binary could not be found or run."""


def squawk_binary() -> Path:
    """The squawk of our environment (next to our Python's scripts), or one on PATH."""
    override = os.environ.get("TIDEMARK_SQUAWK")
    exe = "squawk.exe" if sys.platform == "win32" else "squawk"
    candidates = [Path(override)] if override else []
    candidates += [Path(sysconfig.get_path("scripts")) / exe, Path(sys.executable).parent / exe]
    found = shutil.which("squawk")
    if found:
        candidates.append(Path(found))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    how = "reinstall Tidemark" if getattr(sys, "frozen", False) else "reinstall Tidemark (pip install squawk-cli)"
    raise LintUnavailable(f"lint needs squawk, which is missing: {how}, or set TIDEMARK_SQUAWK to its path")


def run_squawk(paths: list[Path], pg_version: str | None = None) -> tuple[list[dict], str]:
    """squawk's JSON findings for the files, and its version."""
    exe = squawk_binary()
    try:
        version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30,
                                 check=True).stdout.strip().removeprefix("squawk ").strip()
        args = [str(exe), "--reporter=json", "--no-error-on-unmatched-pattern"]
        if pg_version:
            args.append(f"--pg-version={pg_version}")
        proc = subprocess.run([*args, *(str(p) for p in paths)], capture_output=True, text=True, timeout=300,
                              check=False, stdin=subprocess.DEVNULL, cwd=str(Path.cwd()))
    except (OSError, subprocess.SubprocessError) as exc:
        raise LintUnavailable(f"cannot run {exe}: {exc}") from None
    try:
        data = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LintUnavailable(f"squawk failed (exit {proc.returncode}): {tail[-1] if tail else 'no output'}"
                              ) from None
    if not isinstance(data, list):
        raise LintUnavailable("squawk gave output Tidemark does not understand (expected a JSON list)")
    return data, version
