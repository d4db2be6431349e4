"""``--since`` values: ``7d``, ``12h``, ``30m``, ``2w`` or a date, shared by the CLI and web UI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

SINCE_RE = re.compile(r"^(\d+)\s*([mhdw])$")


def parse_since(value: str | None) -> str | None:
    """``7d``, ``12h``, ``30m``, ``2w`` or a date/datetime, as a UTC ISO timestamp.

    Raises ``ValueError`` with a one-line hint for anything else.
    """
    if not value:
        return None
    m = SINCE_RE.match(value.strip())
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        try:
            when = datetime.now(UTC) - timedelta(**{unit: int(m.group(1))})
        except OverflowError:
            raise ValueError(f"{value!r}: too far back (use a date like 2000-01-01)") from None
    else:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r}: use 7d, 12h or a date like 2026-01-31") from None
        if when.tzinfo is None:
            when = when.astimezone()  # a bare date is the local date
    return when.astimezone(UTC).isoformat(timespec="seconds")
