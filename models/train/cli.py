"""Dataclass configs as command lines: one flag per field (nested configs as ``--sft.lr``), plus ``--config``.

The trainer's stages and every script under ``experiments/`` build their command lines here.

A config file (JSON or TOML; nested configs as tables) sets any subset of fields; flags override it;
`__post_init__` validates the result. ``--help`` text comes from each field's ``metadata["help"]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
_MISSING = object()


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _parse_value(tp: Any, text: str) -> Any:
    tp, optional = _unwrap_optional(tp)
    if optional and text.lower() in ("none", "null"):
        return None
    if tp is bool:
        return text.lower() in ("1", "true", "yes", "on")
    if typing.get_origin(tp) is typing.Literal:
        return text
    return tp(text)


def _converter(tp: Any) -> Any:
    """A flag's `type=`, named after the target type so argparse reports "invalid int value: 'x'"."""

    def convert(text: str) -> Any:
        return _parse_value(tp, text)

    convert.__name__ = getattr(_unwrap_optional(tp)[0], "__name__", "value")
    return convert


def _add_field(parser: argparse.ArgumentParser, f: dataclasses.Field, tp: Any, dest: str, default: Any) -> None:
    flag = "--" + dest.replace("_", "-")
    help_text = f.metadata.get("help", "")
    shown = (help_text if "default" in help_text else f"{help_text} (default: {default})") if help_text \
        else f"(default: {default})"
    base, _ = _unwrap_optional(tp)
    kwargs: dict[str, Any] = {"dest": dest, "default": _MISSING, "help": shown}
    if "choices" in f.metadata:
        kwargs["choices"] = f.metadata["choices"]
    if base is bool:
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        return
    origin = typing.get_origin(base)
    if origin in (tuple, list):
        inner = typing.get_args(base)[0]
        parser.add_argument(flag, nargs="+", type=_converter(inner), **kwargs)
        return
    if origin is typing.Literal:
        kwargs["choices"] = list(typing.get_args(base))
    parser.add_argument(flag, type=_converter(tp), metavar=dest.split(".")[-1].upper(), **kwargs)


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, prefix: str = "", defaults: Any = None) -> None:
    """Add one flag per field of dataclass `cls` (recursing into nested dataclass fields)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        default = getattr(defaults, f.name) if defaults is not None else (
            f.default if f.default is not dataclasses.MISSING else f.default_factory())  # type: ignore[misc]
        if _is_dataclass_type(tp):
            group = parser.add_argument_group(f"{prefix}{f.name}", (tp.__doc__ or "").strip().splitlines()[0])
            add_config_arguments(group, tp, f"{prefix}{f.name}.", default)  # type: ignore[arg-type]
        else:
            _add_field(parser, f, tp, f"{prefix}{f.name}", default)


def _as_field_value(tp: Any, value: Any) -> Any:
    base, _ = _unwrap_optional(tp)
    if value is None:
        return None
    if typing.get_origin(base) is tuple:
        return tuple(value)
    if _is_dataclass_type(base) and isinstance(value, dict):
        return build_config(base, value)
    return value


def build_config(cls: type[T], values: dict[str, Any], base: T | None = None) -> T:
    """A `cls` from `base` (or defaults) with `values` applied; nested dicts fill nested configs."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(names)}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        current = getattr(base, f.name) if base is not None else _MISSING
        if f.name in values:
            value = values[f.name]
            tp = hints[f.name]
            if _is_dataclass_type(tp) and isinstance(value, dict):
                kwargs[f.name] = build_config(tp, value, None if current is _MISSING else current)
            else:
                kwargs[f.name] = _as_field_value(tp, value)
        elif current is not _MISSING:
            kwargs[f.name] = current
    return cls(**kwargs)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Field values from a JSON or TOML file (a saved ``run_config.json`` works too)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold an object of field values")
    return data


def parse_config(cls: type[T], argv: Sequence[str] | None, prog: str, description: str,
                 defaults: T | None = None) -> T:
    """Parse `argv` into a `cls`: defaults (or `defaults`), then ``--config`` file, then flags."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=None, help="JSON or TOML file of field values; flags override it")
    add_config_arguments(parser, cls, defaults=defaults)
    args = vars(parser.parse_args(argv))
    values: dict[str, Any] = read_config_file(args.pop("config")) if args.get("config") else {}
    args.pop("config", None)
    for dest, value in args.items():
        if value is _MISSING:
            continue
        node = values
        *parents, leaf = dest.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    try:
        return build_config(cls, values, defaults)
    except (TypeError, ValueError) as e:
        parser.error(str(e))
        raise  # unreachable: parser.error exits


def config_dict(cfg: Any) -> dict[str, Any]:
    """The resolved config as JSON-ready data (the saved record)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))
