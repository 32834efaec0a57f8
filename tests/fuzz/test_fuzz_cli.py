"""Fuzz the command lines: malformed flags and config files must each end in a `ConfigError` naming the flag or file.

Inputs are drawn with ``random.Random(0)`` from every field of the trainer configs and of every
experiment's config (wrong types, negatives, huge values, bad choices, unknown flags), plus config
files (type-mismatched values, nested junk, bad JSON/TOML, BOM, non-UTF-8, FIFO, folder, deep nesting).
Parsing and validation run in-process; only two real subprocess calls are made (a wrong model name
and an out-of-range layer for ``experiments/steer_demo.py``).

How outcomes count (see ``outcomes.Tally``):

* ``named``: `parse_config` raised a `ConfigError` (or another `ModelsError`).
* argparse usage errors never exit here: `models.cli`'s parser turns them into a `ConfigError`
  naming the flag, so they count as ``named``. A bare ``SystemExit`` escaping `parse_config` is itself
  a failure: `_no_exit` re-raises it as a RuntimeError, which the tally counts as ``foreign``.
* ``refused`` (declared with ``accept_ok``): the CLI wrapper `models.cli.run` or a real subprocess
  returned, and the check inside verified the refusal: the right exit status and stderr that is
  exactly one ``error:`` line; a wrong status or extra lines raise AssertionError (``foreign``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import subprocess
import sys
import typing
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest
from tests.fuzz.outcomes import Tally

from models.cli import _hints, _is_dataclass_type, _unwrap_optional, parse_config, run
from models.errors import CheckpointError, ConfigError
from models.train.config import GRPOStageConfig, PipelineConfig, PretrainConfig, SFTStageConfig

ROOT = Path(__file__).resolve().parents[2]


def _experiment_configs() -> list[type]:
    from experiments.agent_style import StyleConfig
    from experiments.agent_subspaces import Config
    from experiments.evaluate_internalization import EvalConfig
    from experiments.steer_demo import DemoConfig
    from experiments.suppress_malicious import SuppressConfig

    return [StyleConfig, Config, EvalConfig, DemoConfig, SuppressConfig]


def _no_exit(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Our parser must raise, never exit: an escaping SystemExit becomes a RuntimeError (counted as foreign)."""
    def call() -> Any:
        try:
            return fn()
        except SystemExit as e:
            raise RuntimeError(f"parse_config exited with {e.code!r} instead of raising ConfigError") from None
    return call


# --------------------------------------------------------------------------- bad values per field

