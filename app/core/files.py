"""Migration files on disk: discovery, naming, checksums (their comment directives: directives)."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from app.core.directives import Directives, forward_sql, read_directives
from app.core.errors import FileProblem, MigrationFileError, UsageError

FILE_NAME = re.compile(r"^(?P<version>\d{14})_(?P<slug>[A-Za-z0-9][A-Za-z0-9_.\-]*)\.sql$")
BOM = "\ufeff"


def normalise(text: str) -> str:
    """The text a checksum is taken of: no BOM, LF line endings (the same object when it has none)."""
    if text.startswith(BOM):
        text = text[1:]
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def checksum(text: str) -> str:
    """SHA-256 (hex) of the normalised text, so a Windows checkout is not 'modified'."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def raw_checksum(data: bytes) -> str:
    """SHA-256 (hex) of the bytes as they are: tells a line-ending or BOM change apart."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class MigrationFile:
    """One migration file, read and checked."""

    path: Path
    version: str
    name: str  # the file name, with .sql: the key in public._migrations (as the seed uses it)
    text: str  # normalised (LF, no BOM)
    checksum: str
    raw_checksum: str
    directives: Directives
    # A layout with sections (dbmate, goose) gives the text that runs forward: `text` with every
    # other line blanked to spaces, so offsets and lines stay those of the file. None: forward_sql.
    forward_text: str | None = None
    slug: str | None = None  # the description part of the name, when the layout's naming is not ours
    # "versioned"; Flyway's "repeatable" (no version: app.core.repeatables) and "baseline" (B files).
    kind: str = "versioned"
    # A baseline migration chosen to start an empty database: the versioned files it stands for.
    covers: tuple[MigrationFile, ...] = ()
    # Sqitch's verify script, run after the deploy inside its transaction (app.core.verify).
    verify_path: Path | None = None
    verify_text: str | None = None

    @property
    def stem(self) -> str:
        """The file name without `.sql`."""
        return self.name.removesuffix(".sql")

    @property
    def title(self) -> str:
        """The `-- Migration:` title, or one made from the file name."""
        slug = self.slug if self.slug is not None else self.stem[15:]
        return self.directives.title or slug.replace("_", " ")

    @cached_property
    def forward(self) -> str:
        """The SQL that runs forward (see forward_sql), lines and offsets those of `text`."""
        return self.forward_text if self.forward_text is not None else forward_sql(self.text)

    @property
    def description(self) -> str:
        """The `-- Description:` text, if any."""
        return self.directives.description

    @cached_property
    def lines(self) -> list[str]:
        """The file's lines (normalised)."""
        return self.text.split("\n")


def load_file(path: Path, data: bytes | None = None) -> MigrationFile:
    """Read one migration file (`data`: its bytes, if read); raise MigrationFileError naming it if it breaks a rule."""
    m = FILE_NAME.match(path.name)
    if not m:
        try:  # a folder or broken link is named for what it is, not for its name
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise MigrationFileError([_unreadable(path, exc)]) from None
        raise MigrationFileError([_misnamed(path) if stat.S_ISREG(mode) else _not_a_file(path, mode)])
    text, digest, raw_digest = read_text(path, data)
    return MigrationFile(
        path=path,
        version=m["version"],
        name=path.name,
        text=text,
        checksum=digest,
        raw_checksum=raw_digest,
        directives=read_directives(text, path),
    )


