"""Row-level security policies: creating, altering and recreating them."""

from __future__ import annotations

from pglast import ast

from app.core.rollback.model import Inverse, Step
from app.core.rollback.names import _rv, ident
from app.core.rollback.steps import _QNAME, _comment, _fixed, _read

_POLICY = f"""
SELECT {_QNAME}, p.polpermissive, p.polcmd::text,
  (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC'
     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ' ORDER BY r)
   FROM pg_catalog.unnest(p.polroles) r),
  pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
  pg_catalog.obj_description(p.oid, 'pg_policy')
FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE p.polrelid = pg_catalog.to_regclass(%s) AND p.polname = %s"""


_CMD = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


def _policy_sql(row: tuple, name: str) -> list[str]:
    qtable, permissive, cmd, roles, qual, check, comment = row
    sql = (f"CREATE POLICY {ident(name)} ON {qtable} AS {'PERMISSIVE' if permissive else 'RESTRICTIVE'}"
           f" FOR {_CMD.get(cmd, 'ALL')} TO {roles}")
    if qual is not None:
        sql += f" USING ({qual})"
    if check is not None:
        sql += f" WITH CHECK ({check})"
    return [sql, *_comment(f"POLICY {ident(name)} ON {qtable}", comment)]


def _create_policy(node: ast.CreatePolicyStmt, what: str) -> Step:
    return _fixed(f"DROP POLICY {ident(node.policy_name)} ON {_rv(node.table)}")


def _alter_policy(node: ast.AlterPolicyStmt, what: str) -> Step:
    table, name = _rv(node.table), node.policy_name

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return Inverse(manual=f"{what!r}: policy {name} was not found")
        # ALTER POLICY cannot remove a USING or WITH CHECK clause: recreate the policy instead
        return Inverse((f"DROP POLICY {ident(name)} ON {rows[0][0]}", *_policy_sql(rows[0], name)))

    return _read(_POLICY, (table, name), resolve, f"restore policy {name} on {table} (read when applied)")
