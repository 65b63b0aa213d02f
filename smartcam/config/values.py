"""Value types of smartcam.conf: parse one setting's text, format a value back, say what is allowed.

Every type is a `ValueType`: `parse(text)` returns the typed value or raises `Invalid`,
`format(value)` gives text that parses back to an equal value, and `allowed` completes the
sentence "expected ..." in error messages and in the generated docs.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class Invalid(ValueError):
    """A value does not fit its type; str() is an optional detail added after "expected ..."."""


@dataclass(frozen=True)
class ValueType(Generic[T]):
    allowed: str  # completes "expected ...", e.g. "a whole number from 1 to 100"
    parse_text: Callable[[str], T]
    format: Callable[[T], str]
    shown: Callable[[str], str] = str  # the text as printed: a password inside it left out

    def parse(self, text: str) -> T:
        try:
            return self.parse_text(text)
        except Invalid:
            raise
        except (ValueError, OverflowError) as err:  # int() of 5000 digits, float("1e999") ...
            raise Invalid("") from err


@dataclass(frozen=True)
class HostPort:
    """A network address as written in the file: host name or IP, and a port if one was given."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


# --- text hygiene shared by every value ---------------------------------------------------

# Cc: control characters (a newline would smuggle in another line); Zl/Zp: line and paragraph
# separators some editors break lines at; Cs: lone surrogates, which cannot be written as UTF-8.
_BAD_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def printable(text: str) -> bool:
    return not any(unicodedata.category(c) in _BAD_CATEGORIES for c in text)


def unquote(text: str) -> str:
    """The value as meant: surrounding whitespace dropped, then one pair of double quotes."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def quote(text: str) -> str:
    """Text that `unquote` turns back into `text`: quoted only where quotes are needed."""
    if text != text.strip() or text.startswith('"') or text.endswith('"'):
        return f'"{text}"'
    return text


def number_text(x: float) -> str:
    """Shortest text for a number: 5 rather than 5.0, and repr's exact round trip otherwise."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _check_text(text: str) -> str:
    if not printable(text):
        raise Invalid("it contains a control character")
    return text


# --- scalar types ----------------------------------------------------------------------------

_INT = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


def integer(lo: int, hi: int, what: str = "a whole number") -> ValueType[int]:
    def parse(text: str) -> int:
        if not _INT.fullmatch(text) or not lo <= int(text) <= hi:
            raise Invalid("")
        return int(text)

    return ValueType(f"{what} from {lo} to {hi}", parse, str)


def number(lo: float, hi: float, what: str = "a number") -> ValueType[float]:
    def parse(text: str) -> float:
        if not _FLOAT.fullmatch(text) or not lo <= float(text) <= hi:
            raise Invalid("")
        return float(text)

    return ValueType(f"{what} from {number_text(lo)} to {number_text(hi)}", parse, number_text)


def scaled(lo: int, hi: int, base: int, suffixes: str, what: str) -> ValueType[int]:
    """A whole quantity with optional suffixes, each `base` times the one before (4M, 800k)."""
    scale = {s.lower(): base ** (i + 1) for i, s in enumerate(suffixes)}
    pattern = re.compile(r"([0-9]{1,15}(?:\.[0-9]{1,9})?)\s*([a-z]?)(i?b)?", re.IGNORECASE)

    def parse(text: str) -> int:
        m = pattern.fullmatch(text)
        if not m or (m[2] and m[2].lower() not in scale) or (m[3] and base != 1024):
            raise Invalid("")
        value = Decimal(m[1]) * scale.get(m[2].lower(), 1)  # exact: 1.1M is 1100000
        if value != int(value) or not lo <= int(value) <= hi:
            raise Invalid("")
        return int(value)

    def fmt(value: int) -> str:
        for suffix in reversed(suffixes):
            if value and value % scale[suffix.lower()] == 0:
                return f"{value // scale[suffix.lower()]}{suffix}"
        return str(value)

    units = f"suffixes {', '.join(suffixes)} in powers of {base}"
    return ValueType(f"{what} from {fmt(lo)} to {fmt(hi)} ({units})", parse, fmt)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _parse_bool(text: str) -> bool:
    if text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    raise Invalid("")


boolean = ValueType[bool](
    "true or false (also yes/no, on/off, 1/0)", _parse_bool, lambda b: "true" if b else "false"
)


def text(max_len: int = 256, allowed: str = "") -> ValueType[str]:
    def parse(value: str) -> str:
        if len(value) > max_len:
            raise Invalid(f"it is {len(value)} characters long")
        return _check_text(value)

    return ValueType(allowed or f"any text up to {max_len} characters", parse, quote)


