"""Dataclass configs as command lines and config files, every value checked once where it enters.

Every script (``python -m models.train``, ``experiments/*.py``) builds its command line here: one flag
per dataclass field (nested configs as ``--sft.lr``), ``--config FILE`` (JSON or TOML; nested configs
as tables) for any subset of fields, flags overriding the file, ``--help`` from each field's
``metadata["help"]``, and `run`, the entry wrapper that turns the toolkit's errors into one line.

We keep this hand-written builder instead of tyro or simple_parsing (neither is installed: a new
dependency for every user) or pydantic (installed only as a transitive dependency, and it coerces the
string "3" into an int in files, where we want a refusal): it is small, gives ``--help`` from field
metadata, nested flags, JSON/TOML config files with the path named in every error, and the strict
rules below in one place.

Values, from a flag, a config file or Python code alike (`check_fields` runs in each config's
``__post_init__``; `check_values` runs on flags and files, naming the flag or the file):

* ``bool``: true or false only (flags ``--x`` / ``--no-x``); ``"yes"`` or ``1`` in a file is refused.
* ``int``: an integer, never a bool. A float with an integral value (``2.0``) is taken as that integer,
  since JSON and TOML writers may print 2 as 2.0; ``1.5`` is refused. Without a declared ``max`` the
  magnitude is capped at `INT_LIMIT` (a larger count is a typo, not a plan).
* ``float``: an integer or float, finite (NaN and infinities are refused).
* ``str``: a string; ``Literal[...]``: one of the listed values; ``X | None``: also ``null`` in a file
  or ``none`` / ``null`` as flag text.
* ``list[X]`` / ``tuple[X, ...]``: a list whose every item passes X; nested dataclass: a table of its fields.

Ranges are declared next to each field in its metadata: ``min`` / ``max`` (inclusive), ``gt`` / ``lt``
(exclusive bounds), ``choices``, ``min_len`` (strings and lists; list items get the other keys).
Rules across fields live in ``__post_init__``. Every refusal is a `ConfigError` naming the flag or
field, the value, what was expected and, for files, the path.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import json
import math
import sys
import tomllib
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from models.errors import ConfigError, FileFormatError, ModelsError
from models.files import parse_json, read_text

T = TypeVar("T")
_MISSING = object()
INT_LIMIT = 10**9
FLAG = "flag"  # the `source` of values that came from the command line
RESERVED = ("config", "debug")  # parser-level flags; no config field may take these names


# --------------------------------------------------------------------------- declaring fields

def option(help: str, default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING,
           **limits: Any) -> Any:
    """A config field with its ``--help`` text and range (``min``, ``max``, ``gt``, ``lt``, ``choices``, ``min_len``)."""
    unknown = set(limits) - {"min", "max", "gt", "lt", "choices", "min_len"}
    if unknown:
        raise TypeError(f"option(): unknown range key(s) {sorted(unknown)}")
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"help": help, **limits})


# --------------------------------------------------------------------------- types

def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """(X, True) for ``X | None``; (tp, False) otherwise."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(tp: Any) -> str:
    """What a value of type `tp` must be, for error messages."""
    base, optional = _unwrap_optional(tp)
    origin = typing.get_origin(base)
    if base is bool:
        text = "true or false"
    elif base is int:
        text = "an integer"
    elif base is float:
        text = "a number"
    elif base is str:
        text = "a string"
    elif origin is typing.Literal:
        text = "one of " + ", ".join(repr(c) for c in typing.get_args(base))
    elif origin in (list, tuple):
        text = f"a list whose items are each {_describe(typing.get_args(base)[0])}"
    elif _is_dataclass_type(base):
        text = f"a table of {base.__name__} fields"
    else:
        text = getattr(base, "__name__", str(base))
    return f"{text} or null" if optional else text


class _Bad(Exception):
    """One refused value: what it should be, and the offending value (an item's, inside a list)."""

    def __init__(self, problem: str, value: Any):
        super().__init__(problem)
        self.problem, self.value = problem, value


def _range(value: Any, meta: typing.Mapping[str, Any]) -> None:
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise _Bad("must be one of " + ", ".join(repr(c) for c in choices), value)
    if isinstance(value, (int, float)):
        if "gt" in meta and not value > meta["gt"]:
            raise _Bad(f"must be > {meta['gt']}", value)
        if "lt" in meta and not value < meta["lt"]:
            raise _Bad(f"must be < {meta['lt']}", value)
        if "min" in meta and value < meta["min"]:
            raise _Bad(f"must be >= {meta['min']}", value)
        if "max" in meta and value > meta["max"]:
            raise _Bad(f"must be <= {meta['max']}", value)


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad("must be an integer", value)
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise _Bad("must be an integer", value)
        value = int(value)
    return value


