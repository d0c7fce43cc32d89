"""`tidemark new DESCRIPTION`: the next migration written in the project's layout, as a skeleton.

The layout (declared in tidemark.toml, or detected) names the files and the version through its
`new` (app.core.layouts.WRITERS); this module checks the description, makes the folder of a new
project, and writes the files without ever replacing one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.core.errors import UsageError

MAX_DESCRIPTION = 200


@dataclass(frozen=True)
class Created:
    """What `new` wrote."""

    layout: str
    paths: list[Path]  # the forward file first
    made_folder: bool  # the migrations folder did not exist and was made


def check_description(description: str) -> str:
    """The description, stripped; UsageError when it cannot name a file or be one header line."""
    from app.core.layouts.naming import slug

    text = description.strip()
    if not text:
        raise UsageError("give the migration a description, e.g. `tidemark new add users email`")
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise UsageError(f"the description holds a control character (U+{ord(bad):04X}, a line break?): "
                         "give it as one line of text")
    if len(text) > MAX_DESCRIPTION:
        raise UsageError(f"the description is {len(text)} characters long; give at most {MAX_DESCRIPTION} "
                         "(the file name uses its first words, the header all of it)")
    if not slug(text):
        raise UsageError(f"the description {text!r} has no letters or digits to name the file with: "
                         "give words, e.g. `tidemark new add users email`")
    return text


def new_migration(directory: Path, description: str, *, layout: str | None = None,
                  now: datetime | None = None) -> Created:
    """Write the next migration of the folder's project; UsageError (nothing written) on bad input."""
    from app.core import layouts
    from app.core.layouts.naming import slug

    text = check_description(description)
    layouts.check_name(layout)
    made = False
    if not directory.exists() and not directory.is_symlink():
        directory.mkdir(parents=True)
        made = True
    try:
        reading = layouts.read(directory, layout)
    except Exception:
        if made:
            directory.rmdir()
        raise
    writer = layouts.WRITERS.get(reading.layout)
    if writer is None:
        raise UsageError(f"{reading.layout}: add the change with `sqitch add NAME -n {text!r}`, which writes the "
                         "plan and its deploy, revert and verify scripts; Tidemark reads them as they are")
    planned = writer(directory, reading.files, slug(text), text, now or datetime.now(UTC))
    taken = [p for p in planned if p.exists() or (p.parent.exists() and p.parent != directory)]
    if taken:
        raise UsageError(f"{taken[0]} exists already: nothing was written (run `tidemark new` again)")
    for path, content in planned.items():
        path.parent.mkdir(exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="\n") as f:  # never replaces a file
            f.write(content)
    return Created(reading.layout, list(planned), made)
