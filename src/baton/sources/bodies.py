"""Reading an answer's body: whole with orjson when it can, else record by record.

orjson reads a clean page fast, but it refuses a whole page for one bad record (a lone
surrogate, NaN, an invalid UTF-8 byte, nesting past 1024 levels, a raw control character) and
it silently reads an integer beyond 64 bits as a float (1.2345678901234568e+29). So:

- a page orjson refuses, or one holding an integer literal of 19 digits or more, is read here
  again: the top-level object's members one by one, and every array among them element by
  element. An element that cannot be read, or that holds a value Baton will not change
  silently (NaN or infinity, an integer beyond 64 bits, a lone surrogate or invalid UTF-8, a
  nesting too deep), becomes an `Unreadable` record (its reason and its raw text): the loader
  sends it to the rejects and the rest of the page lands.
- a body whose structure is broken (empty, truncated, not an object or array, a member other
  than an array that cannot be read) raises BodyError: the call is retried like any unreadable
  answer.
"""

from __future__ import annotations

import json
import re

import orjson

from baton.load.loader import Unreadable

# Integers orjson would turn into floats are at least 19 digits long (2^63 has 19).
_LONG_INTEGER = re.compile(rb"(?<![0-9.])[0-9]{19,}")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SIGNIFICANT = re.compile(r'["\[\]{},]')
# What surrogateescape made of bytes that are not UTF-8.
_UNDECODED = re.compile("[\udc80-\udcff]")


class BodyError(ValueError):
    """The body's structure cannot be read: the whole answer is unusable (retry it)."""


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def parse_json(content: bytes):
    """The body as Python values; bad records as Unreadable; BodyError if it cannot be read at all."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return read_tolerantly(content)
    if _LONG_INTEGER.search(content):
        return read_tolerantly(content)
    return body


def read_tolerantly(content: bytes):
    text = content.decode("utf-8", "surrogateescape")
    pos = _skip(text, 0)
    if pos >= len(text):
        raise BodyError("empty body")
    if text[pos] == "{":
        value, pos = _object(text, pos)
    elif text[pos] == "[":
        value, pos = _array(text, pos)
    else:
        value, pos = _strict(text, pos)
    if _skip(text, pos) != len(text):
        raise BodyError(f"unexpected text after the body at character {pos}")
    return value


def _skip(text: str, pos: int) -> int:
    return _WHITESPACE.match(text, pos).end()


def _object(text: str, pos: int) -> tuple[dict, int]:
    members: dict = {}
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        return members, pos + 1
    while True:
        name = _STRING.match(text, pos)
        if name is None:
            raise BodyError(f"expected a member name at character {pos}")
        key, _ = _strict(text, pos)
        pos = _skip(text, name.end())
        if not text.startswith(":", pos):
            raise BodyError(f"expected ':' at character {pos}")
        pos = _skip(text, pos + 1)
        if text.startswith("[", pos):
            members[key], pos = _array(text, pos)
        else:
            members[key], pos = _strict(text, pos)
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("}", pos):
            return members, pos + 1
        else:
            raise BodyError(f"truncated or malformed object at character {pos}")


def _array(text: str, pos: int) -> tuple[list, int]:
    items: list = []
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return items, pos + 1
    while True:
        try:
            value, end = _DECODER.raw_decode(text, pos)
            orjson.dumps(value)  # what the loader will write: refuses what it cannot write exactly
            if _UNDECODED.search(text, pos, end):
                raise ValueError("invalid UTF-8")
            after = _skip(text, end)
            if not text.startswith((",", "]"), after):
                raise ValueError("unexpected text after the record")
            items.append(value)
            pos = after
        except (ValueError, TypeError, RecursionError) as error:
            end = _value_end(text, pos)
            raw = text[pos:end].rstrip()
            items.append(Unreadable(_reason(error, raw), raw))
            pos = _skip(text, end)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("]", pos):
            return items, pos + 1
        else:
            raise BodyError(f"truncated or malformed array at character {pos}")


def _strict(text: str, pos: int):
    try:
        value, end = _DECODER.raw_decode(text, pos)
        orjson.dumps(value)
    except (ValueError, TypeError, RecursionError) as error:
        raise BodyError(f"unreadable value at character {pos}: {error}") from error
    return value, end


def _value_end(text: str, pos: int) -> int:
    """Where the value starting at pos ends (a ',' or the closing bracket around it), without parsing it."""
    depth = 0
    while True:
        found = _SIGNIFICANT.search(text, pos)
        if found is None:
            return len(text)
        pos = found.start()
        char = text[pos]
        if char == '"':
            string = _STRING.match(text, pos)
            if string is None:
                return len(text)
            pos = string.end()
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            if depth == 0:
                return pos
            depth -= 1
        elif depth == 0:
            return pos
        pos += 1


def _reason(error: Exception, raw: str) -> str:
    message = str(error)
    if _UNDECODED.search(raw):
        return "unreadable record: invalid UTF-8 byte(s)"
    if isinstance(error, RecursionError) or "Recursion" in message:
        return "unreadable record: nested too deeply"
    if "JSON number" in message or "out of range" in message:
        return f"unreadable record: NaN or infinity ({message})"
    if "64-bit" in message:
        return "unreadable record: an integer beyond 64 bits (kept out rather than rounded to a float)"
    if "surrogate" in message:
        return "unreadable record: a string with a lone surrogate (not valid Unicode)"
    if "control character" in message:
        return f"unreadable record: a raw control character in a string ({message})"
    return f"unreadable record: {message}"
