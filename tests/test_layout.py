"""Tests mirror the library path for path: ``tests/<pkg>/<sub>/test_<module>.py`` tests ``<pkg>/<sub>/<module>.py``.

* Every ``tests/**/test_*.py`` names an existing library module (``test_main.py`` names ``__main__.py``), unless
  it is one of the cross-cutting files in `ALLOWED`, each with its reason.
* Every library module with more than `MIN_LINES` lines (``__init__.py`` and ``__main__.py`` aside) has its test
  file, or is listed in `MISSING_TESTS`. That set may only shrink: a listed module that gains a test file, or that
  no longer exists, fails until it is taken off the list; a new module without tests fails until it has them.
* Test basenames are unique: the test folders have no ``__init__.py`` and pytest's default (prepend) import mode
  imports each test file under its bare name, so two ``test_base.py`` in different folders would clash.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
PACKAGES = ("models", "probes", "steering", "experiments")
MIN_LINES = 30

ALLOWED: dict[str, str] = {
    "tests/test_layout.py": "checks this layout itself",
    "tests/test_import_graph.py": "the layering of all four packages, checked on their source",
    "tests/fuzz/*": "property-based fuzzing across the file readers, CLIs, loader and interventions",
    "tests/notebooks/*": "runs every notebook in notebooks/ end to end",
    "tests/test_readme_tour.py": "executes the README's Python blocks in one process, so the tour cannot rot",
    "tests/experiments/test_experiments.py": "the shared entry shape, run folders and CLI of every experiment script",
    "tests/models/test_smollm2.py": "integration: the real SmolLM2-135M checkpoint in every backend (slow)",
    "tests/models/backends/test_backend_agreement.py": "compares the tl and nnsight backends with the hf reference",
    "tests/models/train/test_accelerate.py": "integration: two processes under `accelerate launch` (slow)",
}

# Library modules over MIN_LINES lines without a test file of their own. Only ever remove entries.
MISSING_TESTS: set[str] = {
    "experiments/agent_style.py",
    "experiments/steer_demo.py",
    "experiments/suppress_malicious.py",
    "experiments/train_internalized.py",
    "models/architecture.py",
    "models/backends/hf.py",
    "models/backends/nnsight.py",
    "models/backends/tl.py",
    "models/debate/arithmetic.py",
    "models/debate/malicious.py",
    "models/debate/personas.py",
    "models/debate/prompts.py",
    "models/debate/records.py",
    "models/errors.py",
    "models/manifest.py",
    "models/provenance.py",
    "models/tiny.py",
    "models/train/shipped.py",
    "probes/activations.py",
    "probes/analysis.py",
    "probes/batching.py",
    "probes/layers.py",
    "probes/linear.py",
    "probes/pca.py",
    "probes/subspaces.py",
}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _allowed(rel: str) -> bool:
    return any(rel == pattern or (pattern.endswith("/*") and rel.startswith(pattern[:-1])) for pattern in ALLOWED)


def _test_files() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def module_for(test_file: Path) -> Path:
    """The library module a test file mirrors: tests/a/b/test_m.py -> a/b/m.py (test_main.py -> __main__.py)."""
    parts = test_file.relative_to(TESTS).parts
    stem = test_file.stem.removeprefix("test_")
    name = "__main__" if stem == "main" else stem
    return ROOT.joinpath(*parts[:-1], f"{name}.py")


def mirror_test(module: Path) -> Path:
    """The test file that mirrors a library module."""
    parts = module.relative_to(ROOT).parts
    stem = "main" if module.stem == "__main__" else module.stem
    return TESTS.joinpath(*parts[:-1], f"test_{stem}.py")


def _library_modules() -> list[Path]:
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name in ("__init__.py", "__main__.py") or "__pycache__" in path.parts:
                continue
            if len(path.read_text(encoding="utf-8").splitlines()) > MIN_LINES:
                modules.append(path)
    return modules


def test_every_test_file_mirrors_a_library_module():
    orphans = [f"{_rel(f)} (expected {_rel(module_for(f))})" for f in _test_files()
               if not _allowed(_rel(f)) and not module_for(f).is_file()]
    assert not orphans, "test files that mirror no library module (rename, split, or add to ALLOWED with a reason):\n" \
        + "\n".join(orphans)


def test_allow_list_entries_exist():
    stale = [p for p in ALLOWED if not (p.endswith("/*") and (ROOT / p[:-2]).is_dir()) and not (ROOT / p).is_file()]
    assert not stale, f"ALLOWED names files that no longer exist: {stale}"


def test_every_library_module_has_tests_or_is_listed_as_missing():
    modules = _library_modules()
    untested = {_rel(m) for m in modules if not mirror_test(m).is_file()}
    new = sorted(untested - MISSING_TESTS)
    assert not new, "library modules without a test file (add tests/<path>/test_<module>.py):\n" + "\n".join(new)
    covered = sorted(MISSING_TESTS - untested)
    assert not covered, ("MISSING_TESTS lists modules that now have a test file or are gone or short; remove them:\n"
                         + "\n".join(covered))


def test_test_basenames_are_unique():
    counts = Counter(f.name for f in _test_files())
    assert not [name for name, n in counts.items() if n > 1], \
        f"duplicate test basenames clash under pytest's prepend import mode: {[n for n, c in counts.items() if c > 1]}"


def test_the_mapping_round_trips():
    """The checks above are only as good as the mapping: a wrong one would pass everything or nothing."""
    assert module_for(TESTS / "steering" / "test_apply.py") == ROOT / "steering" / "apply.py"
    assert module_for(TESTS / "models" / "train" / "test_main.py") == ROOT / "models" / "train" / "__main__.py"
    assert mirror_test(ROOT / "models" / "debate" / "readers.py") == TESTS / "models" / "debate" / "test_readers.py"
    assert _allowed("tests/fuzz/test_fuzz_cli.py") and not _allowed("tests/fuzzy/test_x.py")
    assert all(mirror_test(module_for(f)) == f for f in _test_files())
    assert (ROOT / "models" / "load.py") in _library_modules()
    assert not any(m.name == "__init__.py" for m in _library_modules())


def test_shipped_assets_stay_small():
    """Checkpoints and adapters ship in the repository: together at most 60 MB (issue: a real pretrained model)."""
    assets = ROOT / "models" / "assets"
    total = sum(f.stat().st_size for f in assets.rglob("*") if f.is_file())
    assert total <= 60 * 2**20, f"models/assets holds {total / 2**20:.1f} MB"
    for folder in (assets / "adapters").glob("smollm2-*"):
        assert not any(f.name.startswith("tokenizer") for f in folder.iterdir()), f"{folder}: tokenizer is shared"


MAX_SCRIPT_LINES = 150  # an experiment script is config, call, write: its logic lives in the library


def test_experiment_scripts_read_in_one_sitting():
    long = {p.name: n for p in sorted((ROOT / "experiments").glob("*.py"))
            if not p.name.startswith("_") and (n := len(p.read_text().splitlines())) > MAX_SCRIPT_LINES}
    assert not long, f"experiment scripts over {MAX_SCRIPT_LINES} lines (move the logic into the library): {long}"
