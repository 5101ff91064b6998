"""The SOQL subset the sandbox understands, parsed and compiled into Python predicates.

Supported: `SELECT f1, f2 | COUNT() FROM Object [WHERE ...] [ORDER BY f [ASC|DESC] [NULLS
FIRST|LAST], ...] [LIMIT n] [OFFSET n]`. WHERE takes AND / OR / NOT / parentheses and
comparisons `= != <> < <= > >=`, `[NOT] IN (...)`, `LIKE`, on datetimes (2026-05-01T00:00:00Z,
...000+0000, +00:00), dates, strings, numbers, booleans and null. As in Salesforce, field and
object names are case-insensitive, string equality and LIKE ignore case, and a literal of the
wrong type for its field is an error rather than a silent mismatch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from baton_sandbox.catalog import SALESFORCE_OBJECTS


class SoqlError(Exception):
    """A query Salesforce would refuse; `code` is Salesforce's errorCode."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# -- field types (Salesforce describe types) ----------------------------------------------
_DATE_FIELDS = {"ConvertedDate", "CloseDate", "ActivityDate", "StartDate", "EndDate", "FirstRespondedDate"}
_DATETIME_FIELDS = {"CreatedDate", "LastModifiedDate", "SystemModstamp", "CompletedDateTime", "StartDateTime",
                    "EndDateTime", "Last_Marketing_Touch_At__c"}
_INT_FIELDS = {"NumberOfEmployees"}
_DOUBLE_FIELDS = {"Marketing_Touch_Count__c"}
_CURRENCY_FIELDS = {"Amount"}
_PICKLIST_FIELDS = {"Status", "LeadSource", "Industry", "StageName", "Type", "TaskSubtype", "Role", "Field",
                    "Priority"}
# Long text areas: Salesforce refuses them in WHERE and ORDER BY.
_TEXTAREA_FIELDS = {"Description"}
_ANYTYPE_FIELDS = {"OldValue", "NewValue"}


def field_type(name: str) -> str:
    if name == "Id":
        return "id"
    if name in _DATETIME_FIELDS:
        return "datetime"
    if name in _DATE_FIELDS:
        return "date"
    if re.match(r"(Is|Has)[A-Z]", name):
        return "boolean"
    if name in _INT_FIELDS:
        return "int"
    if name in _DOUBLE_FIELDS:
        return "double"
    if name in _CURRENCY_FIELDS:
        return "currency"
    if name == "Email":
        return "email"
    if name in _ANYTYPE_FIELDS:
        return "anyType"
    if name in _TEXTAREA_FIELDS:
        return "textarea"
    if name.endswith("Id"):
        return "reference"
    if name in _PICKLIST_FIELDS:
        return "picklist"
    return "string"


def time_field(object_name: str) -> str:
    """The field whose value is the version's valid_from (what incremental reads filter on)."""
    return "SystemModstamp" if "SystemModstamp" in SALESFORCE_OBJECTS[object_name] else "CreatedDate"


