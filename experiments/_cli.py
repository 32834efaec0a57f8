"""One argparse parser from a config dataclass: every field becomes a ``--flag`` with its help text.

Fields carry ``metadata={"help": ..., "choices": [...]}``; the dataclass's own ``__post_init__``
checks values, so a bad flag is reported by name before any model loads.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

C = TypeVar("C")


def _scalar(tp: Any) -> Any:
    """The concrete type argparse should convert to (``int | None`` -> int, ``list[float]`` -> float)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return _scalar(args[0]) if args else str
    if origin in (typing.Union, types.UnionType):
        return _scalar(args[0])
    return tp if tp in (int, float, str) else str


def parse_config(cls: type[C], argv: list[str] | None = None, description: str | None = None) -> C:
    """Parse `argv` into an instance of the dataclass `cls`; ValueError from it becomes a usage error."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        flag = "--" + f.name.replace("_", "-")
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        tp = hints[f.name]
        help_text = f.metadata.get("help", "")
        if tp is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
            continue
        shown = help_text if "default" in help_text else f"{help_text} (default: {default})"
        kw: dict[str, Any] = {"type": _scalar(tp), "default": default, "help": shown}
        if typing.get_origin(tp) in (list, tuple):
            kw["nargs"] = "+"
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        parser.add_argument(flag, **kw)
    values = vars(parser.parse_args(argv))
    try:
        return cls(**values)
    except ValueError as err:
        parser.error(str(err))
        raise  # unreachable: parser.error exits