def _check(tp: Any, value: Any, meta: typing.Mapping[str, Any]) -> Any:
    """`value` as the field type `tp` wants it (tuple for tuple fields, int for 2.0), or `_Bad`."""
    base, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise _Bad(f"must be {_describe(base)}, not null", value)
    origin = typing.get_origin(base)
    if base is bool:
        if not isinstance(value, bool):
            raise _Bad("must be true or false", value)
    elif base is int:
        value = _as_int(value)
        if "max" not in meta and value > INT_LIMIT:
            raise _Bad(f"must be <= {INT_LIMIT}", value)
        if "min" not in meta and "gt" not in meta and value < -INT_LIMIT:
            raise _Bad(f"must be >= {-INT_LIMIT}", value)
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _Bad("must be a finite number", value)
        value = float(value)
    elif base is str:
        if not isinstance(value, str):
            raise _Bad("must be a string", value)
    elif origin is typing.Literal:
        choices = typing.get_args(base)
        if not any(value == c and type(value) is type(c) for c in choices):
            raise _Bad("must be one of " + ", ".join(repr(c) for c in choices), value)
    elif origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Bad(f"must be {_describe(base)}", value)
        inner = typing.get_args(base)[0]
        items = []
        for i, item in enumerate(value):
            try:
                items.append(_check(inner, item, {k: v for k, v in meta.items() if k != "min_len"}))
            except _Bad as e:
                raise _Bad(f"item {i} {e.problem}", e.value) from None
        if len(items) < meta.get("min_len", 0):
            raise _Bad(f"must hold at least {meta['min_len']} item(s)", value)
        return tuple(items) if origin is tuple else items
    elif _is_dataclass_type(base):
        if not isinstance(value, base):
            raise _Bad(f"must be {_describe(base)}", value)
        return value
    else:
        return value
    if isinstance(value, str) and len(value) < meta.get("min_len", 0):
        raise _Bad("must not be empty", value)
    _range(value, meta)
    return value


def _refusal(name: str, e: _Bad, where: str) -> ConfigError:
    return ConfigError(f"{name} {e.problem}, got {e.value!r}{where}")


def _name(parts: Sequence[str], source: str) -> str:
    dotted = ".".join(parts)
    return "--" + dotted.replace("_", "-") if source == FLAG else dotted


def _where(source: str) -> str:
    return "" if source == FLAG else f" (in {source})"


def check_fields(obj: Any) -> None:
    """Check (and normalise, e.g. list -> tuple) every field of a config instance; call from ``__post_init__``."""
    cls = type(obj)
    hints = _hints(cls)
    for f in dataclasses.fields(obj):
        try:
            value = _check(hints[f.name], getattr(obj, f.name), f.metadata)
        except _Bad as e:
            raise _refusal(f.name, e, f" ({cls.__name__})") from None
        object.__setattr__(obj, f.name, value)