# -- tokens -------------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
""", re.VERBOSE)


@dataclass
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[pos:pos + 20]}'")
        if match.lastgroup != "ws":
            tokens.append(Token(match.lastgroup, match.group(), pos))
        pos = match.end()
    return tokens


# -- values -------------------------------------------------------------------------------
def sf_datetime_key(value: str | None) -> str | None:
    """A Salesforce datetime string as a sortable UTC key 'YYYY-MM-DDTHH:MM:SS.fff'."""
    if value is None:
        return None
    if len(value) == 28 and value.endswith("+0000"):
        return value[:23]
    return _datetime_key(_parse_datetime(value))


def _parse_datetime(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _datetime_key(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}"


def _literal(token: Token, ftype: str, fname: str) -> Any:
    """The token as a comparable value for a field of type `ftype`."""
    kind, text = token.kind, token.text
    if kind == "ident" and text.lower() == "null":
        return None
    wrong = SoqlError("INVALID_FIELD", f"value of filter criterion for field '{fname}' must be of type {ftype}"
                      " and should not be enclosed in quotes" if kind == "string" and ftype in
                      ("datetime", "date", "boolean", "int", "double", "currency") else
                      f"value of filter criterion for field '{fname}' must be of type {ftype}")
    if ftype == "datetime":
        if kind != "datetime":
            raise wrong
        return _datetime_key(_parse_datetime(text))
    if ftype == "date":
        if kind != "date":
            raise wrong
        return text
    if ftype == "boolean":
        if kind != "ident" or text.lower() not in ("true", "false"):
            raise wrong
        return text.lower() == "true"
    if ftype in ("int", "double", "currency"):
        if kind != "number":
            raise wrong
        return float(text)
    if ftype == "anyType":
        return _unquote(text) if kind == "string" else text
    if kind != "string":
        raise wrong
    return _unquote(text)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), text[1:-1])


def _record_value(ftype: str) -> Callable[[Any], Any]:
    """How to turn a record's raw value into the comparable form of `_literal`."""
    if ftype == "datetime":
        return sf_datetime_key
    if ftype in ("int", "double", "currency"):
        return lambda v: None if v is None else float(v)
    if ftype in ("string", "email", "picklist", "anyType"):
        return lambda v: None if v is None else str(v).lower()
    return lambda v: v


def _case_fold(ftype: str, value: Any) -> Any:
    if ftype in ("string", "email", "picklist", "anyType") and isinstance(value, str):
        return value.lower()
    return value


# -- the parsed query ---------------------------------------------------------------------
@dataclass
class OrderKey:
    field: str
    descending: bool
    nulls_first: bool


@dataclass
class Query:
    object: str
    fields: list[str]                       # canonical names, in SELECT order; empty for COUNT()
    count_only: bool
    where: Callable[[dict], bool] | None
    order_by: list[OrderKey]
    limit: int | None
    offset: int
    # Bounds on the version time (SystemModstamp / CreatedDate) implied by top-level ANDs,
    # widened by a second so the store can pre-filter; the predicate stays exact.
    changed_after: datetime | None = None
    changed_until: datetime | None = None
    text: str = field(default="", repr=False)
    where_fields: set[str] = field(default_factory=set)   # the fields the WHERE clause reads

    def sort(self, records: list[dict]) -> list[dict]:
        for key in reversed(self.order_by):
            records.sort(key=_order_key(key), reverse=key.descending)
        return records

    def follows(self, before: dict, after: dict) -> bool:
        """Whether `after` may come right after `before` in this query's order: a list in which
        every record follows the one before is what sort() leaves it as (the sort is stable)."""
        for key in self.order_by:
            order = _order_key(key)
            a, b = order(before), order(after)
            if a != b:
                return (a < b) != key.descending
        return True


