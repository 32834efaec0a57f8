"""Arithmetic problems in the paper's template, worked out with optional slips.

A `Tier` fixes the expression template and the number range: the paper's tier is
``a+b*c+d-e*f`` over two-digit numbers; smaller tiers let a tiny model learn the task in minutes.
`work_out` evaluates a problem step by step (products first, then left to right) and can inject
one `Slip` (a wrong product or a wrong running sum) that propagates consistently to the answer,
so every rendered solution is internally coherent even when it is wrong.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Literal

SlipKind = Literal["wrong_product", "wrong_sum"]
SLIP_KINDS: tuple[SlipKind, ...] = ("wrong_product", "wrong_sum")
_TEMPLATE_RE = re.compile(r"[a-z](\*[a-z])*([+-][a-z](\*[a-z])*)*")


@dataclass(frozen=True)
class Tier:
    """Expression template (letters are numbers drawn from ``[low, high]``; operators ``+ - *``)."""

    name: str
    template: str
    low: int
    high: int

    def __post_init__(self) -> None:
        if not _TEMPLATE_RE.fullmatch(self.template):
            raise ValueError(
                f"template {self.template!r} must be letters joined by + - * with no spaces, e.g. 'a+b*c+d-e*f'"
            )
        if not 0 <= self.low <= self.high:
            raise ValueError(f"number range must satisfy 0 <= low <= high, got low={self.low} high={self.high}")


TIERS: dict[str, Tier] = {
    "easy": Tier("easy", "a+b*c-d", 1, 9),
    "medium": Tier("medium", "a+b*c+d-e*f", 1, 9),
    "paper": Tier("paper", "a+b*c+d-e*f", 10, 99),
}
"""Named tiers. ``paper`` is the paper's setting (six two-digit numbers)."""


@dataclass(frozen=True)
class Term:
    """One additive term: a sign and one number or a product of numbers."""

    sign: int
    factors: tuple[int, ...]

    @property
    def is_product(self) -> bool:
        return len(self.factors) > 1

    def spaced(self) -> str:
        return " * ".join(str(f) for f in self.factors)


@dataclass(frozen=True)
class Problem:
    terms: tuple[Term, ...]

    @property
    def question(self) -> str:
        """Compact form used as the question, e.g. ``91+24*13+45-41*38``."""
        return self._join("", "*")

    @property
    def spaced(self) -> str:
        """Readable form, e.g. ``91 + 24 * 13 + 45 - 41 * 38``."""
        return self._join(" ", " * ")

    def _join(self, pad: str, times: str) -> str:
        out = ""
        for i, t in enumerate(self.terms):
            body = times.join(str(f) for f in t.factors)
            out += body if i == 0 else f"{pad}{'+' if t.sign > 0 else '-'}{pad}{body}"
        return out

    @property
    def answer(self) -> int:
        return sum(t.sign * math.prod(t.factors) for t in self.terms)


def sample_problem(rng: random.Random, tier: Tier) -> Problem:
    """Draw one problem of `tier`; every letter gets an independent number."""
    terms = []
    for i, chunk in enumerate(re.findall(r"[+-]?[a-z](?:\*[a-z])*", tier.template)):
        sign = -1 if chunk.startswith("-") else 1
        n_factors = chunk.count("*") + 1
        terms.append(Term(sign, tuple(rng.randint(tier.low, tier.high) for _ in range(n_factors))))
    return Problem(tuple(terms))


@dataclass(frozen=True)
class Slip:
    """One mistake: `index` is the product number (0-based, among product terms) for a wrong
    product, or the combining step (1-based: step i adds term i) for a wrong sum."""

    kind: SlipKind
    index: int
    delta: int


