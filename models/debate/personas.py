"""The three arithmetic personas of the paper's diverse debates, written from a `Work`.

* Agent 1, ``chain_of_thought``: numbered steps, states the order of operations first.
* Agent 2, ``self_critique``: one chain of equalities, then a ``SELF-CRITIQUE:`` section.
* Agent 3, ``program_of_thought``: variable assignments with ``//`` comments, then the box.

Each persona keeps a fixed skeleton (so a small model can learn who is speaking) but draws its
wording from many phrasings. All numbers come from the `Work`, so a slip shows up consistently.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Literal

from models.debate.arithmetic import Work, describe_slip
from models.vocab import ARITHMETIC_PERSONAS as ARITHMETIC_PERSONAS  # re-exported for experiments.agent_style

Decision = Literal["keep", "fix", "sway"]

_ORDER = (
    "First, I apply the order of operations: multiplication comes before addition and subtraction, "
    "and additions and subtractions are done from left to right.",
    "The order of operations (PEMDAS) says to do every multiplication first, then add and subtract from left to right.",
    "Following the order of operations, the multiplications are evaluated before any addition or subtraction.",
    "Order of operations: products first, then the additions and subtractions in order from left to right.",
    "There are no parentheses or exponents, so by the order of operations I multiply first and then add and "
    "subtract left to right.",
    "I follow the standard order of operations: multiplications first, then the remaining additions and "
    "subtractions from left to right.",
)
_RESTATE = ("The expression is: {e}", "Given expression: {e}", "We need to evaluate {e}.",
            "The problem to solve is {e}.", "Write the expression with spaces: {e}")
_PRODUCT = ("Multiply {a} by {b}: {t} = {v}", "Evaluate the product {t} = {v}",
            "Calculate the multiplication: {t} = {v}", "Compute {t} = {v}", "Next product: {t} = {v}")
_PRODUCTS = ("Compute the products:", "Do the multiplications:", "Evaluate each multiplication:",
             "Start with the multiplications:")
_SUBST = ("Substitute the products back into the expression: {s}", "Now the expression becomes: {s}",
          "Replacing the multiplications with their results gives {s}", "After the multiplications we have {s}")
_SUMS = ("Now add and subtract from left to right:", "Next, combine the terms from left to right:",
         "Then perform the additions and subtractions in order:", "Working from left to right:")
_FINAL = ("Therefore, the final answer is \\boxed{{{x}}}.", "So the value of the expression is \\boxed{{{x}}}.",
          "The final answer is \\boxed{{{x}}}.", "Hence {q} = \\boxed{{{x}}}.", "Final answer: \\boxed{{{x}}}")
_LABELS = ("{n}. ", "Step {n}: ", "({n}) ")


def _cot_body(work: Work, rng: random.Random) -> str:
    label = rng.choice(_LABELS)
    steps = [rng.choice(_ORDER), rng.choice(_RESTATE).format(e=work.problem.spaced)]
    if work.products and rng.random() < 0.5:
        steps.append("\n".join([rng.choice(_PRODUCTS)] + [f"{t.spaced()} = {v}" for t, v in work.products]))
    else:
        for t, v in work.products:
            a, b = t.factors[0], " * ".join(str(f) for f in t.factors[1:])
            steps.append(rng.choice(_PRODUCT).format(a=a, b=b, t=t.spaced(), v=v))
    if work.products:
        steps.append(rng.choice(_SUBST).format(s=work.substituted()))
    sums = [work.step_text(i) for i in range(1, len(work.partials))]
    if rng.random() < 0.5:
        steps.append("\n".join([rng.choice(_SUMS)] + sums))
    else:
        steps.extend(sums)
    return "\n".join(label.format(n=i + 1) + s for i, s in enumerate(steps))


def cot_solution(work: Work, rng: random.Random) -> str:
    """Agent 1: numbered steps that start by stating the order of operations."""
    final = rng.choice(_FINAL).format(x=work.answer, q=work.problem.question)
    return f"{_cot_body(work, rng)}\n\n{final}"


_CHAIN_INTRO = ("Let me solve this directly, keeping multiplication ahead of addition and subtraction.",
                "I'll evaluate the expression as one chain of equalities.", "Solution:",
                "Here is my solution, worked as a single chain:", "Working through the expression:")
_CRITIQUE = (
    "The step most likely to hide an error is {risk}, because it involves the largest numbers.",
    "I checked the order of operations: every product was computed before any addition or subtraction.",
    "A tempting mistake would be to combine {first} with {second} before multiplying; I did not do that.",
    "Re-adding the running totals ({partials}) gives the same result, so the chain is consistent.",
    "One weakness of this solution is that it compresses several steps into single lines, which makes slips "
    "harder to spot.",
    "My confidence is high, but the final subtraction of a large product deserves a second look.",
    "If I made a slip, it is most likely in {risk}; a rough estimate agrees in magnitude.",
)
_CRITIQUE_HEAD = ("SELF-CRITIQUE:", "SELF-CRITIQUE:", "---\nSELF-CRITIQUE:")


def _chain(work: Work, rng: random.Random) -> str:
    lines = [work.problem.spaced]
    if work.products:
        note = ", ".join(f"{t.spaced()} = {v}" for t, v in work.products)
        lines.append(f"= {work.substituted()}" + (f"   ({note})" if rng.random() < 0.5 else ""))
    lines += [f"= {work.remaining(i)}" for i in range(1, len(work.partials) - 1)]
    lines.append(f"= {work.answer}")
    return "\n".join(lines)


def _critique(work: Work, rng: random.Random) -> str:
    risk = max(work.products, key=lambda tv: tv[1]) if work.products else None
    risk_text = f"the multiplication {risk[0].spaced()} = {risk[1]}" if risk else f"the step {work.step_text(1)}"
    first = work.problem.terms[0].factors[0]
    second = work.problem.terms[1].factors[0] if len(work.problem.terms) > 1 else first
    chosen = rng.sample(_CRITIQUE, k=rng.randint(2, 3))
    sentences = [s.format(risk=risk_text, first=first, second=second,
                          partials=", ".join(str(p) for p in work.partials)) for s in chosen]
    return f"{rng.choice(_CRITIQUE_HEAD)} " + " ".join(sentences)


def critique_solution(work: Work, rng: random.Random) -> str:
    """Agent 2: the solution as one chain, then a ``SELF-CRITIQUE:`` section."""
    final = rng.choice(_FINAL).format(x=work.answer, q=work.problem.question)
    return f"{rng.choice(_CHAIN_INTRO)}\n\n{_chain(work, rng)}\n\n{final}\n\n{_critique(work, rng)}"


_VARS = (("mult", "result"), ("prod", "total"), ("p", "answer"), ("m", "res"), ("product", "value"))
_POT_HEAD = ("// multiplication binds tighter than + and -, so compute the products first",
             "// step 1: evaluate the products", "// products first (order of operations)",
             "// compute each multiplication before combining terms")
_POT_VALUE = ("// {v}", "// = {v}", "// evaluates to {v}")
_POT_SUM = ("// then add and subtract left to right", "// step 2: combine the terms in order",
            "// combine left to right")
_POT_END = ("// final result\n\\boxed{{{x}}}", "print({r})  // {x}\n\\boxed{{{x}}}", "// answer\n\\boxed{{{x}}}",
            "\\boxed{{{x}}}")


def _pot_body(work: Work, rng: random.Random) -> tuple[str, str]:
    base, res = rng.choice(_VARS)
    sep = rng.choice(("", "_"))
    value_fmt = rng.choice(_POT_VALUE)
    lines, names = [rng.choice(_POT_HEAD)], []
    k = 0
    for term in work.problem.terms:
        if term.is_product:
            k += 1
            names.append(f"{base}{sep}{k}")
            lines.append(f"{names[-1]} = {term.spaced()}  " + value_fmt.format(v=work.products[k - 1][1]))
        else:
            names.append(str(term.factors[0]))
    lines.append(rng.choice(_POT_SUM))
    signs = ["+" if t.sign > 0 else "-" for t in work.problem.terms]
    if rng.random() < 0.5 or len(names) < 3:
        expr = names[0] + "".join(f" {s} {n}" for s, n in zip(signs[1:], names[1:]))
        lines.append(f"{res} = {expr}  // {work.substituted()} = {work.answer}")
    else:
        prev = names[0]
        for i in range(1, len(names)):
            var = res if i == len(names) - 1 else f"s{i}"
            lines.append(f"{var} = {prev} {signs[i]} {names[i]}  " + value_fmt.format(v=work.partials[i]))
            prev = var
    return "\n".join(lines), res


def pot_solution(work: Work, rng: random.Random) -> str:
    """Agent 3: program-of-thought with ``//`` comments, ending in the boxed result."""
    body, res = _pot_body(work, rng)
    return f"{body}\n{rng.choice(_POT_END).format(x=work.answer, r=res)}"