def _leaves(cls: type, prefix: str = "") -> Iterator[tuple[str, Any, typing.Mapping[str, Any]]]:
    """(dotted name, type, metadata) of every non-dataclass field, recursing into nested configs."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if _is_dataclass_type(hints[f.name]):
            yield from _leaves(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hints[f.name], f.metadata


def _range_breakers(meta: typing.Mapping[str, Any], integral: bool) -> list[Any]:
    out: list[Any] = []
    if "min" in meta:
        out.append(meta["min"] - 1 if integral else meta["min"] - 0.5)
    if "gt" in meta:
        out.append(meta["gt"])
    if "max" in meta:
        out.append(meta["max"] + 1 if integral else meta["max"] * 2 + 1)
    return out


def bad_flag_texts(tp: Any, meta: typing.Mapping[str, Any]) -> list[str]:
    """Flag texts that no value of this field accepts."""
    base, _ = _unwrap_optional(tp)
    origin = typing.get_origin(base)
    if base is int:
        return ["1.5", "abc", "", "1e30", "nan", "-99999999999999", *map(str, _range_breakers(meta, True))]
    if base is float:
        return ["nan", "inf", "-inf", "x", "", *map(str, _range_breakers(meta, False))]
    if origin is typing.Literal or "choices" in meta:
        allowed = typing.get_args(base) if origin is typing.Literal else tuple(meta["choices"])
        return ["zzz-not-a-choice", *([""] if "" not in allowed else [])]  # '' can be a real choice
    if base is str and meta.get("min_len"):
        return [""]
    return []


def bad_file_values(tp: Any, meta: typing.Mapping[str, Any]) -> list[Any]:
    """JSON/TOML values that no value of this field accepts."""
    base, optional = _unwrap_optional(tp)
    origin = typing.get_origin(base)
    nulls = [] if optional else [None]
    junk = [{"nested": [1, {"junk": None}]}, [[["deep"]]]]
    if base is bool:
        return ["true", 1, 0, [True], *nulls, *junk]
    if base is int:
        return [1.5, "3", True, [1], 10**30, -(10**30), *nulls, *junk, *_range_breakers(meta, True)]
    if base is float:
        return ["0.1", False, [0.1], *nulls, *junk, *_range_breakers(meta, False)]
    if base is str or origin is typing.Literal:
        extra = ["zzz-not-a-choice"] if origin is typing.Literal or "choices" in meta else []
        extra += [""] if meta.get("min_len") else []
        return [3, 1.5, True, [], *nulls, *junk, *extra]
    if origin in (list, tuple):
        return ["a string", 5, {"a": 1}, [None], [[1]], *nulls]
    return []


# --------------------------------------------------------------------------- argv cases

def argv_cases(rng: random.Random) -> list[tuple[str, type, list[str]]]:
    classes = [SFTStageConfig, GRPOStageConfig, PretrainConfig, PipelineConfig, *_experiment_configs()]
    cases: list[tuple[str, type, list[str]]] = []
    for cls in classes:
        fields = list(_leaves(cls))
        pool = [(name, text) for name, tp, meta in fields for text in bad_flag_texts(tp, meta)]
        for name, text in rng.sample(pool, min(len(pool), 14)):
            flag = "--" + name.replace("_", "-")
            cases.append((f"{cls.__name__} {flag} {text!r}", cls, [flag, text]))
        name, tp, _ = rng.choice([f for f in fields if f[1] is not bool])  # a bool flag rightly takes no value
        flag = "--" + name.replace("_", "-")
        cases.append((f"{cls.__name__} {flag} without a value", cls, [flag]))
        cases.append((f"{cls.__name__} abbreviated {flag[:-2]}", cls, [flag[:-2], "1"]))
        junk = "--" + "".join(rng.choice("abcxyz-_.") for _ in range(rng.randint(3, 12)))
        cases.append((f"{cls.__name__} unknown flag {junk}", cls, [junk, "1"]))
        cases.append((f"{cls.__name__} positional junk", cls, ["surprise"]))
        bools = [n for n, tp, _ in fields if tp is bool]
        if bools:
            flag = "--" + rng.choice(bools).replace("_", "-")
            cases.append((f"{cls.__name__} {flag}=maybe", cls, [f"{flag}=maybe"]))
    cases += [
        ("GRPO batch not divisible by num_generations", GRPOStageConfig,
         ["--batch-size", "3", "--grad-accum", "1", "--num-generations", "4"]),
        ("GRPO clip_end > clip_start", GRPOStageConfig, ["--clip-start", "10", "--clip-end", "20"]),
        ("pretrain d_model not divisible by n_heads", PretrainConfig, ["--d-model", "130"]),
        ("pretrain block_size > n_ctx", PretrainConfig, ["--block-size", "4096", "--n-ctx", "2048"]),
        ("SFT max_steps 0", SFTStageConfig, ["--max-steps", "0"]),
        ("pipeline empty variants", PipelineConfig, ["--variants"]),
        ("pipeline bad variant", PipelineConfig, ["--variants", "arithmetic", "pirates"]),
    ]
    return cases


# --------------------------------------------------------------------------- config-file cases

def _write(path: Path, data: Any) -> Path:
    if path.suffix == ".toml":
        path.write_text(_toml(data))
    else:
        path.write_text(json.dumps(data))
    return path


def _toml(data: dict[str, Any]) -> str:
    """A tiny TOML writer for top-level fuzz values (scalars, lists, inline tables); None is refused (TOML has no null)."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float, str)):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(f"no TOML spelling for {v!r}")
    return "".join(f"{k} = {value(v)}\n" for k, v in data.items())