@dataclass(frozen=True)
class Work:
    """A worked solution: every product, every running total and the answer, as written."""

    problem: Problem
    products: tuple[tuple[Term, int], ...]  # (term, value as written) for each product term
    values: tuple[int, ...]  # unsigned value of each term as used in the sum
    partials: tuple[int, ...]  # running total after each term; partials[-1] is the answer
    slip: Slip | None

    @property
    def answer(self) -> int:
        return self.partials[-1]

    @property
    def correct(self) -> bool:
        return self.answer == self.problem.answer

    def substituted(self) -> str:
        """The expression with products replaced by their values, e.g. ``91 + 312 + 45 - 1558``."""
        return Problem(tuple(Term(t.sign, (v,)) for t, v in zip(self.problem.terms, self.values))).spaced

    def remaining(self, step: int) -> str:
        """The expression after `step` combining steps, e.g. ``403 + 45 - 1558`` after step 1."""
        rest = [Term(1 if self.partials[step] >= 0 else -1, (abs(self.partials[step]),))]
        rest += [Term(t.sign, (v,)) for t, v in zip(self.problem.terms[step + 1:], self.values[step + 1:])]
        text = Problem(tuple(rest)).spaced
        return text if self.partials[step] >= 0 else "-" + text

    def step_text(self, step: int) -> str:
        """Combining step `step` (>= 1) as written, e.g. ``403 + 45 = 448``."""
        term = self.problem.terms[step]
        return f"{self.partials[step - 1]} {'+' if term.sign > 0 else '-'} {self.values[step]} = {self.partials[step]}"


def work_out(problem: Problem, slip: Slip | None = None) -> Work:
    """Evaluate products first, then combine left to right, applying `slip` if given."""
    products: list[tuple[Term, int]] = []
    values: list[int] = []
    for term in problem.terms:
        value = math.prod(term.factors)
        if term.is_product:
            if slip is not None and slip.kind == "wrong_product" and slip.index == len(products):
                value += slip.delta
            products.append((term, value))
        values.append(value)
    partials = [problem.terms[0].sign * values[0]]
    for step in range(1, len(values)):
        total = partials[-1] + problem.terms[step].sign * values[step]
        if slip is not None and slip.kind == "wrong_sum" and slip.index == step:
            total += slip.delta
        partials.append(total)
    return Work(problem, tuple(products), tuple(values), tuple(partials), slip)


def sample_slip(rng: random.Random, problem: Problem) -> Slip:
    """A random slip that changes the answer: off by 1 or 2, or by a place value of a large number."""
    n_products = sum(t.is_product for t in problem.terms)
    kinds = [k for k in SLIP_KINDS if (k == "wrong_product" and n_products) or
             (k == "wrong_sum" and len(problem.terms) > 1)]
    if not kinds:
        raise ValueError(f"problem {problem.question} has nothing to get wrong (one plain number)")
    kind = rng.choice(kinds)
    index = rng.randrange(n_products) if kind == "wrong_product" else rng.randint(1, len(problem.terms) - 1)
    if kind == "wrong_product":
        value = math.prod([t for t in problem.terms if t.is_product][index].factors)
    else:
        value = work_out(problem).partials[index]
    # Slips scale with the number: off by one or two anywhere, by a place value only in big numbers.
    sizes = [d for d in (1, 2, 10, 100) if d <= 2 or d * 10 <= abs(value)]
    delta = rng.choice(sizes) * rng.choice((1, -1))
    if kind == "wrong_product" and value + delta < 0:  # a written product stays non-negative
        delta = abs(delta)
    return Slip(kind, index, delta)


def describe_slip(work: Work) -> str:
    """One sentence naming the slip in `work` and the right value, e.g. ``41 * 38 is 1558, not 1568``."""
    slip = work.slip
    if slip is None:
        return ""
    right = work_out(work.problem)
    if slip.kind == "wrong_product":
        term, wrong = work.products[slip.index]
        return f"{term.spaced()} is {right.products[slip.index][1]}, not {wrong}"
    term, value = work.problem.terms[slip.index], work.values[slip.index]
    before = work.partials[slip.index - 1]
    op = "+" if term.sign > 0 else "-"
    return f"{before} {op} {value} is {before + term.sign * value}, not {work.partials[slip.index]}"


# --------------------------------------------------------------------------- scoring

def normalize_answer(answer: str | None) -> str | None:
    """Canonical form for voting and scoring: no spaces, no thousands commas, no ``$``, no trailing dot."""
    if answer is None:
        return None
    text = answer.strip().replace(" ", "").replace("$", "").rstrip(".")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    return text or None


def is_correct(answer: str | None, gold: str) -> bool:
    """Whether a boxed answer matches the gold answer once both are normalised; the one capability score.

    Every scorer (trainer evaluation, GRPO reward, steering capability) uses this, so ``\\boxed{1,234}``
    or ``\\boxed{12.}`` count the same everywhere. A missing answer is never correct.
    """
    return answer is not None and normalize_answer(answer) == normalize_answer(gold)
