"""The QBO query language: a tokenizer, a recursive-descent parser and an evaluator (no ``eval``).

Grammar (QBO_API_NOTES.md, "Reads")::

    query   := SELECT ( '*' | COUNT '(' '*' ')' | field {',' field} ) FROM entity
               [WHERE cond {AND cond}] [ORDERBY order {',' order}]
               {STARTPOSITION int | MAXRESULTS int}
    cond    := field ('=' | '<' | '>' | '<=' | '>=') value
             | field IN '(' value {',' value} ')'
             | field LIKE string
    value   := 'string with \\' escapes' | number | true | false

Keywords and entity names are case-insensitive; there is no OR, no JOIN, no GROUP BY. Anything else
is QBO's 4000 "Error parsing query". MAXRESULTS above 1000 is refused (4001), STARTPOSITION is
1-based, and name lists hide inactive records unless the query mentions ``Active`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qbosync_desktop.sandbox.qbo.clock import parse_time
from qbosync_desktop.sandbox.qbo.faults import query_invalid, query_parse

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000
TIME_FIELDS = {"metadata.lastupdatedtime", "metadata.createtime"}
_KEYWORDS = {"select", "from", "where", "and", "orderby", "order", "by", "asc", "desc", "startposition",
             "maxresults", "in", "like", "count", "true", "false"}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)(?![A-Za-z_])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op><=|>=|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<quote>'))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # word | num | str | op | punct | eof
    value: Any
    pos: int


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = < > <= >= in like
    value: Any  # a scalar, or a tuple for IN


@dataclass
class Query:
    entity: str
    count: bool = False
    fields: list[str] | None = None
    where: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            tokens.append(Token("eof", None, pos))
            return tokens
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise query_parse(f'Encountered " "{text[pos]}" at line 1, column {pos + 1}.')
        start = m.start(m.lastgroup) if m.lastgroup else pos
        if m.lastgroup == "quote":
            value, pos = _read_string(text, m.end())
            tokens.append(Token("str", value, start))
            continue
        raw = m.group(m.lastgroup)
        if m.lastgroup == "num":
            tokens.append(Token("num", float(raw) if "." in raw else int(raw), start))
        else:
            tokens.append(Token(m.lastgroup, raw, start))
        pos = m.end()


def _read_string(text: str, pos: int) -> tuple[str, int]:
    """Read up to the closing quote; ``\\'`` is a literal quote, as QBO requires."""
    out: list[str] = []
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "\\" and pos + 1 < n:
            out.append(text[pos + 1])
            pos += 2
            continue
        if ch == "'":
            return "".join(out), pos + 1
        out.append(ch)
        pos += 1
    raise query_parse("Lexical error: unterminated string literal (escape quotes inside values as \\')")