def file_cases(rng: random.Random, tmp: Path) -> list[tuple[str, type, Path]]:
    tmp.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, type, Path]] = []
    classes = [SFTStageConfig, GRPOStageConfig, PipelineConfig, *_experiment_configs()]
    n = 0
    for cls in classes:
        pool = [(name, v) for name, tp, meta in _leaves(cls) for v in bad_file_values(tp, meta)]
        for name, bad in rng.sample(pool, 9):
            *parents, leaf = name.split(".")
            data: Any = {leaf: bad}
            for p in reversed(parents):
                data = {p: data}
            suffix = ".toml" if bad is not None and rng.random() < 0.4 and not parents else ".json"
            try:
                path = _write(tmp / f"f{n}{suffix}", data)
            except (TypeError, ValueError):
                path = _write(tmp / f"f{n}.json", data)
            n += 1
            cases.append((f"{cls.__name__} file {path.name}: {name} = {bad!r}", cls, path))
    valid = json.dumps({"lr": 0.001, "seed": 3, "target_modules": ["q_proj"]})
    raw: list[tuple[str, bytes]] = [
        ("truncated.json", valid[: rng.randint(1, len(valid) - 2)].encode()),
        ("trailing-comma.json", b'{"seed": 1,}'),
        ("nan.json", b'{"lr": NaN}'),
        ("bom-broken.json", b"\xef\xbb\xbf{\"seed\": }"),
        ("latin1.json", '{"name": "caf\u00e9"}'.encode("latin-1")),
        ("empty.json", b""),
        ("array.json", b"[1, 2, 3]"),
        ("string.json", b'"seed"'),
        ("deep.json", b"[" * 5000 + b"]" * 5000),
        ("deep-object.json", ('{"a":' * 300 + "1" + "}" * 300).encode()),
        ("unknown.json", b'{"no_such_field": 1}'),
        ("nested-unknown.json", b'{"name": {"deeper": {"deepest": [1, 2]}}}'),
        ("syntax.toml", b"seed = = 1"),
        ("datetime.toml", b"name = 1979-05-27T07:32:00Z"),
        ("deep.toml", b"a = " + b"[" * 3000 + b"]" * 3000),
        ("inf.toml", b"lr = inf"),
        ("nan.toml", b"lr = nan"),
        ("bom-broken.toml", b"\xef\xbb\xbfseed = 'x"),
        ("yaml.yaml", b"seed: 1"),
        ("noext", b'{"seed": 1}'),
    ]
    for name, blob in raw:
        path = tmp / name
        path.write_bytes(blob)
        cases.append((f"file {name}", SFTStageConfig, path))
    (tmp / "folder.json").mkdir()
    cases.append(("a folder as --config", SFTStageConfig, tmp / "folder.json"))
    cases.append(("a missing --config", SFTStageConfig, tmp / "missing.toml"))
    os.mkfifo(tmp / "fifo.json")
    cases.append(("a FIFO as --config", SFTStageConfig, tmp / "fifo.json"))
    return cases


# --------------------------------------------------------------------------- the CLI wrapper

def _one_error_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("error: ") and len(err.strip()) > len("error: ")


def _via_run(cls: type, argv: list[str], main: Callable[[Any], Any] = lambda cfg: cfg, status: int = 2) -> None:
    """`run` must return `status` and print exactly one ``error:`` line; anything else raises AssertionError."""
    err = io.StringIO()
    with redirect_stderr(err):
        code = run(main, cls, argv, prog="fuzz")
    assert code == status and _one_error_line(err.getvalue()), (code, err.getvalue())


