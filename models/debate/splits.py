"""Which problems train and which evaluate: the held-out arithmetic set and debates drawn outside it.

`heldout_problems` is the evaluation set of every analysis (trainer evaluation, steering's
capability cost, experiments); the trainer drops its questions from every stage, so capability is
always measured on unseen problems. The generators here are what analysis code needs from the
training data too (persona debates away from the held-out set, malicious debates, and a trait's
test questions kept out of its training debates: `heldout_questions`), so `steering`,
`probes` and the experiments read them from the data package, not from the trainer.

Example:
    >>> test = heldout_problems("easy", n=200)
    >>> train = arithmetic_debates(500, "easy", seed=0, exclude=[p.question for p in test])
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from models.debate.arithmetic import TIERS, Problem, sample_problem
from models.debate.format import Transcript
from models.debate.generate import GenerateConfig, generate_debates
from models.debate.malicious import malicious_question
from models.vocab import DebateTrait
from models.errors import ModelsError


class TrainDataError(ModelsError, ValueError):
    """Training data that a stage cannot use; the message names the file, the row and the fix."""


def heldout_problems(tier: str = "easy", n: int = 500, seed: int = 0) -> list[Problem]:
    """The evaluation problems: `n` distinct problems of `tier`, never used for training."""
    rng = random.Random(f"heldout-{tier}-{seed}")
    seen: dict[str, Problem] = {}
    for _ in range(100 * n + 1000):
        p = sample_problem(rng, TIERS[tier])
        seen.setdefault(p.question, p)
        if len(seen) == n:
            break
    return list(seen.values())


def distinct_problems(tier: str) -> int:
    """How many different questions `tier` can produce (numbers in range ** letters in the template)."""
    t = TIERS[tier]
    return (t.high - t.low + 1) ** sum(c.isalpha() for c in t.template)


def arithmetic_debates(n: int, tier: str, seed: int, exclude: Iterable[str] = (),
                       error_rate: float = 0.3) -> list[Transcript]:
    """`n` persona debates on distinct questions of `tier`, none of them in `exclude`."""
    banned = set(exclude)
    # Ask for enough debates that `n` remain outside `exclude`, but never more than the tier holds.
    asked = min(n + len(banned), distinct_problems(tier) - 100)
    cfg = GenerateConfig(kind="arithmetic", n=asked, seed=seed, tier=tier, error_rate=(error_rate,) * 3,
                         test_fraction=0.0)
    debates, _ = generate_debates(cfg)
    kept = [t for t in debates if t.question not in banned][:n]
    if len(kept) < n:
        raise TrainDataError(f"tier {tier!r} gave only {len(kept)} debates outside the held-out set; asked for {n}")
    return kept


def malicious_debates(kind: DebateTrait, n: int, seed: int) -> list[Transcript]:
    """`n` synthetic debates in which Agent 2 is `kind` (evil or hallucination), all in one split."""
    debates, _ = generate_debates(GenerateConfig(kind=kind, n=n, seed=seed, test_fraction=0.0))
    return debates


def heldout_questions(trait: DebateTrait, n: int, seed: int, n_train: int) -> tuple[list[str], list[str]]:
    """(test, train) questions: test questions are drawn fresh and never appear among the training debates."""
    train = [d.question for d in malicious_debates(trait, n_train, seed=seed)]
    seen, test = set(train), []
    rng = random.Random(f"suppress-heldout-{trait}-{seed}")
    for _ in range(100 * n):
        question, _ = malicious_question(trait, rng)
        if question not in seen:
            seen.add(question)
            test.append(question)
        if len(test) == n:
            break
    return test, train
