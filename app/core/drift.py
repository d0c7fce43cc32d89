"""Drift: is the target's schema what its applied migrations produce?

The migrations the target's history lists are replayed, in the order it applied them (the
history's id), into an empty database on a throwaway server (app/core/throwaway.py, as
rehearse), then the two catalog snapshots are compared object by object. Only reads reach the
target: its history, its roles and a catalog snapshot.

Which text is replayed: the file's, when its checksum is the one the history recorded. When the
file changed since (status calls it modified) or is gone, the text the history stored when it
ran (`applied_sql`), because that is what the target ran: the question is whether the target
was changed by something other than its migrations, and an edited file is reported by `status`
already. A file that changed with no stored text is replayed as it is now, with a note.

Left out of the comparison: what the catalog snapshot leaves out (extension members, Tidemark's
history tables), other tools' history tables (OTHER_TOOLS) and the --ignore patterns.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

import psycopg

from app.core import catalog, history
from app.core.connect import Target, connect
from app.core.directives import read_directives
from app.core.errors import Cancelled, TidemarkError, UsageError, redact
from app.core.files import MigrationFile, checksum
from app.core.jsonable import jsonable
from app.core.prepared import prepare
from app.core.progress import CancelToken
from app.core.runner import MigrationRunner
from app.core.stand_ins import STAND_IN_EXTENSIONS
from app.core.throwaway import across_versions, server_for, server_version, throwaway_server, user_roles
from app.schema_words import THE_FILES, difference_words

# The history tables of other migration tools (a project moving to Tidemark keeps them), their
# indexes and sequences (named after the table): name patterns, matched as --ignore patterns are.
OTHER_TOOLS = (
    "*.flyway_schema_history*", "*.schema_migrations*", "*.goose_db_version*", "*._prisma_migrations*",
    "*.__diesel_schema_migrations*", "*.ar_internal_metadata*",
    "sqitch", "sqitch.*", "supabase_migrations", "supabase_migrations.*",
)

# Keys are "<kind> <name>"; kinds of more than one word first.
_KINDS = ("materialized view ", "foreign table ", "default privileges ", "table ", "view ", "sequence ",
          "index ", "column ", "constraint ", "trigger ", "policy ", "rule ", "function ", "procedure ",
          "aggregate ", "domain ", "type ", "schema ", "extension ", "statistics ", "rls ")


@dataclass(frozen=True)
class Difference:
    """One object the files and the target disagree on (definitions as in the catalog snapshot)."""

    key: str
    files: str | None  # what replaying the files produces; None: they do not create it
    target: str | None  # what the target has; None: it does not have it

    @property
    def what(self) -> str:
        """A few words after the key: `the target lacks it; the files create it` (app/schema_words.py)."""
        return self.words("the target", "it")

    def words(self, target: str, key: str | None = None) -> str:
        """The difference as one sentence naming the target: `production has column …; the files do not create it`."""
        return difference_words(key or self.key, target, self.target, THE_FILES, self.files)


@dataclass
class DriftResult:
    """What the check found; `ok` decides the exit code."""

    target: str
    target_version: str
    sandbox_version: str
    replayed: list[str] = field(default_factory=list)  # migration names, in the target's order
    objects: int = 0  # objects compared (the target's snapshot, after leaving out)
    ignored: int = 0  # objects left out by OTHER_TOOLS and --ignore
    differences: list[Difference] = field(default_factory=list)
    agreeing: list[str] = field(default_factory=list)  # keys of the objects both have alike (not in JSON)
    replay_error: str | None = None  # a migration that failed to replay: nothing was compared
    notes: list[str] = field(default_factory=list)
    total_ms: int = 0

    @property
    def ok(self) -> bool:
        """True when every migration replayed and the catalogs agree."""
        return self.replay_error is None and not self.differences

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready document."""
        data = dataclasses.asdict(self)
        data.pop("agreeing")
        data["ok"] = self.ok
        for d, row in zip(self.differences, data["differences"], strict=True):
            row["what"] = d.what
        return jsonable(data)


class DriftError(TidemarkError):
    """The check cannot be made honestly (an applied migration that cannot be replayed)."""


# What a cancelled check says: true whichever step it stopped at (only the throwaway server was written to).
def cancelled() -> Cancelled:
    """The error a cancelled check raises."""
    return Cancelled("drift check cancelled: nothing was written to the target; the throwaway server is removed")


