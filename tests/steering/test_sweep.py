"""steering.sweep: one batched alpha sweep equals separate steered runs."""

from steering import alpha_sweep, steer
from tests.conftest import PROMPTS


def test_alpha_sweep_batches_equal_separate_runs(tiny_hf, direction):
    rows = alpha_sweep(tiny_hf, direction, PROMPTS[:2], alphas=[-4.0, 0.0, 4.0], max_new_tokens=6, batch_size=4,
                       progress=False)
    assert [(r.alpha, r.prompt_index) for r in rows] == [(a, i) for a in (-4.0, 0.0, 4.0) for i in (0, 1)]
    for r in rows:
        with steer(tiny_hf, direction, alpha=r.alpha):
            assert tiny_hf.generate([PROMPTS[r.prompt_index]], max_new_tokens=6).texts[0] == r.text
