"""What one setting of smartcam.conf is (`Setting`), how a section declares its settings
(`setting()` on a dataclass field), and how the table is read back out of a section's class
(`settings_of`). The sections themselves are in schema.py."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from smartcam.config import values as v


@dataclass(frozen=True)
class Setting:
    section: str
    name: str
    help: str
    type: v.ValueType[Any]
    secret: bool
    default_doc: str | None  # shown in the docs instead of a default computed on this machine
    example: str | None  # shown in smartcam.conf.example when default_doc is set
    _default: Any

    def default(self) -> Any:
        return self._default() if callable(self._default) else self._default

    def default_text(self) -> str:
        return self.default_doc or self.type.format(self.default())

    def json_value(self, value: Any) -> Any:
        """A value as JSON carries it: numbers and booleans as they are, the rest as written."""
        return value if isinstance(value, bool | int | float) else self.type.format(value)


def setting(
    default: Any,
    help: str,
    vtype: v.ValueType[Any],
    *,
    secret: bool = False,
    default_doc: str | None = None,
    example: str | None = None,
) -> Any:
    """A dataclass field carrying its table row in metadata; a callable default is computed."""
    meta = {"setting": (help, vtype, secret, default_doc, example)}
    if callable(default):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


class Section:
    """Common behaviour of the section classes below."""

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


def settings_of(section: str, cls: type[Section]) -> dict[str, Setting]:
    out = {}
    for f in fields(cls):  # type: ignore[arg-type]
        help_, vtype, secret, default_doc, example = f.metadata["setting"]
        default = f.default_factory if f.default is MISSING else f.default
        out[f.name] = Setting(section, f.name, help_, vtype, secret, default_doc, example, default)
    return out