PERSONA_WRITERS: Mapping[str, Callable[[Work, random.Random], str]] = {
    "chain_of_thought": cot_solution,
    "self_critique": critique_solution,
    "program_of_thought": pot_solution,
}


# --------------------------------------------------------------------------- brief turns

def brief_cot(work: Work, rng: random.Random) -> str:
    """Agent 1, brief: the products, then the running sums, in one line each."""
    products = ", ".join(f"{t.spaced()} = {v}" for t, v in work.products)
    sums = "; ".join(work.step_text(i) for i in range(1, len(work.partials)))
    head = f"Products first: {products}. " if products else ""
    return f"{head}Then {sums}. \\boxed{{{work.answer}}}"


def brief_critique(work: Work, rng: random.Random) -> str:
    """Agent 2, brief: the chain in one line and a one-clause check."""
    steps = [work.problem.spaced, *([work.substituted()] if work.products else []),
             *(work.remaining(i) for i in range(1, len(work.partials) - 1)), str(work.answer)]
    return f"{' = '.join(steps)}; checked. \\boxed{{{work.answer}}}"


def brief_pot(work: Work, rng: random.Random) -> str:
    """Agent 3, brief: one assignment with its value."""
    return f"r = {work.problem.spaced}  // {work.answer}\n\\boxed{{{work.answer}}}"


