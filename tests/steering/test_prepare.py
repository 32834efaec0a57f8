"""steering.prepare: stamping, fit checks, residual scaling, adoption and checked vector files."""

from dataclasses import replace

import pytest
import torch

from probes.directions import Direction
from steering import SteeringError, adopt, check_fits, scale_to_residual, stamp
from steering.prepare import load_vector, save_vector


def test_direction_round_trips_through_files(tmp_path, direction, fake_model):
    d = stamp(direction, fake_model())
    d.save(tmp_path / "vec")
    again = Direction.load(tmp_path / "vec.json")
    assert torch.equal(again.vector, d.vector) and again.site == direction.site and again.params["n_layers"] == 4


def test_mismatched_vectors_are_rejected(tiny_hf, direction):
    site = direction.site
    with pytest.raises(SteeringError, match="width 64 .* d_model 128"):
        check_fits(Direction(torch.ones(64), site), tiny_hf)
    with pytest.raises(SteeringError, match="n_layers=30"):
        check_fits(Direction(torch.ones(128), site, params={"n_layers": 30}), tiny_hf)
    with pytest.raises(SteeringError, match="vocab_size=49152"):
        check_fits(Direction(torch.ones(128), site, params={"vocab_size": 49152}), tiny_hf)
    with pytest.raises(KeyError, match="valid layers are 0..3"):
        check_fits(Direction(torch.ones(128), "blocks.9.hook_resid_post"), tiny_hf)


def test_scale_to_residual_sets_the_norm_from_the_activations():
    d = Direction(torch.tensor([3.0, 4.0, 0.0]), "blocks.0.hook_resid_post")
    acts = torch.tensor([[10.0, 0.0, 0.0], [0.0, 30.0, 0.0]])  # mean norm 20
    scaled = scale_to_residual(d, acts, fraction=0.1)
    assert torch.allclose(scaled.vector, torch.tensor([1.2, 1.6, 0.0]))  # unit (0.6, 0.8) x 2
    assert scaled.params["mean_residual_norm"] == pytest.approx(20.0) and scaled.cosine(d) == pytest.approx(1.0)
    with pytest.raises(SteeringError, match=r"activations must be \[n, 3\]"):
        scale_to_residual(d, torch.zeros(2, 4))


def test_adopt_lets_a_fine_tune_vector_steer_its_base(tiny_hf):
    d = stamp(Direction(torch.ones(tiny_hf.info.d_model), "blocks.0.hook_resid_post"), tiny_hf)
    from_sft = replace(d, params={**d.params, "vocab_size": tiny_hf.info.vocab_size + 10}, model="sft")
    with pytest.raises(SteeringError, match="vocab_size"):
        check_fits(from_sft, tiny_hf)
    adopted = adopt(from_sft, tiny_hf)
    assert check_fits(adopted, tiny_hf) == "blocks.0.hook_resid_post"
    assert adopted.params["adopted_from"]["vocab_size"] == tiny_hf.info.vocab_size + 10
    wrong = replace(d, params={**d.params, "n_layers": tiny_hf.info.n_layers + 1})
    with pytest.raises(SteeringError, match="cannot be adopted"):
        adopt(wrong, tiny_hf)


# ----------------------------------------------------------------- vector files: refused with the file named
def test_vector_file_round_trips_and_fits(tmp_path, direction, fake_model):
    path = save_vector(direction, tmp_path / "v")
    again = load_vector(path, fake_model())
    assert torch.equal(again.vector, direction.vector) and again.site == direction.site


def test_bad_vector_files_are_steering_errors_naming_the_file(tmp_path, direction, fake_model):
    from models.files import write_tensors

    with pytest.raises(SteeringError, match=r"v\.safetensors: refusing to save tensor 'vector' with NaN"):
        save_vector(Direction(torch.full((128,), float("nan")), direction.site), tmp_path / "v")
    assert list(tmp_path.iterdir()) == []
    path = save_vector(direction, tmp_path / "v")
    with pytest.raises(SteeringError, match=r"v\.json: direction .test. has width 128 .* d_model 64"):
        load_vector(path, fake_model(d_model=64))
    write_tensors(tmp_path / "v.safetensors", {"vector": torch.full((128,), float("inf"))})
    with pytest.raises(SteeringError, match=r"v\.safetensors: tensor 'vector' holds NaN or infinite values"):
        load_vector(path)
    (tmp_path / "v.safetensors").write_bytes(b"\x00" * 3)
    with pytest.raises(SteeringError, match=r"v\.safetensors: direction tensor file is truncated"):
        load_vector(tmp_path / "v")


def test_check_fits_refuses_a_nan_vector(direction, fake_model):
    v = direction.vector.clone()
    v[3] = float("nan")
    with pytest.raises(SteeringError, match="holds NaN or infinite values"):
        check_fits(Direction(v, direction.site, label="bad"), fake_model())
