"""The filter language's syntax (lyncdump/filters.py): tokens, the parser, the expression tree.

It loads with the first expression compiled: a run without ``--filter`` / ``-Y`` only needs the
empty :class:`~lyncdump.filters.Filter` and the field table. :mod:`lyncdump.filters` re-exports
the public names (``tokenize``, ``parse_time``, ``parse_address``, the node types).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from .filters import (
    ADDRESS,
    BOOL,
    ENDPOINT,
    FIELDS,
    NUMBER,
    PREDICATES,
    TEXT,
    TIME,
    Field,
    FilterError,
    Subject,
    _norm,
    lookup,
)

# -- tokens --------------------------------------------------------------------------------------

_OPS = ("==", "!=", "<=", ">=", "!~", "&&", "||", "=", "<", ">", "~", "!", "(", ")", ",")
_WORD_END = set(" \t\r\n()") | {"=", "<", ">", "~", "!", ","}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "word", "string", "op", "end"
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Words, quoted strings and operators, each with its column."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "\"'":
            j = i + 1
            buf = []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise FilterError(text, i, "unterminated quote")
            out.append(Token("string", "".join(buf), i))
            i = j + 1
            continue
        for op in _OPS:
            if text.startswith(op, i):
                out.append(Token("op", op, i))
                i += len(op)
                break
        else:
            j = i
            while j < n and text[j] not in _WORD_END:
                j += 1
            out.append(Token("word", text[i:j], i))
            i = j
    out.append(Token("end", "", n))
    return out


def _value_token(tokens: list[Token], i: int, text: str) -> tuple[str, int, int]:
    """A value after an operator: a string, or the longest run of words and ``=``/``:``
    without spaces (a Call-ID may hold ``=``), up to a space or parenthesis."""
    tok = tokens[i]
    if tok.kind == "string":
        return tok.text, i + 1, tok.pos
    if tok.kind == "end" or (tok.kind == "op" and tok.text in ("(", ")", ",")):
        raise FilterError(text, tok.pos, "a value is missing")
    # Re-read the raw text from here to the next space/parenthesis/comma: values such as
    # "a=b", "!x" or "<sip:...>" are words to the user.
    start = tok.pos
    j = start
    while j < len(text) and not text[j].isspace() and text[j] not in "(),":
        j += 1
    value = text[start:j]
    while i < len(tokens) and tokens[i].kind != "end" and tokens[i].pos < j:
        i += 1
    return value, i, start


# -- syntax tree ---------------------------------------------------------------------------------


class Node(ABC):
    """An expression node; ``test(subject)`` is True, False or None (unknown)."""

    __slots__ = ()

    @abstractmethod
    def test(self, subject: Subject) -> bool | None: ...

    @abstractmethod
    def fields(self) -> Iterator[Field]: ...


@dataclass(slots=True)
class _Junction(Node):
    """``and`` / ``or`` in three-valued logic: one part equal to ``SETTLES`` settles the
    whole; otherwise any unknown part makes it unknown."""

    parts: list[Node]
    SETTLES: ClassVar[bool]

    def test(self, subject: Subject) -> bool | None:
        settles = self.SETTLES
        result: bool | None = not settles
        for p in self.parts:
            r = p.test(subject)
            if r is settles:
                return settles
            if r is None:
                result = None
        return result

    def fields(self) -> Iterator[Field]:
        for p in self.parts:
            yield from p.fields()


class And(_Junction):
    __slots__ = ()
    SETTLES = False


class Or(_Junction):
    __slots__ = ()
    SETTLES = True


@dataclass(slots=True)
class Not(Node):
    part: Node

    def test(self, subject: Subject) -> bool | None:
        r = self.part.test(subject)
        return None if r is None else not r

    def fields(self) -> Iterator[Field]:
        yield from self.part.fields()


@dataclass(slots=True)
class Test(Node):
    """``field op value`` (or a bare field: true when set and not false/zero/empty)."""

    __test__: ClassVar[bool] = False  # not a pytest class

    field: Field
    op: str | None
    values: list[Any]
    text: str = ""

    def fields(self) -> Iterator[Field]:
        yield self.field

    def test(self, subject: Subject) -> bool | None:
        f, objects = subject.resolve(self.field)
        if objects is None:
            return None
        negate = self.op in ("!=", "!~")
        found = False
        for obj in objects:
            for value in self.values_of(obj, f):
                if self._compare(value, f):
                    found = True
                    break
            if found:
                break
        return not found if negate else found

    def values_of(self, obj: Any, f: Field | None = None) -> Iterable[Any]:
        """The field's value(s) on one object (None values left out); ``f`` reads another
        field of the same kind (a lone diagnostic's ``log.`` twin of a session field)."""
        f = f or self.field
        try:
            value = f.get(obj)
        except (AttributeError, TypeError, ValueError, ZeroDivisionError):
            return ()
        if f.multi:
            return [v for v in value if v is not None] if value is not None else ()
        return (value,) if value is not None else ()

    def _compare(self, actual: Any, f: Field | None = None) -> bool:
        f = f or self.field
        op = self.op
        kind = f.kind
        if op is None:
            return bool(actual)
        if op in ("~", "!~") or (op == "=" and f.fuzzy):
            hay = str(actual).lower()
            return any(str(v).lower() in hay for v in self.values)
        if kind in (ADDRESS, ENDPOINT):
            return any(_address_matches(str(actual), v) for v in self.values)
        if kind == TEXT:
            a = str(actual) if f.exact_case else str(actual).lower()
            wanted = [v if f.exact_case else v.lower() for v in self.values]
            if op in ("=", "==", "in", "!="):
                return a in wanted
            return _order(a, op, wanted[0])
        if kind == BOOL:
            if op in ("=", "==", "in", "!="):
                return bool(actual) in self.values
            return False
        try:
            number = float(actual)
        except (TypeError, ValueError):
            return False
        if op in ("=", "==", "in", "!="):
            return any(number == v for v in self.values)
        return _order(number, op, self.values[0])


def _order(a: Any, op: str, b: Any) -> bool:
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    return False


def _address_matches(actual: str, wanted: Any) -> bool:
    """``actual`` is ``ip:port`` / ``[v6]:port`` / ``ip``; ``wanted`` is a parsed value."""
    kind, value = wanted
    ip_text, port = _split_endpoint(actual)
    if kind == "endpoint":
        return (ip_text, port) == value
    if kind == "port":
        return port == value
    try:
        ip = ipaddress.ip_address(ip_text)
    except ValueError:
        return False
    return ip in value if kind == "network" else ip == value


def _split_endpoint(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port) if port.isdigit() else None
    return text, None


# -- reading values ------------------------------------------------------------------------------

_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_NUMBER_RE = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z%]*)$")