def _order_key(key: OrderKey) -> Callable[[dict], tuple]:
    convert = _record_value(field_type(key.field))
    name = key.field

    def order(record):
        value = convert(record.get(name))
        if value is None:
            # nulls go where asked, whichever the direction
            return (0 if key.nulls_first != key.descending else 2, 0)
        return (1, value)

    return order


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.object = ""
        self.fields_by_lower: dict[str, str] = {}
        self.bounds: list[tuple[str, datetime]] = []
        self.where_fields: set[str] = set()

    # token helpers
    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        for offset, word in enumerate(words):
            token = self.peek(offset)
            if token is None or token.kind != "ident" or token.text.upper() != word:
                return False
        return True

    def take_keyword(self, *words: str) -> bool:
        if self.keyword(*words):
            self.pos += len(words)
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.take_keyword(word):
            self.unexpected()

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text != text):
            self.unexpected()
        self.pos += 1
        return token

    def unexpected(self):
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>")
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")

    def field_name(self, token: Token) -> str:
        name = self.fields_by_lower.get(token.text.lower())
        if name is None:
            line = self.text.replace("\n", " ")
            raise SoqlError("INVALID_FIELD", f"\n{line}\n{' ' * token.pos}^\nERROR at Row:1:Column:{token.pos + 1}\n"
                            f"No such column '{token.text}' on entity '{self.object}'. If you are attempting to use"
                            " a custom field, be sure to append the '__c' after the custom field name. Please"
                            " reference your WSDL or the describe call for the appropriate names.")
        return name

    # grammar
    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        raw_fields: list[Token] = []
        count_only = False
        if self.keyword("COUNT") and self.peek(1) is not None and self.peek(1).text == "(":
            self.pos += 1
            self.expect("punct", "(")
            self.expect("punct", ")")
            count_only = True
        else:
            while True:
                token = self.peek()
                if token is None or token.kind != "ident" or token.text.upper() == "FROM":
                    self.unexpected()
                raw_fields.append(token)
                self.pos += 1
                if self.peek() is not None and self.peek().text == ",":
                    self.pos += 1
                    continue
                break
        self.expect_keyword("FROM")
        object_token = self.expect("ident")
        objects_by_lower = {name.lower(): name for name in SALESFORCE_OBJECTS}
        self.object = objects_by_lower.get(object_token.text.lower(), "")
        if not self.object:
            raise SoqlError("INVALID_TYPE", f"\n{self.text}\n{' ' * object_token.pos}^\nERROR at Row:1:Column:"
                            f"{object_token.pos + 1}\nsObject type '{object_token.text}' is not supported. If you are"
                            " attempting to use a custom object, be sure to append the '__c' after the entity name."
                            " Please reference your WSDL or the describe call for the appropriate names.")
        self.fields_by_lower = {name.lower(): name for name in SALESFORCE_OBJECTS[self.object]}
        fields: list[str] = []
        for token in raw_fields:
            name = self.field_name(token)
            if name in fields:
                raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {name}")
            fields.append(name)
        where = None
        if self.take_keyword("WHERE"):
            where = self.condition(top_level=True)
        order_by: list[OrderKey] = []
        if self.take_keyword("ORDER", "BY"):
            while True:
                name = self.field_name(self.expect("ident"))
                if field_type(name) == "textarea":
                    raise SoqlError("INVALID_FIELD", f"field '{name}' can not be sorted in a query call")
                descending = False
                if self.take_keyword("DESC"):
                    descending = True
                else:
                    self.take_keyword("ASC")
                nulls_first = not descending
                if self.take_keyword("NULLS", "FIRST"):
                    nulls_first = True
                elif self.take_keyword("NULLS", "LAST"):
                    nulls_first = False
                order_by.append(OrderKey(name, descending, nulls_first))
                if self.peek() is not None and self.peek().text == ",":
                    self.pos += 1
                    continue
                break
        limit = None
        offset = 0
        if self.take_keyword("LIMIT"):
            limit = int(self.expect("number").text)
        if self.take_keyword("OFFSET"):
            offset = int(self.expect("number").text)
        if self.peek() is not None:
            self.unexpected()
        query = Query(self.object, fields, count_only, where, order_by, limit, offset, text=self.text,
                      where_fields=self.where_fields)
        margin = timedelta(seconds=1)
        for op, instant in self.bounds:
            if op in (">", ">="):
                after = instant - margin
                query.changed_after = after if query.changed_after is None else max(query.changed_after, after)
            elif op in ("<", "<="):
                until = instant + margin
                query.changed_until = until if query.changed_until is None else min(query.changed_until, until)
        return query

    def condition(self, top_level: bool = False) -> Callable[[dict], bool]:
        terms = [self.conjunction(top_level)]
        while self.take_keyword("OR"):
            terms.append(self.conjunction(False))
        if len(terms) == 1:
            return terms[0]
        if top_level:
            self.bounds.clear()  # an OR at the top voids any bound taken from its branches
        return lambda record: any(term(record) for term in terms)

    def conjunction(self, top_level: bool) -> Callable[[dict], bool]:
        terms = [self.negation(top_level)]
        while self.take_keyword("AND"):
            terms.append(self.negation(top_level))
        if len(terms) == 1:
            return terms[0]
        return lambda record: all(term(record) for term in terms)

    def negation(self, top_level: bool) -> Callable[[dict], bool]:
        if self.take_keyword("NOT"):
            inner = self.negation(False)
            return lambda record: not inner(record)
        return self.primary(top_level)

    def primary(self, top_level: bool) -> Callable[[dict], bool]:
        token = self.peek()
        if token is not None and token.text == "(":
            self.pos += 1
            inner = self.condition(False)
            self.expect("punct", ")")
            return inner
        name = self.field_name(self.expect("ident"))
        self.where_fields.add(name)
        ftype = field_type(name)
        if ftype == "textarea":
            raise SoqlError("INVALID_FIELD", f"field '{name}' can not be filtered in a query call")
        convert = _record_value(ftype)
        negate = self.take_keyword("NOT", "IN")
        if negate or self.take_keyword("IN"):
            self.expect("punct", "(")
            values = []
            while True:
                values.append(_case_fold(ftype, _literal(self.expect_value(), ftype, name)))
                if self.peek() is not None and self.peek().text == ",":
                    self.pos += 1
                    continue
                break
            self.expect("punct", ")")
            allowed = set(values)
            if negate:
                return lambda record: convert(record.get(name)) not in allowed
            return lambda record: convert(record.get(name)) in allowed
        if self.take_keyword("LIKE"):
            pattern_token = self.expect("string")
            if ftype not in ("string", "email", "picklist", "id", "reference", "anyType"):
                raise SoqlError("INVALID_FIELD", f"invalid operator on {ftype} field: LIKE")
            pattern = _unquote(pattern_token.text)
            regex = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern),
                               re.IGNORECASE | re.DOTALL)
            return lambda record: (lambda v: v is not None and regex.fullmatch(str(v)) is not None)(record.get(name))
        op = self.expect("op").text
        value = _case_fold(ftype, _literal(self.expect_value(), ftype, name))
        if top_level and ftype == "datetime" and name == time_field(self.object) and value is not None:
            self.bounds.append((op, _parse_datetime(value + "Z")))
        return _comparison(name, convert, op, value)

    def expect_value(self) -> Token:
        token = self.peek()
        if token is None or token.kind not in ("string", "datetime", "date", "number", "ident"):
            self.unexpected()
        self.pos += 1
        return token


