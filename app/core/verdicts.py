"""Checks on a fleet (rehearse, drift): each target's verdict as a fleet outcome, for the CLI and the app.

A check reads its target and answers with a result that has `ok`. On a fleet, a result that is
not ok counts as a failed target, with its headline as the error and the result kept (the JSON
and the app's rows show it). A check runs on a throwaway server and has no statement of its own
to cancel on the target: a cancel takes effect at its next progress message (the throwaway
server is removed as the check unwinds); nothing is written to the target either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.errors import Cancelled, TidemarkError
from app.core.fleet import Member, Work
from app.core.progress import CancelToken, Phase, ProgressEvent

Check = Callable[[Member, Callable[[str], None]], Any]


class NotOk(TidemarkError):
    """A check whose verdict is not ok: its headline, and the result in `completed`."""

    def __init__(self, message: str, completed: object) -> None:
        super().__init__(message)
        self.completed = completed


def verdict_work(check: Check, headline: Callable[[Any], str]) -> Work:
    """The fleet work of a check: its messages as progress, a result that is not ok raised as NotOk."""

    def one(m: Member, token: CancelToken, say: Callable[[ProgressEvent], None]) -> Any:
        def tell(text: str) -> None:
            if token.cancelled:
                raise Cancelled(f"cancelled: the check on {m.name} stopped before it finished; "
                                "nothing was written to it")
            say(ProgressEvent(Phase.MESSAGE, message=text))

        token.check()
        r = check(m, tell)
        if not r.ok:
            raise NotOk(headline(r), r)
        return r

    return one


__all__ = ["Check", "NotOk", "verdict_work"]
