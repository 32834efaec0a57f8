"""`Direction` and `Subspace` files: saved, loaded, and every defect named (the leaf value types of `probes`)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from models.files import write_tensors
from probes.directions import agent_directions
from probes.vectors import Direction, DirectionError, Subspace
from tests.probes._data import planted_set

SITE = "blocks.0.hook_resid_post"


def _saved(tmp_path, name="d"):
    d = Direction(torch.arange(1.0, 5.0), SITE, label="x", params={"n_layers": 4})
    d.save(tmp_path / name)
    return tmp_path / f"{name}.json", tmp_path / f"{name}.safetensors"


def _edit(sidecar, **changes):
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, **changes}))


def test_direction_records_its_read_position_through_save_and_load(tmp_path):
    d = Direction(torch.arange(1.0, 5.0), SITE, read_position="turn_last")
    sidecar = d.save(tmp_path / "d")
    assert json.loads(sidecar.read_text())["read_position"] == "turn_last"
    assert Direction.load(sidecar).read_position == "turn_last"
    sub = Subspace(torch.eye(4)[:2], SITE, read_position="agent_tag")
    loaded = Subspace.load(sub.save(tmp_path / "s"))
    assert loaded.read_position == "agent_tag" and loaded.direction(1).read_position == "agent_tag"
    acts, _ = planted_set(n_per_agent=20)
    derived = agent_directions(acts, SITE)["agent1"]
    assert Direction.load(derived.save(tmp_path / "a1")).read_position == acts.read_position == "turn_mean"


def test_sidecar_without_a_read_position_loads_with_an_empty_one(tmp_path):
    sidecar, _ = _saved(tmp_path)
    meta = json.loads(sidecar.read_text())
    assert meta["read_position"] == ""  # the default: unknown
    del meta["read_position"]
    sidecar.write_text(json.dumps({**meta, "positions": "last"}))  # as written before the field was renamed
    loaded = Direction.load(sidecar)
    assert loaded.read_position == "" and torch.equal(loaded.vector, torch.arange(1.0, 5.0))
    _edit(sidecar, read_position=3)
    with pytest.raises(DirectionError, match="field 'read_position' is 3, expected a string"):
        Direction.load(sidecar)


def test_saved_direction_records_its_checks(tmp_path):
    sidecar, _ = _saved(tmp_path)
    meta = json.loads(sidecar.read_text())
    assert meta["layer"] == 0 and meta["d_model"] == 4 and math.isclose(meta["norm"], math.sqrt(30), rel_tol=1e-6)
    assert torch.equal(Direction.load(sidecar).vector, torch.arange(1.0, 5.0))


@pytest.mark.parametrize("changes, message", [
    ({"d_model": "4"}, "field 'd_model' is '4', expected an integer"),
    ({"d_model": 5}, "field 'd_model' says 5 but the tensor has width 4"),
    ({"layer": 0.0}, "field 'layer' is 0.0, expected an integer"),
    ({"layer": 3}, "field 'layer' is 3 but field 'site' is 'blocks.0.hook_resid_post'"),
    ({"norm": "big"}, "field 'norm' is 'big', expected an integer or a number"),
    ({"norm": -1.0}, "field 'norm' is -1.0, not a finite non-negative length"),
    ({"norm": 2.0}, "field 'norm' says 2 but the vector has norm 5.47723"),
    ({"normalized": "no"}, "field 'normalized' is 'no', expected true/false"),
    ({"site": None}, "field 'site' is None, expected a string"),
    ({"params": []}, "field 'params' is [], expected an object"),
    ({"format": "latent-agents-subspace/1"}, "field 'format' is 'latent-agents-subspace/1'"),
])
def test_bad_sidecar_fields_are_named(tmp_path, changes, message):
    sidecar, _ = _saved(tmp_path)
    _edit(sidecar, **changes)
    with pytest.raises(DirectionError) as info:
        Direction.load(sidecar)
    assert str(info.value).startswith(str(sidecar)) and message in str(info.value)


def test_nan_sidecar_number_is_named(tmp_path):
    sidecar, _ = _saved(tmp_path)
    sidecar.write_text(sidecar.read_text().replace('"norm": ', '"norm": NaN, "was": '))
    with pytest.raises(DirectionError, match=r"d\.json: JSON holds NaN"):
        Direction.load(sidecar)


@pytest.mark.parametrize("damage, message", [
    (lambda j, t: t.write_bytes(t.read_bytes()[:-3]), r"d\.safetensors: direction tensor file is truncated"),
    (lambda j, t: t.write_bytes(b"garbage!" * 3), r"d\.safetensors: direction tensor file is truncated or corrupt"),
    (lambda j, t: t.unlink(), r"d\.safetensors: direction tensor file does not exist"),
    (lambda j, t: j.unlink(), r"d\.json: direction sidecar \(\.json\) does not exist"),
    (lambda j, t: j.write_text('{"site": '), r"d\.json: not valid JSON"),
    (lambda j, t: j.write_text('["site"]'), r"d\.json: direction sidecar \(\.json\) must hold a JSON object"),
    (lambda j, t: write_tensors(t, {"vector": torch.tensor([1.0, float("nan"), 0.0, 0.0])}),
     r"d\.safetensors: tensor 'vector' holds NaN or infinite values"),
    (lambda j, t: write_tensors(t, {"vector": torch.tensor([4.0, 3.0, 2.0, 1.0])}),
     r"d\.json field 'sha256' does not match d\.safetensors"),
    (lambda j, t: write_tensors(t, {"basis": torch.ones(1, 4)}), r"d\.safetensors has no tensor named 'vector'"),
])
def test_broken_direction_files_are_named(tmp_path, damage, message):
    sidecar, tensors = _saved(tmp_path)
    damage(sidecar, tensors)
    with pytest.raises(DirectionError, match=message):
        Direction.load(sidecar)


def test_a_matrix_is_not_a_direction(tmp_path):
    sidecar, tensors = _saved(tmp_path)
    write_tensors(tensors, {"vector": torch.ones(2, 2)})
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({k: v for k, v in meta.items() if k not in ("sha256", "norm")}))
    with pytest.raises(DirectionError, match=r"d\.safetensors tensor 'vector' has shape \(2, 2\)"):
        Direction.load(sidecar)


def test_non_finite_vectors_are_not_saved(tmp_path):
    _saved(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = Direction(torch.tensor([1.0, float("inf"), 0.0, 0.0]), SITE)
    with pytest.raises(DirectionError, match=r"d\.safetensors: refusing to save tensor 'vector' with NaN"):
        bad.save(tmp_path / "d")
    with pytest.raises(DirectionError, match=r"d\.json: refusing to save a non-finite number"):
        Direction(torch.ones(4), SITE, params={"scale": float("nan")}).save(tmp_path / "d")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_interrupted_save_keeps_the_old_pair(tmp_path, monkeypatch):
    import safetensors.torch

    sidecar, tensors = _saved(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def crash(payload, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x10\x00")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        Direction(torch.ones(4), SITE).save(tmp_path / "d")
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temp file, old pair whole
    assert torch.equal(Direction.load(sidecar).vector, torch.arange(1.0, 5.0))


def test_half_replaced_pair_is_refused(tmp_path, monkeypatch):
    """A crash between the two renames leaves new tensors beside the old sidecar: the hash catches it."""
    import models.files

    sidecar, _ = _saved(tmp_path)

    def crash(*a, **k):
        raise OSError("killed")

    monkeypatch.setattr(models.files.Path, "write_text", crash)
    with pytest.raises(OSError, match="killed"):
        Direction(torch.ones(4) * 2, SITE).save(tmp_path / "d")
    monkeypatch.undo()
    with pytest.raises(DirectionError, match="from different saves"):
        Direction.load(sidecar)


def test_subspace_files_are_checked(tmp_path):
    path = Subspace(torch.eye(4)[:2], SITE, explained_variance=(0.5, 0.25)).save(tmp_path / "s")
    assert Subspace.load(path).k == 2
    _edit(path, k=3)
    with pytest.raises(DirectionError, match=r"s\.json field 'k' says 3 but the basis has 2 rows"):
        Subspace.load(path)
    _edit(path, k=2, explained_variance=[0.5, "x"])
    with pytest.raises(DirectionError, match="field 'explained_variance' must be finite numbers"):
        Subspace.load(path)
