"""Which layout a migrations folder is in, from its files; mixed layouts are an error naming an example of each."""

from __future__ import annotations

from app.core.errors import UsageError
from app.core.files import FILE_NAME
from app.core.layouts import flyway, golang_migrate, sections, sqitch
from app.core.layouts.common import Folder

# Layouts whose files are told apart by their names: a file in our naming beside them is another layout.
_BY_NAME = ("golang-migrate", "prisma", "diesel", "flyway")


def detect(folder: Folder) -> str:
    """The layout the folder's files say (tidemark, or supabase under supabase/migrations, when none other)."""
    seen: dict[str, str] = {}  # layout -> an example file
    if (folder.path / sqitch.PLAN).is_file():
        seen["sqitch"] = sqitch.PLAN
    plain = None
    for name in folder.sql:
        path = folder.path / name
        if golang_migrate.NAME.match(name):
            seen.setdefault("golang-migrate", name)
            continue
        if flyway.LOOKS_LIKE.match(name):
            seen.setdefault("flyway", name)
            continue
        marker = sections.first_marker(folder.peek(path, sections.NEEDLES))
        if marker is not None:
            seen.setdefault(marker[0], f"{name}:{marker[1]}")
        elif plain is None and FILE_NAME.match(name):
            plain = name
    for sub in folder.subfolders:
        if sub in sqitch.SCRIPT_FOLDERS and "sqitch" in seen:
            continue
        inside = folder.sql_files_in(sub)
        if "migration.sql" in inside:
            seen.setdefault("prisma", f"{sub}/migration.sql")
        elif "up.sql" in inside:
            seen.setdefault("diesel", f"{sub}/up.sql")
        elif any(flyway.NAME.match(n) for n in inside):  # Flyway reads subfolders too
            seen.setdefault("flyway", f"{sub}/{next(n for n in inside if flyway.NAME.match(n))}")
    if plain is not None and any(k in seen for k in _BY_NAME):
        seen["tidemark"] = plain
    if len(seen) > 1:
        each = ", ".join(f"{layout} ({example})" for layout, example in seen.items())
        raise UsageError(f"migrations folder {folder.path} mixes layouts: {each}; keep one layout per folder, "
                         'or declare the one to read with layout = "..." in tidemark.toml')
    if seen:
        return next(iter(seen))
    parts = folder.path.resolve().parts[-2:]
    return "supabase" if tuple(parts) == ("supabase", "migrations") else "tidemark"
