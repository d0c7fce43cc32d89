"""Building steps (fixed, manual, read first) and the catalog reads several statements share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pglast import ast

from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.names import _rv, literal

if TYPE_CHECKING:
    import psycopg


class _Manual(Exception):
    """Raised by a handler: the statement cannot be inverted exactly (the message says why)."""


def _fixed(*sql: str) -> Step:
    return Step(Inverse(tuple(sql)))


def _manual(reason: str) -> Step:
    return Step(Inverse(manual=reason))


def _read(query: str, params: tuple | dict, resolve: Callable[[list[tuple]], Inverse], describe: str,
          after: Callable[[list[tuple]], CatalogRead] | None = None,
          run: Callable[[psycopg.Connection], list[tuple]] | None = None) -> Step:
    return Step(read=CatalogRead(query, params, _guard(resolve, describe), describe, run), after=after)


def _either(first: Callable[[], bool], then: Step, otherwise: Step) -> Step:
    """`then` or `otherwise`, picked when the statement is applied by `first()` (known only by then, as
    whether a CREATE ... IF NOT EXISTS earlier in the file created its object). `then` has no `after`."""
    assert then.after is None

    def pick() -> Step:
        return then if first() else otherwise

    def fetch(conn: psycopg.Connection) -> list[tuple]:
        step = pick()
        return step.read.fetch(conn) if step.read is not None else []

    def resolve(rows: list[tuple]) -> Inverse:
        step = pick()
        return step.read.resolve(rows) if step.read is not None else (step.inverse or NOTHING)

    describe = f"{then.read.describe if then.read else 'nothing to read'}; if it found it there already: " + (
        otherwise.read.describe if otherwise.read else (otherwise.inverse or NOTHING).manual or "nothing to undo")
    def after(rows: list[tuple]) -> CatalogRead:
        step = pick()
        if step.after is not None:
            return step.after(rows)
        inverse = resolve(rows)
        return CatalogRead("", (), lambda _: inverse, "nothing more to read", lambda conn: [])

    return Step(read=CatalogRead("", (), resolve, describe, fetch), after=after if otherwise.after else None)


def _tried(rows: list[tuple], unread: str) -> Inverse:
    """The inverse a savepoint-checked read found: ("nothing",), ("inverse", sql) or ("manual", why)."""
    how = rows[0][0]
    if how == "nothing":
        return NOTHING
    if how == "inverse":
        return Inverse(tuple(rows[0][1]))
    return Inverse(manual=rows[0][1] if how == "manual" else unread)


def _guard(resolve: Callable[[list[tuple]], Inverse], what: str) -> Callable[[list[tuple]], Inverse]:
    """A resolve that turns an unexpected catalog answer into "manual" rather than a crash mid-migration."""
    def safe(rows: list[tuple]) -> Inverse:
        try:
            return resolve(rows)
        except (LookupError, TypeError, ValueError, AttributeError) as exc:
            return Inverse(manual=f"could not work out the inverse from the catalog ({what}: {exc!r})")
    return safe


def _unless_exists(exists_sql: str, params: tuple, inverse: tuple[str, ...], what: str) -> Step:
    """IF NOT EXISTS: nothing to undo when the object was already there."""
    return _read(f"SELECT {exists_sql}", params,
                 lambda rows: NOTHING if rows and rows[0][0] else Inverse(inverse),
                 f"drop {what} unless it existed before (read when applied)")


def _in_creation_schema(name_param: str = "%s") -> str:
    """SQL: the regclass text of an unqualified name in the schema CREATE would use."""
    return f"pg_catalog.quote_ident(pg_catalog.current_schema()) || '.' || pg_catalog.quote_ident({name_param})"


def _relation_exists(rv: ast.RangeVar) -> tuple[str, tuple]:
    """SQL and params: does the relation CREATE ... IF NOT EXISTS would make already exist."""
    if rv.schemaname:
        return "pg_catalog.to_regclass(%s) IS NOT NULL", (_rv(rv),)
    return f"pg_catalog.to_regclass({_in_creation_schema()}) IS NOT NULL", (rv.relname,)


_QNAME = "pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"


# ACL entries as [grantee name, privilege, grantable]; the owner is named, PUBLIC is PUBLIC.
_ACL_JSON = """(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(
      CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
      a.privilege_type, a.is_grantable) ORDER BY a.grantee, a.privilege_type)
    FROM pg_catalog.aclexplode({acl}) a)"""


def _acl_json(acl: str, kind: str, owner: str, *, default: bool = False) -> str:
    expr = f"pg_catalog.acldefault({kind}, {owner})" if default else acl
    return _ACL_JSON.format(acl=expr)


def _acl_restore(target: str, acl: list | None, default: list | None) -> list[str]:
    """GRANT/REVOKE turning a just-created object's default privileges into `acl` (None: default)."""
    if acl is None:
        return []
    have = {(g, p): opt for g, p, opt in default or []}
    want = {(g, p): opt for g, p, opt in acl}
    out = []
    for (g, p), opt in sorted(have.items()):
        if (g, p) not in want:
            out.append(f"REVOKE {p} ON {target} FROM {g}")
        elif opt and not want[(g, p)]:
            out.append(f"REVOKE GRANT OPTION FOR {p} ON {target} FROM {g}")
    for (g, p), opt in sorted(want.items()):
        if have.get((g, p)) is None or (opt and not have[(g, p)]):
            out.append(f"GRANT {p} ON {target} TO {g}{' WITH GRANT OPTION' if opt else ''}")
    return out


def _owner_unless_me(owner: str) -> str:
    """SQL: the quoted owner role when it is not the role running the migration (whose objects a DROP
    and CREATE give back to it), else NULL."""
    return (f"CASE WHEN {owner} <> (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) "
            f"THEN pg_catalog.quote_ident(pg_catalog.pg_get_userbyid({owner})) END")


def _owner(target: str, owner: str | None) -> list[str]:
    """ALTER ... OWNER TO giving a recreated object back to its owner (before its privileges are restored)."""
    return [f"ALTER {target} OWNER TO {owner}"] if owner else []


def _comment(target: str, text: str | None) -> list[str]:
    return [f"COMMENT ON {target} IS {literal(text)}"] if text is not None else []
