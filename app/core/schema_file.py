"""The schema file (`migrate --dump-schema FILE`): the schema after a run, for review in a diff.

The bundled pg_dump, schema only, as dbmate's schema.sql, but made to be compared and loaded:
- without Tidemark's history tables and their sequences (their rows are history, not schema);
- without owners, privileges, tablespaces and subscriptions unless asked: those are the
  environment's, and a file that names roles does not load where they are missing;
- the same schema gives the same bytes: the lines that change from run to run are left out
  (the server and pg_dump versions in the header; pg_dump 17.6+'s `\\restrict KEY` lines, whose
  key is random: they also make the file fail in psql before 17.6 and in any driver, and the file
  is ours to review, not a dump of an untrusted server to restore blindly);
- it loads into the server version it came from: pg_dump 18's `SET transaction_timeout` is left
  out of a dump of a server before 17, which rejects it.
"""

from __future__ import annotations

import os
import re
import tempfile

from app.core.backup import LOCK_WAIT_S, run_pg_dump, without_server_options
from app.core.connect import Target
from app.core.history import AUDIT, MIGRATIONS, ROLLBACKS

# The history tables and the sequences of their serial ids.
_EXCLUDED = (MIGRATIONS, ROLLBACKS, AUDIT, *(f"{t}_id_seq" for t in (MIGRATIONS, ROLLBACKS, AUDIT)))
_CHANGING = re.compile(r"^(-- Dumped (from database|by pg_dump) version .*|\\(un)?restrict \S+)\n", re.MULTILINE)


def dump_schema(target: Target, *, owners: bool = False, privileges: bool = False) -> str:
    """The schema of the target as deterministic plain SQL (see the module's note)."""
    args = ["--schema-only", "--format=plain", f"--lock-wait-timeout={LOCK_WAIT_S * 1000}",
            "--no-tablespaces", "--no-subscriptions", "--no-security-labels",
            *(f"--exclude-table={t}" for t in _EXCLUDED)]
    if not owners:
        args.append("--no-owner")
    if not privileges:
        args.append("--no-privileges")
    with tempfile.TemporaryFile() as fh:
        run_pg_dump(args, target, fh.fileno(), "--dump-schema")
        os.lseek(fh.fileno(), 0, os.SEEK_SET)
        text = fh.read().decode("utf-8")
    return normalise(text)


_FROM_VERSION = re.compile(r"^-- Dumped from database version (\d+)", re.MULTILINE)
# pg_dump 17+ sets transaction_timeout, which servers before 17 reject: the file would not load
# back into the server it came from. Their own pg_dump never wrote it.
_TRANSACTION_TIMEOUT = re.compile(r"^SET transaction_timeout = 0;\n", re.MULTILINE)


def normalise(text: str) -> str:
    """Leave out what changes between two dumps of one schema; collapse the blank lines left."""
    source = _FROM_VERSION.search(text)
    if source is not None and int(source.group(1)) < 17:
        text = _TRANSACTION_TIMEOUT.sub("", text)
    text = without_server_options(_CHANGING.sub("", text))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"
