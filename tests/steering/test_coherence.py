"""steering.coherence: the degeneracy detector and response-only perplexity."""

import math

import pytest
import torch

from steering import degeneracy, response_perplexity


@pytest.mark.parametrize(
    "text, degenerate",
    [("The capital of France is Paris, a city on the Seine.", False),
     ("no no no no no no no no no no no", True),
     ("I will win. I will win. I will win. I will win. I will win. I will win.", True),
     ("", True),
     ("1. 1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1", True),  # SmolLM2 under a system line
     ("abababababababababababababababababababababababababababababab", True),
     ("| a | b |\n|---|---|\n| 1 | 2 |, and 3.14159 is pi; 10,000,000 is ten million.", False)],
)
def test_degeneracy_detector(text, degenerate):
    assert degeneracy(text).degenerate is degenerate


def test_perplexity_scores_only_the_response(tiny_hf):
    ppl = response_perplexity(tiny_hf, ["12+34 =", "the agent"], ["46", ""])
    assert ppl[0] > 1 and math.isnan(ppl[1])
    # by hand: mean NLL of the response tokens given the prompt
    tok = tiny_hf.tokenizer
    p, r = tok("12+34 =")["input_ids"], tok("46", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p + r])
    logp = torch.log_softmax(tiny_hf.forward(ids)[0, :-1], -1)
    nll = -torch.stack([logp[len(p) - 1 + k, t] for k, t in enumerate(r)]).mean()
    assert ppl[0] == pytest.approx(math.exp(nll.item()), rel=1e-4)
