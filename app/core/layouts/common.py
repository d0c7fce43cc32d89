"""What every layout shares: the folder's entries, reading a file once, and the checks on versions."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.core.directives import Directives, read_directives
from app.core.errors import FileProblem, MigrationFileError, UsageError
from app.core.files import MigrationFile, read_regular, read_text, version_key

# The history's version column is VARCHAR(14) (the seed's tables, exactly).
MAX_VERSION = 14


@dataclass
class Folder:
    """A migrations folder: its .sql files and subfolders, each file's bytes read at most once."""

    path: Path
    sql: list[str]  # names of the entries ending in .sql (files or not: the reader reports what they are)
    subfolders: list[str]
    _data: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def scan(cls, directory: Path) -> Folder:
        """List a folder, refusing one that is missing or unreadable (UsageError)."""
        from app.core.files import check_folder

        check_folder(directory)
        sql, subs = [], []
        try:
            with os.scandir(directory) as it:
                for e in it:
                    if e.name.lower().endswith(".sql"):
                        sql.append(e.name)
                    elif not e.name.startswith(".") and e.is_dir():
                        subs.append(e.name)
        except OSError as exc:
            raise UsageError(f"cannot read the migrations folder {directory}: {exc.strerror or exc} "
                             "(give your user read access to it, or pass another --migrations-dir)") from None
        return cls(directory, sorted(sql), sorted(subs))

    def data(self, path: Path) -> bytes:
        """The bytes of a file (MigrationFileError when it is not a readable regular file)."""
        key = str(path)
        data = self._data.get(key)
        if data is None:
            data = self._data[key] = read_regular(path)
        return data

    def peek(self, path: Path, needles: tuple[bytes, ...]) -> str:
        """The text of a file holding one of the needles (any case), for a look at its markers; else ''.

        '' too when it cannot be read: its reader says why. Most files hold none: no decoding then.
        """
        try:
            data = self.data(path)
        except MigrationFileError:
            return ""
        lowered = data.lower()
        return data.decode("utf-8", errors="replace") if any(n in lowered for n in needles) else ""

    def sql_files_in(self, sub: str) -> list[str]:
        """The .sql names inside a subfolder (none when it cannot be read)."""
        try:
            return sorted(n for n in os.listdir(self.path / sub) if n.lower().endswith(".sql"))
        except OSError:
            return []


def load(folder: Folder, path: Path, version: str, name: str, slug: str,
         shape: Callable[[str, Path, Directives], tuple[str | None, Directives]] | None = None) -> MigrationFile:
    """A MigrationFile of one file: its text and checksums as written, shaped by the layout.

    `shape(text, path, directives)` gives the layout's forward text (None: the whole file) and
    its directives (a down section or file as custom rollback, a no-transaction flag).
    """
    text, digest, raw_digest = read_text(path, folder.data(path))
    directives = read_directives(text, path)
    forward = None
    if shape is not None:
        forward, directives = shape(text, path, directives)
    return MigrationFile(path=path, version=version, name=name, text=text, checksum=digest,
                         raw_checksum=raw_digest, directives=directives, forward_text=forward, slug=slug)


def down_file(folder: Folder, path: Path, directives: Directives, layout: str) -> Directives:
    """Directives with a down file's SQL as the custom rollback (the file's lines named in problems)."""
    from app.core.layouts.sections import refuse_foreign

    data = folder.data(path)
    if not data.strip():  # `migrate create` and `tidemark new` write it empty: no rollback written yet
        return directives
    text, _, _ = read_text(path, data)
    refuse_foreign(text, path, layout)
    return with_rollback(directives, list(enumerate(text.split("\n"), start=1)), path)


def with_rollback(directives: Directives, lines: list[tuple[int, str]], path: Path | None = None) -> Directives:
    """Directives whose custom rollback is these (line number, text) lines; unchanged when they hold no SQL."""
    while lines and not lines[0][1].strip():
        lines = lines[1:]
    sql = "\n".join(text for _, text in lines).strip()
    if not any(t.strip() and not t.strip().startswith("--") for _, t in lines):
        return directives  # only comments (a skeleton's): nothing to run, so no custom rollback
    return replace(directives, custom_rollback=sql, rollback_lines=tuple(n for n, _ in lines), rollback_path=path)


def unplaceable(path: Path, layout: str, expected: str) -> FileProblem:
    """A file or folder the layout has no place for."""
    return FileProblem(path, f"cannot be placed in the {layout} layout (it expects {expected})",
                       hint="rename or move it, or declare the right layout in tidemark.toml")


def collect(items: Iterable[Callable[[], MigrationFile | None]]) -> tuple[list[MigrationFile], list[FileProblem]]:
    """Run each loader, gathering every problem instead of stopping at the first."""
    files: list[MigrationFile] = []
    problems: list[FileProblem] = []
    for item in items:
        try:
            f = item()
        except MigrationFileError as exc:
            problems.extend(exc.problems)
            continue
        if f is not None:
            files.append(f)
    return files, problems


def finish(files: list[MigrationFile], problems: list[FileProblem]) -> list[MigrationFile]:
    """Refuse duplicate or over-long versions (naming both files), raise every problem, sort by the tool's rule."""
    seen: dict[tuple, MigrationFile] = {}
    for f in files:
        if len(f.version) > MAX_VERSION:
            problems.append(FileProblem(f.path, f"version {f.version} is longer than {MAX_VERSION} characters, "
                                        "more than the history's version column holds",
                                        hint="give it a shorter version"))
            continue
        key = version_key(f.version)
        if key in seen:
            problems.append(FileProblem(f.path, f"duplicate version {f.version} (also {seen[key].name})",
                                        hint="give one of them another version"))
        else:
            seen[key] = f
    if problems:
        raise MigrationFileError(problems)
    return sorted(files, key=lambda f: version_key(f.version))


def kind_of(path: Path) -> str | None:
    """'a folder', 'a FIFO' ... for what is not a regular file (None for a file or what cannot be read)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else "a folder" if stat.S_ISDIR(mode) else "not a regular file"