def object_name(key: str) -> str:
    """`public.users.email` from `grant column public.users.email`."""
    name = key.removeprefix("grant ").removeprefix("comment ")
    for kind in _KINDS:
        if name.startswith(kind):
            return name[len(kind):]
    return name


def matches(key: str, patterns: Sequence[str]) -> bool:
    """True when a pattern matches the object's name or the name of the table it is part of."""
    name = object_name(key)
    names = {name, name.split("(", 1)[0]}
    if name.count(".") >= 2:  # a column, constraint, trigger or policy: public.users.email -> public.users
        names.add(name.rsplit(".", 1)[0])
    return any(fnmatchcase(n, p) for n in names for p in patterns)


def _left_out(snap: catalog.CatalogSnapshot, patterns: Sequence[str]) -> tuple[catalog.CatalogSnapshot, int]:
    kept = {k: v for k, v in snap.objects.items() if not matches(k, patterns)}
    return catalog.CatalogSnapshot(kept), len(snap.objects) - len(kept)


def check_drift(target: Target, migrations_dir: Path, *, ignore: Sequence[str] = (),
                say: Callable[[str], None] | None = None, cancel: CancelToken | None = None) -> DriftResult:
    """Replay the target's applied migrations on a throwaway server and compare the catalogs.

    `cancel` (the app's Cancel) is checked between replayed migrations and interrupts the running
    statement; it only ever touches the throwaway server, which is removed on the way out.
    """
    from app.core.notify import for_target
    from app.core.notify.events import drift_found

    say = say or (lambda _text: None)
    started = time.monotonic()
    files = {f.version: f for f in MigrationRunner(target, migrations_dir).files()}  # checks every file first
    notes = for_target(target, migrations_dir)  # a wrong table is bad input, before the work
    result = _check(target, migrations_dir, ignore, say, cancel, started, files)
    drift_found(target, notes, result, say)
    return result


def _check(target: Target, migrations_dir: Path, ignore: Sequence[str], say: Callable[[str], None],
           cancel: CancelToken | None, started: float, files: dict[str, MigrationFile]) -> DriftResult:
    with connect(target) as conn:
        target_version = server_version(conn)
        dbname = conn.info.dbname
        roles = user_roles(conn)
        applied = _applied(conn)
        # A schema target's files made its schema's objects only: the other tenants are not its drift.
        only = [target.schema] if target.schema else None
        target_snap = catalog.snapshot(conn, only)
    choice = server_for(target_version, purpose="drift check")
    binaries = choice.binaries
    result = DriftResult(target.display(), target_version, str(binaries.major))
    if choice.note:
        result.notes.append(choice.note)
    texts = [_replay_text(version, name, stored, files, result.notes) for version, name, stored in applied]
    with throwaway_server(binaries, dbname, roles, purpose="drift check", say=say) as box:
        result.sandbox_version = box.version
        say(f"replaying the {len(texts)} migration{'s' if len(texts) != 1 else ''} "
            f"{target.display()} has applied, in its order")
        replay = box.target
        if target.schema:  # replayed in a schema of the same name, with the same search_path
            with connect(box.target) as conn:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {target.place.ident}")
            replay = replace(box.target, schema=target.schema)
        with connect(replay) as conn:
            if cancel is not None:
                cancel.attach(conn)
            try:
                result.replay_error = _replay(conn, texts, result.replayed, cancel)
            finally:
                if cancel is not None:
                    cancel.attach(None)
            files_snap = catalog.snapshot(conn, only)
            stand_ins = sorted({e for (e,) in conn.execute("SELECT extname FROM pg_catalog.pg_extension")}
                               & set(STAND_IN_EXTENSIONS)) if binaries.major >= 18 else []
    if stand_ins:
        result.notes.append(f"the replay's {', '.join(stand_ins)}: Tidemark's SQL-only stand-in (the wheel has no "
                            "such extension); its own objects and its comment are left out of the comparison")
        # the stand-in's comment (from its control file) says what it is; the real one's says something else
        stand_in_comments = {f'comment extension {n if n.isidentifier() else chr(34) + n + chr(34)}'
                             for n in stand_ins}
        files_snap = catalog.CatalogSnapshot({k: v for k, v in files_snap.objects.items()
                                              if k not in stand_in_comments})
        target_snap = catalog.CatalogSnapshot({k: v for k, v in target_snap.objects.items()
                                               if k not in stand_in_comments})
    if result.replay_error is not None:
        return _done(result, started)
    if result.target_version.split(".")[0] != result.sandbox_version.split(".")[0]:
        files_snap, target_snap = across_versions(files_snap), across_versions(target_snap)
        result.notes.append(f"the files were replayed on PostgreSQL {result.sandbox_version}, the target runs "
                            f"{target_version}: default privileges that differ between versions are left out")
    patterns = [*OTHER_TOOLS, *ignore]
    files_snap, _ = _left_out(files_snap, patterns)
    target_snap, left_target = _left_out(target_snap, patterns)
    result.objects = len(target_snap)
    result.ignored = left_target
    result.differences = [Difference(d.key, d.before, d.after) for d in catalog.diff(files_snap, target_snap)]
    result.agreeing = sorted(k for k, v in target_snap.objects.items() if files_snap.objects.get(k) == v)
    return _done(result, started)