def _subprocess_checks(tmp: Path) -> list[tuple[str, subprocess.Popen, str]]:
    """Start the two real CLI calls at once (each imports torch; the cores are shared)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
           "PYTHONWARNINGS": "ignore"}
    script = str(ROOT / "experiments" / "steer_demo.py")
    calls = [("wrong model name", ["--model", "no-such-model"], "known names"),
             ("out-of-range layer", ["--model", "tiny-base", "--layer", "99"], "valid layers are")]
    return [(label, subprocess.Popen([sys.executable, script, *argv, "--out", str(tmp / "results")], cwd=tmp, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), expected)
            for label, argv, expected in calls]


def _refused_in_one_line(code: int, err: str, expected: str) -> None:
    assert code == 1 and _one_error_line(err) and expected in err, (code, err)


# --------------------------------------------------------------------------- the test

def test_fuzz_cli(tmp_path: Path) -> None:
    rng = random.Random(0)
    procs = _subprocess_checks(tmp_path)  # run while the in-process cases go
    tally = Tally("cli", seconds=20)

    argv = argv_cases(rng)
    for label, cls, args in argv:
        tally.check(label, _no_exit(lambda cls=cls, args=args: parse_config(cls, args, "fuzz", "")))
    files = file_cases(rng, tmp_path / "files")
    for label, cls, path in files:
        tally.check(label, _no_exit(lambda cls=cls, path=path: parse_config(cls, ["--config", str(path)], "fuzz", "")))

    # the same refusals through the entry wrapper: exit 2, one line
    for label, cls, args in rng.sample(argv, 12):
        tally.check(f"run(): {label}", lambda cls=cls, args=args: _via_run(cls, args), accept_ok=True)
    for label, cls, path in rng.sample(files, 6):
        tally.check(f"run(): {label}", lambda cls=cls, path=path: _via_run(cls, ["--config", str(path)]),
                    accept_ok=True)

    def missing_checkpoint(cfg: Any) -> None:
        raise CheckpointError("unknown checkpoint 'x'; known names: a, b")

    def interrupted(cfg: Any) -> None:
        raise KeyboardInterrupt

    tally.check("run(): a ModelsError from main exits 1",
                lambda: _via_run(SFTStageConfig, [], missing_checkpoint, status=1), accept_ok=True)
    tally.check("run(): Ctrl-C exits 130", lambda: _via_run(SFTStageConfig, [], interrupted, status=130), accept_ok=True)
    tally.check("run(): --debug re-raises the ConfigError",
                lambda: run(lambda cfg: cfg, SFTStageConfig, ["--seed", "x", "--debug"], prog="fuzz"))

    for label, proc, expected in procs:
        _, err = proc.communicate(timeout=600)  # outside the tally's time limit: importing torch takes a while
        tally.check(f"subprocess steer_demo: {label}",
                    lambda code=proc.returncode, err=err, expected=expected: _refused_in_one_line(code, err, expected),
                    accept_ok=True)

    assert sum(tally.counts.values()) >= 150
    tally.assert_clean()


def test_valid_inputs_still_parse(tmp_path: Path) -> None:
    """The fuzz's refusals are not blanket refusals: the same machinery accepts good flags and files."""
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"lr": 0.25, "seed": 4.0}).encode())
    cfg = parse_config(SFTStageConfig, ["--config", str(bom), "--max-steps", "-1", "--n", "0"], "fuzz", "")
    assert (cfg.lr, cfg.seed, cfg.max_steps, cfg.n) == (0.25, 4, -1, 0)
    nested = tmp_path / "p.toml"
    nested.write_text('variants = ["evil"]\n[sft]\nlr = 0.5\n')
    p = parse_config(PipelineConfig, ["--config", str(nested), "--grpo.iterations", "2"], "fuzz", "")
    assert (p.variants, p.sft.lr, p.grpo.iterations) == (("evil",), 0.5, 2)


def test_unexpected_errors_keep_their_traceback() -> None:
    """A non-toolkit exception is a bug: the wrapper lets it through instead of printing one line."""
    def broken(cfg: Any) -> None:
        raise ZeroDivisionError("bug")

    with pytest.raises(ZeroDivisionError):
        run(broken, SFTStageConfig, [], prog="fuzz")
    with pytest.raises(ConfigError):
        run(lambda cfg: cfg, SFTStageConfig, ["--seed", "x", "--debug"], prog="fuzz")