def check_values(cls: type, values: typing.Mapping[str, Any], source: str, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check a dict of field values for `cls` (nested dicts for nested configs); `source` is `FLAG` or a file path."""
    if not isinstance(values, typing.Mapping):
        raise ConfigError(f"{_name(prefix, source) or cls.__name__} must be a table of {cls.__name__} fields, "
                          f"got {values!r}{_where(source)}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields), key=str)
    if unknown:
        where = f" {'.'.join(prefix)}" if prefix else ""
        raise ConfigError(f"unknown {cls.__name__} field(s){where} {unknown}{_where(source)}; known: {sorted(fields)}")
    checked: dict[str, Any] = {}
    for key, value in values.items():
        tp, path = hints[key], (*prefix, key)
        if _is_dataclass_type(tp):
            checked[key] = check_values(tp, value, source, path)
            continue
        try:
            checked[key] = _check(tp, value, fields[key].metadata)
        except _Bad as e:
            raise _refusal(_name(path, source), e, _where(source)) from None
    return checked


def build_config(cls: type[T], values: typing.Mapping[str, Any], base: T | None = None, *,
                 source: str | None = "config values") -> T:
    """A `cls` from `base` (or the defaults) with `values` applied; nested dicts fill nested configs.

    `values` are checked first (naming `source`) unless ``source=None`` says they already were.
    """
    if source is not None:
        values = check_values(cls, values, source)
    kwargs: dict[str, Any] = {}
    hints = _hints(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        current = getattr(base, f.name) if base is not None else _MISSING
        if f.name in values:
            value = values[f.name]
            if _is_dataclass_type(hints[f.name]) and isinstance(value, dict):
                if current is _MISSING and f.default_factory is not dataclasses.MISSING:
                    current = f.default_factory()  # a nested flag edits the field's default, not the bare class's
                value = build_config(hints[f.name], value, None if current is _MISSING else current, source=None)
            kwargs[f.name] = value
        elif current is not _MISSING:
            kwargs[f.name] = current
    try:
        return cls(**kwargs)
    except ModelsError:
        raise
    except (TypeError, ValueError) as e:  # a config's own cross-field check that predates ConfigError
        raise ConfigError(str(e)) from None


# --------------------------------------------------------------------------- files

def read_config_file(path: str | Path) -> dict[str, Any]:
    """Field values from a ``.json`` or ``.toml`` file (a saved ``run_config.json`` works too); errors name the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigError(f"--config {path}: expected a .json or .toml file")
    try:
        text = read_text(path, "config file")
        if suffix == ".json":
            data = parse_json(text, path)
        else:
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                raise FileFormatError(f"{path}: not valid TOML: {e}") from None
            except RecursionError:
                raise FileFormatError(f"{path}: TOML is nested too deeply to read") from None
    except FileFormatError as e:
        raise ConfigError(f"--config {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: must hold an object (table) of field values, found {type(data).__name__}")
    return data


def config_dict(cfg: Any) -> dict[str, Any]:
    """The resolved config as JSON-ready data (the saved record, itself a valid ``--config`` file)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))


# --------------------------------------------------------------------------- flags

class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are `ConfigError`s (one line, exit 2 under `run`), not exits."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments"):
            known = [o for a in self._actions for o in a.option_strings]
            unknown = [w for w in message.split(":", 1)[1].split() if w.startswith("--")]
            hints = [m for w in unknown for m in difflib.get_close_matches(w.split("=")[0], known, n=1)]
            if hints:
                message += f" (did you mean {', '.join(hints)}?)"
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def _from_text(tp: Any, text: str) -> Any:
    """A flag's text as a Python value of `tp`'s kind; ranges and integrality are checked later with the file values."""
    base, optional = _unwrap_optional(tp)
    if optional and text.lower() in ("none", "null"):
        return None
    try:
        if base is int:
            try:
                return int(text)
            except ValueError:
                return float(text)  # "2.0" is 2; "1.5" is refused by the check, naming the flag
        if base is float:
            return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {_describe(tp)}, got {text!r}") from None
    return text


def _converter(tp: Any) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        return _from_text(tp, text)

    convert.__name__ = getattr(_unwrap_optional(tp)[0], "__name__", "value")
    return convert


def _add_field(parser: Any, f: dataclasses.Field, tp: Any, dest: str, default: Any, hidden: bool = False) -> None:
    flag = "--" + dest.replace("_", "-")
    help_text = f.metadata.get("help", "")
    notes = [] if "default" in help_text else [f"default: {default}"]
    signs = {"gt": ">", "min": ">=", "max": "<=", "lt": "<"}
    notes += [f"{signs[key]} {f.metadata[key]}" for key in signs if key in f.metadata]
    shown = f"{help_text} ({'; '.join(notes)})" if notes else help_text
    base, optional = _unwrap_optional(tp)
    kwargs: dict[str, Any] = {"dest": dest, "default": _MISSING,
                              "help": argparse.SUPPRESS if hidden else shown.replace("%", "%%").replace("%%%%", "%%")}
    if "choices" in f.metadata:
        kwargs["choices"] = list(f.metadata["choices"])
    if base is bool:
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        return
    origin = typing.get_origin(base)
    if origin in (tuple, list):
        inner = typing.get_args(base)[0]
        if typing.get_origin(inner) is typing.Literal:
            kwargs["choices"] = list(typing.get_args(inner))
        parser.add_argument(flag, nargs="+", type=_converter(inner), **kwargs)
        return
    if origin is typing.Literal:
        kwargs["choices"] = list(typing.get_args(base)) + ([None] if optional else [])
    if "choices" not in kwargs:
        kwargs["metavar"] = dest.split(".")[-1].upper()
    parser.add_argument(flag, type=_converter(tp), **kwargs)


def add_config_arguments(parser: Any, cls: type, prefix: str = "", defaults: Any = None, full: bool = True) -> int:
    """Add one flag per field of dataclass `cls` (recursing into nested dataclass fields). With `full` False
    the nested fields' flags still parse but are left out of ``--help``; returns how many were left out."""
    hidden = 0
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if not prefix and f.name in RESERVED:
            raise TypeError(f"{cls.__name__}.{f.name}: field name clashes with the --{f.name} flag")
        tp = hints[f.name]
        default = getattr(defaults, f.name) if defaults is not None else (
            f.default if f.default is not dataclasses.MISSING else f.default_factory())  # type: ignore[misc]
        if _is_dataclass_type(tp):
            target = parser.add_argument_group(f"{prefix}{f.name}", (tp.__doc__ or "").strip().splitlines()[0]) \
                if full else parser
            hidden += add_config_arguments(target, tp, f"{prefix}{f.name}.", default, full)
        else:
            _add_field(parser, f, tp, f"{prefix}{f.name}", default, hidden=bool(prefix) and not full)
            hidden += bool(prefix) and not full
    return hidden


def build_parser(cls: type, prog: str, description: str, defaults: Any = None, full: bool = False
                 ) -> argparse.ArgumentParser:
    """The flags of `cls`. ``--help`` lists the top-level ones; the nested configs' flags (``--sft.lr``, ...)
    parse either way and are listed by ``--help-all`` (`full`), so a short help stays short."""
    parser = _Parser(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
                     allow_abbrev=False)
    parser.add_argument("--config", default=None, help="JSON or TOML file of field values; flags override it")
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback instead of one line")
    hidden = add_config_arguments(parser, cls, defaults=defaults, full=full)
    if hidden:
        groups = ", ".join(sorted("--" + f.name.replace("_", "-") + ".*" for f in dataclasses.fields(cls)
                                  if _is_dataclass_type(_hints(cls)[f.name])))
        parser.add_argument("--help-all", action="store_true",
                            help=f"show every option, with the {hidden} flags of the nested configs ({groups}), "
                                 "and exit")
    return parser


def _nest(flat: typing.Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for dest, value in flat.items():
        node = nested
        *parents, leaf = dest.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return nested


def _merge(under: dict[str, Any], over: typing.Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(under)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_config(cls: type[T], argv: Sequence[str] | None, prog: str, description: str,
                 defaults: T | None = None) -> T:
    """Parse `argv` into a `cls`: defaults (or `defaults`), then the ``--config`` file, then flags.

    Every refusal is a `ConfigError` (``--help`` still prints and exits 0).
    """
    if "--help-all" in (sys.argv[1:] if argv is None else argv):
        build_parser(cls, prog, description, defaults, full=True).print_help()
        raise SystemExit(0)
    args = vars(build_parser(cls, prog, description, defaults).parse_args(argv))
    path = args.pop("config")
    args.pop("debug")
    args.pop("help_all", None)
    values = check_values(cls, read_config_file(path), str(path)) if path else {}
    flags = check_values(cls, _nest({k: v for k, v in args.items() if v is not _MISSING}), FLAG)
    return build_config(cls, _merge(values, flags), defaults, source=None)


# --------------------------------------------------------------------------- entry points

def _say(message: str) -> None:
    print("error: " + " ".join(message.split()), file=sys.stderr)


def guarded(fn: Callable[[], Any], *, debug: bool = False) -> int:
    """Run `fn` as a command: the exit status, and one ``error:`` line on stderr for the toolkit's refusals.

    2 for a `ConfigError` (a flag, config file or field), 1 for any other `ModelsError`, 130 for Ctrl-C.
    Other exceptions are bugs and keep their traceback; with `debug` every error does.
    """
    try:
        fn()
    except KeyboardInterrupt:
        if debug:
            raise
        _say("interrupted")
        return 130
    except ModelsError as e:
        if debug:
            raise
        _say(str(e) or type(e).__name__)
        return 2 if isinstance(e, ConfigError) else 1
    return 0


def run(main: Callable[[T], Any], cls: type[T], argv: Sequence[str] | None = None, *, prog: str,
        description: str = "", defaults: T | None = None) -> int:
    """Parse the command line into a `cls` and call ``main(cfg)``, under `guarded`; returns the exit status.

    Scripts end with ``raise SystemExit(run(main, Config, prog=..., description=__doc__))``.
    """
    args = list(sys.argv[1:] if argv is None else argv)

    def go() -> Any:
        cfg = parse_config(cls, args, prog, description, defaults)
        if getattr(cfg, "progress", True) is False:
            quiet_libraries()
        return main(cfg)

    return guarded(go, debug="--debug" in args)


def quiet_libraries() -> None:
    """Silence the progress bars transformers, datasets and the hub draw on their own (weight loading,
    dataset maps), so ``--no-progress`` leaves no bar at all."""
    import importlib.util

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if importlib.util.find_spec("datasets") is not None:
        import datasets

        datasets.disable_progress_bars()