class _Parser:
    def __init__(self, text: str, entities: dict[str, str]) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.entities = entities

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, tok: Token) -> Exception:
        shown = "<EOF>" if tok.kind == "eof" else tok.value
        return query_parse(f'Encountered " "{shown}" at line 1, column {tok.pos + 1}.')

    def is_kw(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.value.lower() == word

    def expect_kw(self, word: str) -> None:
        if not self.is_kw(word):
            raise self.error(self.peek())
        self.i += 1

    def expect_punct(self, ch: str) -> None:
        tok = self.peek()
        if tok.kind != "punct" or tok.value != ch:
            raise self.error(tok)
        self.i += 1

    def field_name(self) -> str:
        tok = self.take()
        if tok.kind != "word" or tok.value.lower() in _KEYWORDS:
            raise self.error(tok)
        return tok.value

    def integer(self) -> int:
        tok = self.take()
        if tok.kind != "num" or not isinstance(tok.value, int):
            raise self.error(tok)
        return tok.value

    def value(self) -> Any:
        tok = self.take()
        if tok.kind in ("str", "num"):
            return tok.value
        if tok.kind == "word" and tok.value.lower() in ("true", "false"):
            return tok.value.lower() == "true"
        raise self.error(tok)

    def parse(self) -> Query:
        self.expect_kw("select")
        count = False
        fields: list[str] | None = None
        tok = self.peek()
        if tok.kind == "punct" and tok.value == "*":
            self.i += 1
        elif self.is_kw("count"):
            self.i += 1
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            count = True
        else:
            fields = [self.field_name()]
            while self.peek().kind == "punct" and self.peek().value == ",":
                self.i += 1
                fields.append(self.field_name())
        self.expect_kw("from")
        tok = self.take()
        if tok.kind != "word":
            raise self.error(tok)
        entity = self.entities.get(tok.value.lower())
        if entity is None:
            raise query_parse(f"Invalid entity: {tok.value}")
        query = Query(entity=entity, count=count, fields=fields)
        if self.is_kw("where"):
            self.i += 1
            query.where.append(self.condition())
            while self.is_kw("and"):
                self.i += 1
                query.where.append(self.condition())
        if self.is_kw("orderby") or self.is_kw("order"):
            if self.take().value.lower() == "order":
                self.expect_kw("by")
            query.order_by.append(self.order_item())
            while self.peek().kind == "punct" and self.peek().value == ",":
                self.i += 1
                query.order_by.append(self.order_item())
        while self.peek().kind != "eof":
            if self.is_kw("startposition"):
                self.i += 1
                query.start_position = self.integer()
            elif self.is_kw("maxresults"):
                self.i += 1
                query.max_results = self.integer()
            else:
                raise self.error(self.peek())
        if query.max_results > MAX_RESULTS_LIMIT:
            raise query_invalid(f"value {query.max_results} is too large. Max allowed value is {MAX_RESULTS_LIMIT}")
        if query.max_results < 1 or query.start_position < 1:
            raise query_invalid("STARTPOSITION and MAXRESULTS must be positive")
        return query

    def condition(self) -> Condition:
        name = self.field_name()
        tok = self.peek()
        if tok.kind == "op":
            self.i += 1
            return Condition(name, tok.value, self.value())
        if self.is_kw("in"):
            self.i += 1
            self.expect_punct("(")
            values = [self.value()]
            while self.peek().kind == "punct" and self.peek().value == ",":
                self.i += 1
                values.append(self.value())
            self.expect_punct(")")
            return Condition(name, "in", tuple(values))
        if self.is_kw("like"):
            self.i += 1
            tok = self.take()
            if tok.kind != "str":
                raise self.error(tok)
            return Condition(name, "like", tok.value)
        raise self.error(tok)

    def order_item(self) -> tuple[str, bool]:
        name = self.field_name()
        desc = False
        if self.is_kw("asc") or self.is_kw("desc"):
            desc = self.take().value.lower() == "desc"
        return name, desc


def parse(text: str, entities: Iterable[str]) -> Query:
    """Parse ``text``; ``entities`` are the canonical entity names the server knows."""
    return _Parser(text, {e.lower(): e for e in entities}).parse()


# --- evaluation -------------------------------------------------------------------------------

Row = tuple[dict[str, Any], float, float]  # (object, created ts, updated ts)


def _lookup(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
        else:
            low = part.lower()
            value = next((v for k, v in value.items() if k.lower() == low), None)
    if isinstance(value, dict):
        # CustomerRef = '12' compares the reference's id; PrimaryEmailAddr = 'a@b' the address
        for key in ("value", "Address", "FreeFormNumber", "URI"):
            if key in value:
                return value[key]
    return value


def field_value(row: Row, path: str) -> Any:
    low = path.lower()
    if low == "metadata.lastupdatedtime":
        return row[2]
    if low == "metadata.createtime":
        return row[1]
    return _lookup(row[0], path)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (2, 0)
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value).casefold())


def _coerce(field_path: str, literal: Any) -> Any:
    if field_path.lower() in TIME_FIELDS:
        try:
            return parse_time(literal)
        except (TypeError, ValueError):
            raise query_parse(f"Invalid date-time value '{literal}' for {field_path}") from None
    return literal