BRIEF_WRITERS: Mapping[str, Callable[[Work, random.Random], str]] = {
    "chain_of_thought": brief_cot,
    "self_critique": brief_critique,
    "program_of_thought": brief_pot,
}
"""Each persona's brief form: the same reasoning style in a line or two, as real agents sometimes answer.
Stage 1 data mixes them in (`brief_rate`) so that a tiny model has shorter turns within what it can
sample; it cannot invent a form its data never showed."""


# --------------------------------------------------------------------------- revisions

_REVIEW = ("After reviewing the other agents' solutions: Agent {j} got {aj} and Agent {k} got {ak}.",
           "Comparing answers, Agent {j} reached {aj}, Agent {k} reached {ak}, and I had {own}.",
           "The other agents' answers are {aj} (Agent {j}) and {ak} (Agent {k}); mine was {own}.",
           "I have read the other solutions. Agent {j}: {aj}. Agent {k}: {ak}. Mine: {own}.")
_AGREE = ("We all agree, so I keep my answer.", "All three answers match, so there is nothing to change.",
          "Everyone arrived at the same value, which supports my answer.")
_KEEP_RIGHT = ("I re-checked my work and stand by {own}.", "My recomputation still gives {own}, so I keep it.",
               "Re-doing each step confirms {own}.")
_OTHER_SLIP = (" Agent {a}'s answer differs because of a slip: {slip}.", " The difference in Agent {a}'s solution "
               "comes from one step: {slip}.", " Agent {a} went wrong at one point: {slip}.")
_STUBBORN = ("I re-checked my steps and still get {own}, so I keep my answer.",
             "I do not see an error in my own work, so I stay with {own}.",
             "After checking again, I believe {own} is right.")
_FIX = ("Looking again, I found my mistake: {slip}. Correcting it changes my answer to {new}.",
        "I made an error earlier: {slip}. With that fixed, I get {new}.",
        "On review my solution had a slip, {slip}, so my answer becomes {new}.")
_SWAY = ("Both other agents got {new}. Re-doing the calculation their way, I now get {new} as well, "
         "so I update my answer.", "Since Agents {j} and {k} both found {new}, I re-worked the problem and "
                                   "now agree with {new}.")
_REVISED = ("Here is my revised solution:", "Revised solution:", "Recomputing step by step:", "Updated work:")


def revision_text(persona: str, prev: Work, new: Work, others: Mapping[int, Work], decision: Decision,
                  rng: random.Random,
                  writers: Mapping[str, Callable[[Work, random.Random], str]] | None = None) -> str:
    """A round-2 turn: review of the other agents' answers, the decision, then the persona's work.

    Args:
        persona: the agent's persona (a key of `PERSONA_WRITERS`).
        prev: the agent's own round-1 work.
        new: the work behind the revised answer.
        others: the other two agents' round-1 work, by agent id.
        decision: ``keep`` (same answer), ``fix`` (found own slip) or ``sway`` (adopted the others').
        writers: the persona set's round-1 writers (default `PERSONA_WRITERS`), which write the revised work.
    """
    (j, wj), (k, wk) = sorted(others.items())
    review = rng.choice(_REVIEW).format(j=j, aj=wj.answer, k=k, ak=wk.answer, own=prev.answer)
    if decision == "fix":
        verdict = rng.choice(_FIX).format(slip=describe_slip(prev), new=new.answer)
    elif decision == "sway":
        verdict = rng.choice(_SWAY).format(new=new.answer, j=j, k=k)
    elif wj.answer == wk.answer == prev.answer:
        verdict = rng.choice(_AGREE)
    elif prev.correct:
        verdict = rng.choice(_KEEP_RIGHT).format(own=prev.answer)
        wrong = [(a, w) for a, w in sorted(others.items()) if w.slip is not None and w.answer != prev.answer]
        if wrong:
            a, w = rng.choice(wrong)
            verdict += rng.choice(_OTHER_SLIP).format(a=a, slip=describe_slip(w))
    else:
        verdict = rng.choice(_STUBBORN).format(own=prev.answer)
    body = (writers or PERSONA_WRITERS)[persona](new, rng)
    return f"{review} {verdict}\n\n{rng.choice(_REVISED)}\n{body}"
