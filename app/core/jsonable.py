"""Turning result dataclasses into JSON-ready values, one way for every document."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any


def jsonable(value: Any) -> Any:
    """Dicts, lists, strings and numbers only: datetimes as ISO 8601, paths as text."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        # IntEnums (lock modes) read better by name; string enums by value.
        return value.name.replace("_", " ") if isinstance(value.value, int) else value.value
    return value