def _comparison(name: str, convert, op: str, value) -> Callable[[dict], bool]:
    if value is None:
        if op == "=":
            return lambda record: record.get(name) is None
        if op in ("!=", "<>"):
            return lambda record: record.get(name) is not None
        raise SoqlError("MALFORMED_QUERY", f"invalid operator with null: {op}")
    if op == "=":
        return lambda record: convert(record.get(name)) == value
    if op in ("!=", "<>"):
        return lambda record: convert(record.get(name)) != value

    def ordered(compare):
        def test(record):
            current = convert(record.get(name))
            return current is not None and compare(current)
        return test

    return ordered({
        "<": lambda v: v < value, "<=": lambda v: v <= value,
        ">": lambda v: v > value, ">=": lambda v: v >= value,
    }[op])


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>")
    return _Parser(text.strip()).parse()


_JSON_SCALAR = r'("(?:[^"\\]|\\.)*"|[^,}\]]*)'


def field_reader(names: set[str] | list[str]) -> Callable[[str], dict]:
    """Read a few top-level fields of a flat JSON record without parsing all of it.

    A key can only appear as `"Name":` where it is a key (a quote inside a string value is
    escaped), so the match is exact for the flat records Salesforce returns.
    """
    import orjson

    patterns = [(name, re.compile('"' + re.escape(name) + r'":\s*' + _JSON_SCALAR)) for name in names]

    def read(text: str) -> dict:
        values = {}
        for name, pattern in patterns:
            match = pattern.search(text)
            values[name] = orjson.loads(match.group(1)) if match else None
        return values

    return read