def read_text(path: Path, data: bytes | None = None) -> tuple[str, str, str]:
    """A migration file's normalised text, its checksum and its raw checksum (MigrationFileError if unusable)."""
    if data is None:
        data = read_regular(path)
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MigrationFileError(
            [FileProblem(path, "is not UTF-8 text", line, hint="save it as UTF-8")]
        ) from exc
    if "\x00" in raw:  # PostgreSQL text cannot hold it, and the parser would stop there
        raise MigrationFileError(
            [FileProblem(path, "contains a NUL byte", raw[: raw.index("\x00")].count("\n") + 1,
                         hint="save it as UTF-8 text (a UTF-16 or binary file?)")]
        )
    text = normalise(raw)
    if not text.strip():
        raise MigrationFileError(
            [FileProblem(path, "is empty", hint="add SQL to it, or delete it if it is not needed")]
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()  # = checksum(raw), normalised once
    return text, digest, digest if text is raw else raw_checksum(data)


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; a folder, FIFO, device, broken or looping link is a FileProblem.

    Opened non-blocking and checked with fstat on the open descriptor: a FIFO named *.sql must
    never block the run waiting for a writer, and the type is that of what was opened, not of
    an earlier look at the name.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise MigrationFileError([_unreadable(path, exc)]) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise MigrationFileError([_not_a_file(path, st.st_mode)])
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError as exc:
        raise MigrationFileError([_unreadable(path, exc)]) from None
    finally:
        os.close(fd)


def _unreadable(path: Path, exc: OSError) -> FileProblem:
    if exc.errno == errno.ELOOP:
        return FileProblem(path, "is a symbolic link loop",
                           hint="point the link at a real file, or delete it")
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        return FileProblem(path, f"is a broken symbolic link (to {os.readlink(path)})",
                           hint="point the link at a real file, or delete it")
    if isinstance(exc, IsADirectoryError):
        return _not_a_file(path, stat.S_IFDIR)
    if isinstance(exc, PermissionError):
        return FileProblem(path, "cannot be read: permission denied",
                           hint="give your user read access to it (chmod u+r), or move it out of the folder")
    return FileProblem(path, f"cannot be read: {exc.strerror or exc}",
                       hint="check the file, or move it out of the folder")


def _not_a_file(path: Path, mode: int) -> FileProblem:
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")
    return FileProblem(path, f"is {kind}, not a migration file",
                       hint="rename it so it does not end in .sql, or move it out of the folder")


def _misnamed(path: Path) -> FileProblem:
    return FileProblem(
        path,
        "does not follow the naming convention YYYYMMDDHHMMSS_description.sql",
        hint="rename it, e.g. 20260111000001_initial_schema.sql",
    )


def check_folder(directory: Path) -> None:
    """UsageError unless `directory` is a folder (a file, a broken link or a missing folder named as such)."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"migrations folder {directory} is a file, not a folder (give --migrations-dir DIR)")
    if not directory.is_dir() and directory.is_symlink():
        raise UsageError(f"migrations folder {directory} is a broken symbolic link or a link loop "
                         "(point it at a folder, or give another --migrations-dir)")
    if not directory.is_dir():
        raise UsageError(
            f"migrations folder {directory} does not exist "
            "(give --migrations-dir, or create ./migrations or ./supabase/migrations)"
        )


def discover(directory: Path, data: Callable[[Path], bytes] | None = None) -> list[MigrationFile]:
    """All migration files of a folder, by version; every problem reported at once.

    `data` reads a file's bytes (a layout's Folder reads each file once); default: read it here.
    """
    check_folder(directory)
    problems: list[FileProblem] = []
    files: list[MigrationFile] = []
    # Names sort faster than Paths. Everything named *.sql is opened: a folder, FIFO or broken
    # link with that name is reported (load_file), never skipped in silence.
    try:
        with os.scandir(directory) as it:
            names = sorted(e.name for e in it if e.name.lower().endswith(".sql"))
    except OSError as exc:
        raise UsageError(f"cannot read the migrations folder {directory}: {exc.strerror or exc} "
                         "(give your user read access to it, or pass another --migrations-dir)") from None
    for name in names:  # READMEs, seeds in subfolders, editor files are not migrations
        try:
            path = directory / name
            files.append(load_file(path, data(path) if data is not None and FILE_NAME.match(name) else None))
        except MigrationFileError as exc:
            problems.extend(exc.problems)
    seen: dict[str, MigrationFile] = {}
    for f in files:
        if f.version in seen:
            problems.append(
                FileProblem(
                    f.path,
                    f"duplicate version {f.version} (also {seen[f.version].name})",
                    hint="give one of them a later timestamp",
                )
            )
        else:
            seen[f.version] = f
    if problems:
        raise MigrationFileError(problems)
    return sorted(files, key=lambda f: version_key(f.version))


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """The sort key of a version: its dot- or underscore-separated parts, digits as numbers.

    One rule for every layout: our 14-digit versions sort as before (as numbers of one
    length sort as text), golang-migrate's and goose's `1` < `2` < `10` as unsigned
    integers, and Flyway's `1.10` after `1.9`. History keeps the version text; only order uses this.
    """
    parts = [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[._]", version)]
    while len(parts) > 1 and parts[-1] == (0, 0, ""):  # Flyway: 1.0 is 1
        parts.pop()
    return tuple(parts)


def default_migrations_dir(cwd: Path | None = None) -> Path:
    """The folder ./tidemark.toml names (`migrations = "db/migration"`), else `./migrations`,
    or `./supabase/migrations` when only that exists."""
    cwd = cwd or Path.cwd()
    from app.core.layouts.config import at  # the project's own settings win over the usual places

    project = at(cwd)
    if project is not None and project.migrations is not None:
        return project.migrations
    plain = cwd / "migrations"
    supabase = cwd / "supabase" / "migrations"
    if not plain.is_dir() and supabase.is_dir():
        return supabase
    return plain


def title_from_name(name: str) -> str:
    """A title made from a migration name of any layout: its description, underscores as spaces."""
    stem = name.removesuffix(".sql").removesuffix(".up")
    return re.sub(r"^[VU]?\d[\d.\-]*_+", "", stem).replace("_", " ")


def version_of(name: str) -> str | None:
    """The 14-digit version of a migration name, file name or version string."""
    name = name.strip()
    if name.endswith(".sql"):
        name = name[:-4]
    name = Path(name).name
    if re.fullmatch(r"\d{14}", name):
        return name
    m = re.match(r"^(\d{14})_", name)
    return m.group(1) if m else None