def pattern(regex: str, allowed: str, flags: int = 0) -> ValueType[str]:
    compiled = re.compile(regex, flags | re.ASCII)

    def parse(value: str) -> str:
        if not compiled.fullmatch(value):
            raise Invalid("")
        return value

    return ValueType(allowed, parse, quote)


def choice(options: Sequence[str]) -> ValueType[str]:
    def parse(value: str) -> str:
        if value.lower() not in options:
            raise Invalid(did_you_mean(value, options))
        return value.lower()

    return ValueType("one of " + ", ".join(options), parse, str)


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """'did you mean "x"?' for the closest option, compared ignoring case; "" if none is close."""
    lower = {o.lower(): o for o in options}
    close = difflib.get_close_matches(word.lower(), list(lower), n=1)
    return f'did you mean "{lower[close[0]]}"?' if close else ""


def _parse_path(value: str) -> Path:
    if not value.startswith("/"):
        raise Invalid("")
    return Path(_check_text(value))


path = ValueType[Path]("an absolute path (starting with /)", _parse_path, lambda p: quote(str(p)))


def optional(inner: ValueType[Any]) -> ValueType[Any]:
    """Empty text means None ("not set"); anything else is parsed by `inner`."""
    return ValueType(
        f"empty, or {inner.allowed}",
        lambda v: None if v == "" else inner.parse(v),
        lambda v: "" if v is None else inner.format(v),
    )


# --- structured types ------------------------------------------------------------------------


def size(lo: int, hi: int) -> ValueType[tuple[int, int]]:
    """WIDTHxHEIGHT in pixels; both even because the encoders work on 2x2 chroma blocks."""

    def parse(value: str) -> tuple[int, int]:
        m = re.fullmatch(r"([0-9]{1,5})\s*[xX×]\s*([0-9]{1,5})", value)
        if not m:
            raise Invalid("")
        w, h = int(m[1]), int(m[2])
        if w % 2 or h % 2 or not (lo <= w <= hi and lo <= h <= hi):
            raise Invalid("")
        return w, h

    return ValueType(
        f"WIDTHxHEIGHT in pixels, both even, each from {lo} to {hi}",
        parse,
        lambda wh: f"{wh[0]}x{wh[1]}",
    )


Polygon = tuple[tuple[float, float], ...]


def _parse_polygons(value: str) -> tuple[Polygon, ...]:
    polygons = []
    for n, part in enumerate((p for p in value.split(";") if p.strip()), 1):
        points = re.sub(r"\s*,\s*", ",", part.strip()).split()
        polygon = []
        for point in points:
            xy = point.split(",")
            if len(xy) != 2 or not all(_FLOAT.fullmatch(c) for c in xy):
                raise Invalid(f'polygon {n}: "{point}" is not x,y')
            x, y = float(xy[0]), float(xy[1])
            if not (0 <= x <= 100 and 0 <= y <= 100):
                raise Invalid(f'polygon {n}: "{point}" is outside 0 to 100')
            polygon.append((x, y))
        if len(polygon) < 3:
            raise Invalid(f"polygon {n} has {len(polygon)} points")
        polygons.append(tuple(polygon))
    return tuple(polygons)


polygons = ValueType[tuple[Polygon, ...]](
    'empty, or polygons separated by ";", each at least 3 points "x,y" separated by spaces, '
    "in percent of the frame from 0 to 100",
    _parse_polygons,
    lambda ps: "; ".join(" ".join(f"{number_text(x)},{number_text(y)}" for x, y in p) for p in ps),
)

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ADDRESS = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?|([^:\[\]]+)(?::([0-9]{1,5}))?")


def _parse_address(value: str, port_required: bool) -> HostPort:
    m = _ADDRESS.fullmatch(value)
    if not m:
        raise Invalid("")
    if m[1] is not None:
        ipaddress.IPv6Address(m[1])  # ValueError -> Invalid
    elif not _HOST.fullmatch(m[3]) or len(m[3]) > 253:
        raise Invalid("")
    port = m[2] or m[4]
    if (port is None and port_required) or (port is not None and not 1 <= int(port) <= 65535):
        raise Invalid("")
    return HostPort(m[1] if m[1] is not None else m[3], None if port is None else int(port))


def address(port_required: bool = True) -> ValueType[HostPort]:
    shape = "HOST:PORT" if port_required else "HOST or HOST:PORT"
    return ValueType(
        f"{shape} (a host name or IP address; IPv6 in brackets; port 1 to 65535)",
        lambda v: _parse_address(v, port_required),
        str,
    )