def _read_value(f: Field, raw: str, text: str, pos: int) -> Any:
    kind = f.kind
    if kind == NUMBER:
        if raw.lower().startswith("0x"):
            try:
                return float(int(raw, 16))
            except ValueError:
                raise FilterError(text, pos, f"{raw!r} is not a number") from None
        m = _NUMBER_RE.match(raw.strip())
        if m is None:
            raise FilterError(text, pos, f"{f.key} takes a number, not {raw!r}")
        number = float(m.group(1))
        unit = m.group(2).lower()
        if unit in ("", "%"):
            return number
        if unit in _UNITS and f.unit is not None:
            return number * _UNITS[unit] / _UNITS[f.unit]
        raise FilterError(text, pos, f"unit {m.group(2)!r} does not fit {f.key}")
    if kind == BOOL:
        low = raw.lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise FilterError(text, pos, f"{f.key} is true or false, not {raw!r}")
    if kind == TIME:
        return parse_time(raw, text, pos)
    if kind in (ADDRESS, ENDPOINT):
        return parse_address(raw, text, pos)
    if f.choices is not None and raw.lower() not in f.choices:
        raise FilterError(text, pos, f"{f.key} is one of {', '.join(f.choices)}, not {raw!r}")
    return raw


def parse_time(raw: str, text: str = "", pos: int = -1) -> float:
    """Seconds since the epoch from ``2026-01-01T10:00:00[.123][Z|+01:00]``, ``2026-01-01
    10:00``, a date, or a number of seconds since the epoch. Times without a zone are UTC,
    as the ladder prints them."""
    value = raw.strip()
    try:
        return float(value)
    except ValueError:
        pass
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    if value.upper().endswith(" UTC"):
        value = value[:-4] + "+00:00"
    try:
        moment = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(
            text or raw, pos, f"{raw!r} is not a time (2026-01-01T10:00:00, or epoch seconds)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


def parse_address(raw: str, text: str = "", pos: int = -1) -> tuple[str, Any]:
    """``10.0.0.1`` / ``10.0.0.0/8`` / ``10.0.0.1:5060`` / ``[::1]:5060`` / ``:5060``."""
    value = raw.strip()
    try:
        if value.startswith(":") and value[1:].isdigit():
            return ("port", int(value[1:]))
        if "/" in value:
            return ("network", ipaddress.ip_network(value, strict=False))
        host, port = _split_endpoint(value)
        ip = ipaddress.ip_address(host)
        if port is not None:
            return ("endpoint", (str(ip), port))
        return ("ip", ip)
    except ValueError:
        raise FilterError(
            text or raw, pos, f"{raw!r} is not an address (ip, ip:port, CIDR or :port)"
        ) from None


# -- parser --------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, depth: int = 0) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = depth

    def peek(self) -> Token:
        return self.tokens[self.i]

    def word_is(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() in words

    def parse(self) -> Node:
        node = self.expression()
        tok = self.peek()
        if tok.kind != "end":
            raise FilterError(self.text, tok.pos, f"unexpected {tok.text!r} (and/or missing?)")
        return node

    def expression(self) -> Node:
        parts = [self.term()]
        while self.word_is("or") or (self.peek().kind == "op" and self.peek().text == "||"):
            self.i += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Or(parts)

    def term(self) -> Node:
        parts = [self.factor()]
        while self.word_is("and") or (self.peek().kind == "op" and self.peek().text == "&&"):
            self.i += 1
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else And(parts)

    def factor(self) -> Node:
        tok = self.peek()
        if self.word_is("not") or (tok.kind == "op" and tok.text == "!"):
            self.i += 1
            return Not(self.factor())
        if tok.kind == "op" and tok.text == "(":
            self.i += 1
            if self.depth > 64:
                raise FilterError(self.text, tok.pos, "parentheses nested too deep")
            self.depth += 1
            node = self.expression()
            self.depth -= 1
            end = self.peek()
            if end.kind != "op" or end.text != ")":
                raise FilterError(self.text, end.pos, "')' is missing")
            self.i += 1
            return node
        return self.test()

    def test(self) -> Node:
        tok = self.peek()
        if tok.kind != "word":
            what = "the end" if tok.kind == "end" else repr(tok.text)
            raise FilterError(self.text, tok.pos, f"a field name is missing before {what}")
        self.i += 1
        name = tok.text
        nxt = self.peek()
        if name.lower() in PREDICATES and not (nxt.kind == "op" and nxt.text in _COMPARE):
            if self.depth > 8:
                raise FilterError(self.text, tok.pos, "predicates nested too deep")
            return _Parser(PREDICATES[name.lower()][0], self.depth + 1).parse()
        f = lookup(name)
        if f is None:
            raise FilterError(self.text, tok.pos, f"unknown field {name!r} ({_suggest(name)})")
        if nxt.kind == "word" and nxt.text.lower() == "in":
            return self._in(f, tok)
        if nxt.kind != "op" or nxt.text not in _COMPARE:
            return Test(f, None, [], name)
        self.i += 1
        op = nxt.text
        raw, self.i, pos = _value_token(self.tokens, self.i, self.text)
        if op in ("<", "<=", ">", ">=") and f.kind in (TEXT, BOOL, ADDRESS, ENDPOINT):
            raise FilterError(self.text, nxt.pos, f"{f.key} is not a number or a time: use = or ~")
        value = raw if op in ("~", "!~") else _read_value(f, raw, self.text, pos)
        if op == "=" and f.fuzzy:
            value = raw
        return Test(f, op, [value], f"{name}{op}{raw}")

    def _in(self, f: Field, tok: Token) -> Node:
        self.i += 1
        opening = self.peek()
        if opening.kind != "op" or opening.text != "(":
            raise FilterError(self.text, opening.pos, "'in' takes a list: in (a, b)")
        self.i += 1
        values = []
        while True:
            raw, self.i, pos = _value_token(self.tokens, self.i, self.text)
            values.append(raw if f.fuzzy else _read_value(f, raw, self.text, pos))
            sep = self.peek()
            if sep.kind == "op" and sep.text == ",":
                self.i += 1
                continue
            if sep.kind == "op" and sep.text == ")":
                self.i += 1
                break
            raise FilterError(self.text, sep.pos, "',' or ')' expected in the list")
        return Test(f, "=" if f.fuzzy else "in", values, f"{tok.text} in (...)")


_COMPARE = ("==", "=", "!=", "<", "<=", ">", ">=", "~", "!~")


def _suggest(name: str) -> str:
    key = _norm(name)
    names = list(FIELDS) + [k.removeprefix("session.") for k in FIELDS] + list(PREDICATES)
    import difflib  # a mistake's suggestions only

    close = difflib.get_close_matches(key, names, n=4, cutoff=0.75)
    tail = key.rsplit(".", 1)[-1]
    if len(tail) > 2:
        close += sorted(k for k in FIELDS if k.endswith("." + tail) and k not in close)
    if close:
        return "did you mean " + ", ".join(dict.fromkeys(close[:4])) + "?"
    return "lyncdump --help-filter lists the fields"


# -- compiled filters ----------------------------------------------------------------------------