def _compare(actual: Any, literal: Any) -> int | None:
    """-1/0/1, or None when the values cannot be compared (the row then does not match)."""
    if actual is None:
        return None
    if isinstance(actual, bool) or isinstance(literal, bool):
        a = actual if isinstance(actual, bool) else str(actual).lower() == "true"
        b = literal if isinstance(literal, bool) else str(literal).lower() == "true"
        return 0 if a == b else 1
    ka, kb = _sort_key(actual), _sort_key(literal)
    if ka[0] != kb[0]:
        ka, kb = (1, str(actual).casefold()), (1, str(literal).casefold())
    return (ka > kb) - (ka < kb)


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("%")), re.IGNORECASE | re.DOTALL)


def _matcher(cond: Condition) -> Callable[[Row], bool]:
    path, op = cond.field, cond.op
    if op == "like":
        regex = _like(str(cond.value))
        return lambda row: (v := field_value(row, path)) is not None and regex.fullmatch(str(v)) is not None
    if op == "in":
        values = [_coerce(path, v) for v in cond.value]
        if any(isinstance(v, bool) or v is None for v in values):
            return lambda row: any(_compare(field_value(row, path), v) == 0 for v in values)
        # Set lookups with exactly _compare's equality (same kind: equal sort keys; different kinds:
        # equal casefolded text), so a 1000-id IN over 20,000 rows is not 20 million comparisons.
        keys = {_sort_key(v) for v in values}
        text_of_kind: dict[int, set[str]] = {0: set(), 1: set()}
        for v in values:
            text_of_kind[_sort_key(v)[0]].add(str(v).casefold())

        def member(row: Row) -> bool:
            actual = field_value(row, path)
            if actual is None:
                return False
            if isinstance(actual, bool):
                return any(_compare(actual, v) == 0 for v in values)
            key = _sort_key(actual)
            if key in keys:
                return True
            other = text_of_kind[1 - key[0]] if key[0] in (0, 1) else set()
            return bool(other) and str(actual).casefold() in other

        return member
    literal = _coerce(path, cond.value)
    tests: dict[str, Callable[[int], bool]] = {
        "=": lambda c: c == 0,
        "<": lambda c: c < 0,
        ">": lambda c: c > 0,
        "<=": lambda c: c <= 0,
        ">=": lambda c: c >= 0,
    }
    test = tests[op]

    def match(row: Row) -> bool:
        c = _compare(field_value(row, path), literal)
        return c is not None and test(c)

    return match


def execute(query: Query, rows: list[Row], *, hides_inactive: bool) -> dict[str, Any]:
    """Run ``query`` over ``rows`` (given in Id order) and build the ``QueryResponse`` object."""
    matchers = [_matcher(c) for c in query.where]
    if hides_inactive and not any(c.field.lower() == "active" for c in query.where):
        matchers.append(lambda row: row[0].get("Active", True) is not False)
    first = query.start_position - 1
    order_by = query.order_by
    if order_by and order_by[0][0].lower() == "id":
        # Ids are unique, so later keys never matter, and rows already come in Id order
        rows = rows[::-1] if order_by[0][1] else rows
        order_by = []
    if query.count or order_by:
        selected = [row for row in rows if all(m(row) for m in matchers)]
        if query.count:
            return {"totalCount": len(selected)}
        for path, desc in reversed(order_by):
            selected.sort(key=lambda row, p=path: _sort_key(field_value(row, p)), reverse=desc)
        page = selected[first : first + query.max_results]
    else:
        # Default order is by Id, which is the storage order: stop as soon as the page is full.
        page = []
        wanted = first + query.max_results
        seen = 0
        for row in rows:
            if all(m(row) for m in matchers):
                seen += 1
                if seen > first:
                    page.append(row)
                    if seen >= wanted:
                        break
    if not page:
        return {}
    if query.fields is not None:
        wanted_fields = {w.lower() for w in ("Id", *query.fields)}
        objs = [{**{k: v for k, v in row[0].items() if k.lower() in wanted_fields}, "domain": "QBO", "sparse": True}
                for row in page]
    else:
        objs = [row[0] for row in page]
    return {query.entity: objs, "startPosition": query.start_position, "maxResults": len(objs)}