def _done(result: DriftResult, started: float) -> DriftResult:
    result.total_ms = round((time.monotonic() - started) * 1000)
    return result


def _applied(conn: psycopg.Connection) -> list[tuple[str, str, str | None]]:
    """(version, name, stored text) of each applied migration, in the order the target applied them."""
    if not history.tables_exist(conn):
        return []
    history.read_applied(conn)  # checks the table's columns and rows: a hand-edited one is a clear error
    stored = "applied_sql" if ("applied_sql", "TEXT") not in history.missing_columns(conn).get(
        history.names(conn).migrations, []) else "NULL"
    rows = conn.execute(f"SELECT version, name, {stored} FROM {history.names(conn).migrations} ORDER BY id").fetchall()
    return [(v, n, s) for v, n, s in rows]


@dataclass(frozen=True)
class _Text:
    name: str
    file: MigrationFile


def _replay_text(version: str, name: str, stored: str | None, files: dict[str, MigrationFile],
                 notes: list[str]) -> _Text:
    f = files.get(version)
    if f is not None and (stored is None or checksum(stored) == f.checksum):
        return _Text(name, f)  # the file as applied (or an older history without the text: as status checks it)
    if f is not None and f.forward_text is not None:  # a layout with sections: the stored text is the whole file
        notes.append(f"{name} changed since it was applied, and its layout's stored text is not replayed: "
                     "replayed the file as it is now")
        return _Text(name, f)
    if stored is None:
        raise DriftError(f"{name} is applied on the target but its file is gone and the history holds no "
                         "text for it: restore the file (e.g. from git) to check drift")
    path = f.path if f is not None else Path(name)
    notes.append(f"{name} {'changed since it was applied' if f is not None else 'has no file any more'}: "
                 "replayed the text stored when it was applied")
    directives = read_directives(stored, path)
    if f is None:
        return _Text(name, MigrationFile(path, version, name, stored, checksum(stored), checksum(stored), directives))
    return _Text(name, dataclasses.replace(f, text=stored, checksum=checksum(stored), directives=directives,
                                           forward_text=None))


def _replay(conn: psycopg.Connection, texts: list[_Text], replayed: list[str],
            cancel: CancelToken | None = None) -> str | None:
    """Run each migration as migrate would (in a transaction unless it cannot); the first error, or None."""
    for t in texts:
        if cancel is not None and cancel.cancelled:
            raise cancelled()
        try:
            p = prepare(t.file)
        except UsageError as exc:
            return f"{t.name}: {exc.message}"
        st = None
        try:
            if p.transactional:
                with conn.transaction():
                    for st in p.statements:
                        conn.execute(st.text)
            else:
                for st in p.statements:
                    conn.execute(st.text)
            if p.changes_session:
                conn.execute("RESET ALL")
        except psycopg.Error as exc:
            if cancel is not None and cancel.cancelled:
                raise cancelled() from None
            where = f" line {st.line}" if st is not None else ""
            message = exc.diag.message_primary or str(exc)
            return redact(f"{t.name}{where}: {message} (the files do not replay as the target applied them)")
        replayed.append(t.name)
    return None
