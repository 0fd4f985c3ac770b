"""Reading a point in time that an API or a plan gave as text.

APIs give expiry and deprecation times as RFC 3339 timestamps (`2027-01-01T00:00:00Z`,
`+00:00`), but a hand-written snapshot, a Terraform value or an older API may give a date
only (`2027-01-01`) or a timestamp without offset. Python's `datetime.fromisoformat` reads
those as *naive* datetimes, which cannot be compared with the aware scan time (TypeError:
the check crashed). Here a value without offset is taken as UTC, and a date alone as the
start of that day in UTC: the earliest instant it can mean, so an expiry or a deprecation
is never judged later than it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def instant(value: Any) -> datetime | None:
    """An aware datetime, or None when `value` is not a date or timestamp."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
