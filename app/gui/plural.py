"""Counts in words: "1 environment", "2 migrations", "1 batch", "3 batches"."""

from __future__ import annotations


def count(n: int, word: str, many: str | None = None) -> str:
    """`n word` with the word in the plural unless n is 1 (`many` when the plural is not word + s)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
