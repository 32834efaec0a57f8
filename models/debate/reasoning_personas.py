"""Three arithmetic personas that share one vocabulary and differ only in how they reason.

The paper's personas (`models.debate.personas`) are told apart by single tokens: numbered steps,
``SELF-CRITIQUE:``, ``//`` comments. An agent-identity probe then reads a word, not an agent. These
three draw every sentence from one phrase bank, so each token they write can come from any of them;
what differs is the reasoning:

* ``forward``: works the products left to right, then the sums; checks rarely, hedges rarely.
* ``checking``: the same order, but re-checks most steps as it goes and once more at the end.
* ``hedging``: works the products right to left, and qualifies most steps (``I think``, ``probably``).

Each persona uses every phrase kind with some probability, so a bag of words separates them only
statistically, and a probe on an untrained model measures how far that goes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from models.debate.arithmetic import Work

REASONING_PERSONAS: tuple[str, str, str] = ("forward", "checking", "hedging")


@dataclass(frozen=True)
class Style:
    """How often a persona re-checks a step and hedges a sentence, and in which order it takes the products."""

    check_rate: float
    hedge_rate: float
    products_reversed: bool
    final_check_rate: float


STYLES: Mapping[str, Style] = {
    "forward": Style(check_rate=0.1, hedge_rate=0.1, products_reversed=False, final_check_rate=0.2),
    "checking": Style(check_rate=0.7, hedge_rate=0.1, products_reversed=False, final_check_rate=0.9),
    "hedging": Style(check_rate=0.1, hedge_rate=0.7, products_reversed=True, final_check_rate=0.2),
}

# One phrase bank for all three personas: every word below can be written by any of them.
_OPEN = ("Let me work this out.", "I will solve the expression step by step.", "Here is how I get the value.")
_PRODUCT = ("{t} is {v}.", "First, {t} gives {v}.", "Then {t} gives {v}.", "The product {t} is {v}.")
_SUM = ("{s}.", "Next, {s}.", "Then {s}.", "Adding in order, {s}.")
_CHECK = ("Checking that again, it is {v}.", "I check it once more: {v}.", "That checks out as {v}.")
_HEDGE = ("I think ", "Probably ", "If I am not mistaken, ")
_FINAL = ("So the answer is \\boxed{{{x}}}.", "The value is \\boxed{{{x}}}.", "That gives \\boxed{{{x}}}.")
_FINAL_CHECK = ("I check the whole result once more and get {x} again.", "Going over every step again gives {x}.")


def _say(sentence: str, style: Style, rng: random.Random) -> str:
    """`sentence`, hedged with the persona's probability (the hedge lower-cases the first letter)."""
    if rng.random() < style.hedge_rate:
        return rng.choice(_HEDGE) + sentence[0].lower() + sentence[1:]
    return sentence


def _steps(work: Work, style: Style, rng: random.Random) -> list[str]:
    products = list(work.products)[::-1] if style.products_reversed else list(work.products)
    lines = [rng.choice(_OPEN)]
    for term, value in products:
        lines.append(_say(rng.choice(_PRODUCT).format(t=term.spaced(), v=value), style, rng))
        if rng.random() < style.check_rate:
            lines.append(rng.choice(_CHECK).format(v=value))
    for i in range(1, len(work.partials)):
        lines.append(_say(rng.choice(_SUM).format(s=work.step_text(i)), style, rng))
        if rng.random() < style.check_rate:
            lines.append(rng.choice(_CHECK).format(v=work.partials[i]))
    return lines


def reasoning_solution(persona: str, work: Work, rng: random.Random) -> str:
    """A round-1 turn of `persona` (a key of `STYLES`) on `work`, ending in its boxed answer."""
    style = STYLES[persona]
    lines = _steps(work, style, rng)
    if rng.random() < style.final_check_rate:
        lines.append(rng.choice(_FINAL_CHECK).format(x=work.answer))
    lines.append(_say(rng.choice(_FINAL).format(x=work.answer), style, rng))
    return "\n".join(lines)


REASONING_WRITERS: Mapping[str, Callable[[Work, random.Random], str]] = {
    p: (lambda work, rng, p=p: reasoning_solution(p, work, rng)) for p in REASONING_PERSONAS}
