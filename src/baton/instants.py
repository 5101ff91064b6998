"""Instants: every parse and format of a point in time in Baton, in one place.

All instants inside Baton are timezone-aware UTC datetimes. Vendors send ISO-8601 text in
several dialects (Z, +0000, +00:00, a bare date) or epoch milliseconds; Airflow hands tasks
datetimes or ISO text; dbt receives the as-of instant as text.
"""

from __future__ import annotations

from datetime import datetime, timezone


class UnparsableInstant(ValueError):
    """A value that is not an instant; the message names it."""


def utc(instant: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken to be UTC)."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc)


def parse_instant(value) -> datetime:
    """ISO-8601 text (Z, +0000, +00:00, date only), epoch milliseconds or a datetime → aware UTC."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, bool):
        raise UnparsableInstant(f"unparsable timestamp: {value!r}")
    elif isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        try:
            instant = datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as error:
            raise UnparsableInstant(f"unparsable timestamp: {value!r}") from error
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError as error:
            raise UnparsableInstant(f"unparsable timestamp: {value!r}") from error
    else:
        raise UnparsableInstant(f"unparsable timestamp: {value!r}")
    try:
        return utc(instant)
    except OverflowError as error:
        raise UnparsableInstant(f"unparsable timestamp: {value!r} is out of range once converted to UTC") from error


def iso_z(instant: datetime, *, millis: bool = False, micros: bool = False) -> str:
    """2026-11-01T00:00:00Z (with .123 milliseconds or .123456 microseconds when asked)."""
    instant = utc(instant)
    if micros:
        return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if millis:
        return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(instant: datetime) -> int:
    return int(utc(instant).timestamp() * 1000)


def now() -> datetime:
    return datetime.now(timezone.utc)