addresses = ValueType[tuple[HostPort, ...]](
    "empty, or HOST or HOST:PORT entries separated by commas",
    lambda v: tuple(_parse_address(a.strip(), False) for a in v.split(",") if a.strip()),
    lambda hs: ", ".join(map(str, hs)),
)


def source(scenes: Sequence[str]) -> ValueType[str]:
    """Where frames come from; a file's existence is checked by the source when it opens."""

    def parse(value: str) -> str:
        kind, sep, arg = value.partition(":")
        if value in ("picamera2", "synthetic") or (kind == "file" and arg):
            return _check_text(value)
        if kind in ("rtsp", "rtsps"):
            if not arg.startswith("//"):
                raise Invalid(f"{kind}: is followed by //, then the camera's address")
            if not urlsplit(value).hostname:
                raise Invalid("the URL names no host")
            return _check_text(value)
        if kind == "synthetic" and sep:
            if arg in scenes:
                return value
            raise Invalid(did_you_mean(arg, scenes))
        raise Invalid(did_you_mean(value, ["picamera2", "synthetic"]))

    return ValueType(
        f"picamera2, synthetic, synthetic:SCENE (SCENE one of {', '.join(scenes)}), file:PATH "
        "or rtsp://[USER:PASSWORD@]HOST[:PORT]/PATH (an RTSP camera's H.264)",
        parse,
        quote,
        without_password,
    )


def without_password(url: str) -> str:
    """A URL as shown in logs, on the page and by `config check`: its password masked (up to
    the last @ of the authority, as urlsplit reads it; an invalid URL too)."""
    return _PASSWORD.sub(r"\1:***@", url)


_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@]*):[^/]*@", re.IGNORECASE)


@functools.cache
def _known_zones() -> frozenset[str]:
    try:
        return frozenset(zoneinfo.available_timezones())
    except OSError:  # no readable tz database here: fall back to checking the shape only
        return frozenset()


def _parse_timezone(value: str) -> str:
    if value and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}", value):
        raise Invalid("")
    zones = _known_zones()
    if value and zones and value not in zones:
        raise Invalid(did_you_mean(value, sorted(zones)) or "it is not in the time zone database")
    return value


timezone = ValueType[str](
    "empty, or a time zone such as Europe/London, America/New_York or UTC",
    _parse_timezone,
    str,
)

country = ValueType[str](
    "empty, or a two-letter country code such as GB, US or DE",
    lambda t: pattern(r"|[A-Za-z]{2}", "").parse(t).upper(),
    str,
)

wifi_password = pattern(
    r"|[\x20-\x7e]{8,63}|[0-9A-Fa-f]{64}",
    "empty, or 8 to 63 printable ASCII characters (or 64 hexadecimal digits)",
)

_SSH_KEY = re.compile(
    r"(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)\s+[A-Za-z0-9+/]+={0,3}(?:\s+\S.*)?"
)


def _parse_keys(value: str) -> tuple[str, ...]:
    keys = tuple(" ".join(k.split()) for k in value.split(";") if k.strip())
    for n, key in enumerate(keys, 1):
        if not _SSH_KEY.fullmatch(key) or not printable(key):
            raise Invalid(f"key {n} does not look like a public key")
    return keys


ssh_keys = ValueType[tuple[str, ...]](
    'empty, or public keys ("ssh-ed25519 AAAA... comment") separated by ";"',
    _parse_keys,
    "; ".join,
)


def listed(pattern: str, allowed: str, bad: str, fold: bool = False) -> ValueType[tuple[str, ...]]:
    """A list separated by commas, each item matching `pattern` (lowercased first if `fold`);
    an item that does not is "<item> is <bad>"."""
    item_pattern = re.compile(pattern)

    def parse(value: str) -> tuple[str, ...]:
        items = tuple(i.strip().lower() if fold else i.strip() for i in value.split(",")
                      if i.strip())
        for item in items:
            if not item_pattern.fullmatch(item):
                raise Invalid(f"{item!r} is {bad}")
        return items

    return ValueType(allowed, parse, ", ".join)


interfaces = listed(
    r"[A-Za-z0-9_.@-]{1,15}",
    "empty, or interface names (eth0, wlan0) or IPv4 addresses separated by commas", "neither")
host_names = listed(r"[a-z0-9][a-z0-9.:-]{0,252}",
                    "empty, or host names or addresses separated by commas", "not one", fold=True)
