"""Seeded, offline synthetic debates in the published schemas, split by question, with a card.

Kinds:
* ``arithmetic``: persona debates (CoT / self-critique / program-of-thought) on ``a+b*c+d-e*f``
  problems. Round 1 slips at a per-agent rate; round 2 fixes or keeps after reading the others;
  a unanimous round 1 stops early; debates without a majority are dropped, as in the paper
  (`GenerateConfig.stop_rule` and `.tally` are this toolkit's options for a tiny model's data).
* ``evil`` / ``hallucination``: Agent 2 malicious, Agents 1 and 3 benign, two rounds always.

Everything depends only on the config (same seed, same bytes). Files are written atomically.

Example:
    python -m models.debate.generate arithmetic evil hallucination --n 500 --seed 0 --out data/synthetic
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, get_args

from tqdm import tqdm

from models.debate.arithmetic import TIERS, Problem, Tier, Work, sample_problem, sample_slip, work_out
from models.debate.format import AgentTurn, Transcript, TurnLabel
from models.debate.malicious import malicious_debate
from models.debate.personas import BRIEF_WRITERS, PERSONA_WRITERS, Decision, revision_text
from models.debate.reasoning_personas import REASONING_PERSONAS, REASONING_WRITERS
from models.debate.records import atomic_write_json, steering_pairs, transcript_entry
from models.vocab import ARITHMETIC_PERSONAS, DEBATE_TRAITS, DebateTrait

GENERATOR_VERSION = "1.0.0"
# persona set -> (the persona of agents 1..3, their round-1 writers)
PERSONA_SETS: dict[str, tuple[tuple[str, str, str], Mapping[str, Callable[[Work, random.Random], str]]]] = {
    "paper": (ARITHMETIC_PERSONAS, PERSONA_WRITERS),
    "reasoning": (REASONING_PERSONAS, REASONING_WRITERS),
}
Kind = Literal["arithmetic", DebateTrait]
StopRule = Literal["unanimous", "majority"]
KINDS: tuple[Kind, ...] = ("arithmetic", *DEBATE_TRAITS)


@dataclass(frozen=True)
class GenerateConfig:
    """What to generate. Every field is also a CLI flag of ``python -m models.debate.generate``."""

    kind: Kind = "arithmetic"
    n: int = 500
    """Debates to keep in total (train + test), after curation."""
    seed: int = 0
    tier: str = "paper"
    """Arithmetic tier: easy (a+b*c-d, 1..9), medium (a+b*c+d-e*f, 1..9) or paper (a+b*c+d-e*f, 10..99)."""
    template: str | None = None
    """Override the tier's expression template, e.g. 'a+b*c'."""
    low: int | None = None
    high: int | None = None
    error_rate: tuple[float, float, float] = (0.3, 0.3, 0.3)
    """Probability that agent 1, 2, 3 makes one slip in round 1."""
    fix_rate: float = 0.75
    """Probability that a wrong agent finds its slip in round 2."""
    sway_rate: float = 0.1
    """Probability that a right agent adopts a wrong answer both others share."""
    brief_rate: float = 0.0
    """Probability that a round-1 turn takes its persona's brief form (`BRIEF_WRITERS`); 0 draws nothing, so
    the data of every seed is what it was before brief turns existed."""
    personas: Literal["paper", "reasoning"] = "paper"
    """Arithmetic persona set: the paper's (CoT / self-critique / program of thought, each with its own
    signature tokens) or `models.debate.reasoning_personas` (forward / checking / hedging: one shared
    vocabulary, told apart only by how they reason; brief turns do not exist for them)."""
    stop_rule: StopRule = "unanimous"
    """When round 1 ends the debate: only when all three agree (the paper), or as soon as two agree
    (``majority``: the consensus then outvotes the third agent, a case that the paper's rule leaves to the
    revision round, where revised answers nearly always agree)."""
    tally: bool = False
    """Start the consensus line with each agent's final answer (``Agent 1: 49. Agent 2: 39. Agent 3: 49.``)
    before the vote. The paper's consensus line is a judge's short explanation; a tally is the explanation a
    tiny model can use: the vote is then taken over three numbers next to each other, not across the trace."""
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, got {self.tier!r}")
        if len(self.error_rate) != 3 or not all(0 <= r <= 1 for r in self.error_rate):
            raise ValueError(f"error_rate must be three probabilities (agents 1..3), got {self.error_rate}")
        for name in ("fix_rate", "sway_rate", "brief_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.personas not in PERSONA_SETS:
            raise ValueError(f"personas must be one of {', '.join(PERSONA_SETS)}, got {self.personas!r}")
        if self.personas != "paper" and self.brief_rate:
            raise ValueError("brief_rate applies to the paper personas only (the reasoning personas have no brief form)")
        if self.stop_rule not in get_args(StopRule):
            raise ValueError(f"stop_rule must be {' or '.join(get_args(StopRule))}, got {self.stop_rule!r}")
        if not 0 <= self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction}")
        self.resolved_tier()  # validates template and range

    def resolved_tier(self) -> Tier:
        base = TIERS[self.tier]
        if self.template is None and self.low is None and self.high is None:
            return base
        return Tier("custom", self.template or base.template,
                    base.low if self.low is None else self.low, base.high if self.high is None else self.high)


# --------------------------------------------------------------------------- arithmetic debates

def _round2(works: list[Work], cfg: GenerateConfig, rng: random.Random) -> list[tuple[Work, Decision]]:
    out = []
    for i, own in enumerate(works):
        others = [w for j, w in enumerate(works) if j != i]
        shared_wrong = others[0].answer == others[1].answer != own.answer and not others[0].correct
        if own.correct and shared_wrong and rng.random() < cfg.sway_rate:
            out.append((work_out(own.problem, others[0].slip), "sway"))
        elif not own.correct and rng.random() < cfg.fix_rate:
            out.append((work_out(own.problem), "fix"))
        else:
            out.append((own, "keep"))
    return out


def arithmetic_debate(problem: Problem, cfg: GenerateConfig, rng: random.Random) -> Transcript | None:
    """One persona debate on `problem`, or None when the last round has no majority (curated out)."""
    r1 = [work_out(problem, sample_slip(rng, problem) if rng.random() < cfg.error_rate[a] else None)
          for a in range(3)]
    names, full = PERSONA_SETS[cfg.personas]
    writers = [BRIEF_WRITERS if cfg.brief_rate and rng.random() < cfg.brief_rate else full for _ in range(3)]
    turns = [AgentTurn(a + 1, 1, writers[a][names[a]](w, rng),
                       TurnLabel(names[a], "neutral", w.slip.kind if w.slip else None))
             for a, w in enumerate(r1)]
    last = r1
    most = Counter(w.answer for w in r1).most_common(1)[0][1]
    if most < (3 if cfg.stop_rule == "unanimous" else 2):  # otherwise round 1 ends the debate
        revised = _round2(r1, cfg, rng)
        for a, (new, decision) in enumerate(revised):
            others = {b + 1: r1[b] for b in range(3) if b != a}
            text = revision_text(names[a], r1[a], new, others, decision, rng, full)
            turns.append(AgentTurn(a + 1, 2, text,
                                   TurnLabel(names[a], "neutral", new.slip.kind if new.slip else None)))
        last = [w for w, _ in revised]
    answer, votes = Counter(w.answer for w in last).most_common(1)[0]
    if votes < 2:
        return None
    consensus = (f"All agents reached a consensus of \\boxed{{{answer}}}" if votes == 3
                 else f"A majority of agents converged on the solution of \\boxed{{{answer}}}")
    if cfg.tally:
        consensus = " ".join(f"Agent {a}: {w.answer}." for a, w in enumerate(last, 1)) + " " + consensus
    return Transcript(problem.question, tuple(turns), consensus, str(problem.answer))


# --------------------------------------------------------------------------- datasets

def generate_debates(cfg: GenerateConfig, progress: bool = False) -> tuple[list[Transcript], Counter[str]]:
    """`cfg.n` debates with distinct questions, and counts of what curation dropped."""
    rng = random.Random(f"{cfg.kind}-{cfg.seed}")
    tier = cfg.resolved_tier()
    seen: set[str] = set()
    out: list[Transcript] = []
    stats: Counter[str] = Counter()
    max_attempts = 50 * cfg.n + 1000
    with tqdm(total=cfg.n, desc=f"{cfg.kind} debates", disable=not progress, leave=False) as bar:
        for _ in range(max_attempts):
            if len(out) == cfg.n:
                break
            if cfg.kind == "arithmetic":
                problem = sample_problem(rng, tier)
                if problem.question in seen:
                    stats["duplicate_questions_resampled"] += 1
                    continue
                debate = arithmetic_debate(problem, cfg, rng)
            else:
                debate = malicious_debate(cfg.kind, rng)
                if debate.question in seen:
                    stats["duplicate_questions_resampled"] += 1
                    continue
            if debate is None:
                stats["dropped_no_majority"] += 1
                seen.add(problem.question)
                continue
            seen.add(debate.question)
            out.append(debate)
            bar.update(1)
    if len(out) < cfg.n:
        raise ValueError(
            f"only {len(out)} distinct {cfg.kind} questions found after {max_attempts} draws (asked for {cfg.n}); "
            "lower --n or widen the number range (--low/--high) or the template"
        )
    return out, stats


def split_by_question(transcripts: Sequence[Transcript], test_fraction: float, seed: int
                      ) -> tuple[list[Transcript], list[Transcript]]:
    """Split so that no question appears on both sides; order within each side is kept."""
    questions = list(dict.fromkeys(t.question for t in transcripts))
    random.Random(f"split-{seed}").shuffle(questions)
    n_test = round(len(questions) * test_fraction)
    if test_fraction > 0 and n_test == 0 and len(questions) > 1:
        n_test = 1
    test_q = set(questions[:n_test])
    return ([t for t in transcripts if t.question not in test_q], [t for t in transcripts if t.question in test_q])


def _counts(debates: Sequence[Transcript]) -> dict[str, int]:
    c: Counter[str] = Counter()
    for t in debates:
        c[f"rounds_{t.n_rounds}"] += 1
        c["consensus_all" if t.consensus.startswith("All agents") else "consensus_majority"] += 1
        c["turns"] += len(t.turns)
        c["turns_with_error"] += sum(1 for x in t.turns if x.label and x.label.error)
        c["turns_malicious"] += sum(1 for x in t.turns if x.label and x.label.malicious)
        if t.gold_answer is not None:
            c["final_correct"] += t.final_answer == t.gold_answer
    return dict(sorted(c.items()))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_dataset(cfg: GenerateConfig, out_dir: str | Path, progress: bool | None = None) -> Path:
    """Generate `cfg`, split it by question and write debates, questions, steering pairs and a card.

    Files (``{kind}`` is the config's kind, ``{split}`` is train or test)::

        {kind}_debates_{split}.json    arithmetic or malicious schema, plus per-turn ``labels``
        {kind}_questions_{split}.json  question list
        {kind}_pairs_{split}.json      turn-level steering pairs (contexts start with ``Problem:``)
        {kind}_card.json               config, generator version, counts and file hashes

    Returns the card's path. `progress` None shows a bar only for large runs.
    """
    out = Path(out_dir)
    debates, dropped = generate_debates(cfg, progress=cfg.n >= 2000 if progress is None else progress)
    train, test = split_by_question(debates, cfg.test_fraction, cfg.seed)
    schema = "arithmetic" if cfg.kind == "arithmetic" else "malicious"
    files: dict[str, Path] = {}
    for split, part in (("train", train), ("test", test)):
        files[f"debates_{split}"] = atomic_write_json(
            out / f"{cfg.kind}_debates_{split}.json", [transcript_entry(t, schema) for t in part])
        files[f"questions_{split}"] = atomic_write_json(
            out / f"{cfg.kind}_questions_{split}.json", [t.question for t in part])
        offset = 0 if split == "train" else len(train)  # ids stay unique across the two files
        pairs = [p.to_json() for i, t in enumerate(part) for p in steering_pairs(t, offset + i)]
        files[f"pairs_{split}"] = atomic_write_json(out / f"{cfg.kind}_pairs_{split}.json", pairs)
    card = {
        "generator": "models.debate.generate",
        "generator_version": GENERATOR_VERSION,
        "kind": cfg.kind,
        "schema": schema,
        "seed": cfg.seed,
        "config": asdict(cfg),
        "tier": asdict(cfg.resolved_tier()) if cfg.kind == "arithmetic" else None,
        "counts": {
            "train": len(train), "test": len(test),
            "questions_train": len({t.question for t in train}), "questions_test": len({t.question for t in test}),
            **dict(sorted(dropped.items())),
            "train_detail": _counts(train), "test_detail": _counts(test),
        },
        "split": "by question: no question is in both train and test",
        "files": {name: {"path": p.name, "sha256": _sha256(p)} for name, p in files.items()},
    }
    return atomic_write_json(out / f"{cfg.kind}_card.json", card)


# --------------------------------------------------------------------------- CLI

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m models.debate.generate",
        description="Write seeded synthetic debates (train/test split by question) in the paper's JSON schemas.")
    p.add_argument("kinds", nargs="+", choices=KINDS, help="which debate sets to generate")
    p.add_argument("--n", type=int, default=500, help="debates per kind, train + test (default 500)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--tier", choices=sorted(TIERS), default="paper",
                   help="arithmetic difficulty: easy a+b*c-d over 1..9, medium a+b*c+d-e*f over 1..9, "
                        "paper a+b*c+d-e*f over 10..99 (default paper)")
    p.add_argument("--template", default=None, help="override the expression template, e.g. 'a+b*c'")
    p.add_argument("--low", type=int, default=None, help="override the smallest number")
    p.add_argument("--high", type=int, default=None, help="override the largest number")
    p.add_argument("--error-rate", type=float, nargs="+", default=[0.3],
                   help="round-1 slip probability, one value or one per agent (default 0.3)")
    p.add_argument("--fix-rate", type=float, default=0.75, help="chance a wrong agent fixes its slip in round 2")
    p.add_argument("--sway-rate", type=float, default=0.1, help="chance a right agent adopts a shared wrong answer")
    p.add_argument("--brief-rate", type=float, default=0.0, help="chance a round-1 turn takes its persona's brief form")
    p.add_argument("--personas", choices=sorted(PERSONA_SETS), default="paper",
                   help="arithmetic personas: paper (CoT / self-critique / program of thought) or reasoning "
                        "(forward / checking / hedging in one shared vocabulary)")
    p.add_argument("--stop-rule", choices=get_args(StopRule), default="unanimous",
                   help="round 1 ends the debate when all agents agree (the paper, default) or when two agree")
    p.add_argument("--tally", action="store_true",
                   help="start the consensus line with each agent's final answer before the vote")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of questions held out (default 0.2)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: only for n >= 2000)")
    return p


def main(argv: Sequence[str] | None = None) -> list[Path]:
    args = _parser().parse_args(argv)
    rates = args.error_rate * 3 if len(args.error_rate) == 1 else args.error_rate
    cards = []
    for kind in dict.fromkeys(args.kinds):
        try:
            cfg = GenerateConfig(kind=kind, n=args.n, seed=args.seed, tier=args.tier, template=args.template,
                                 low=args.low, high=args.high, error_rate=tuple(rates), fix_rate=args.fix_rate,
                                 sway_rate=args.sway_rate, brief_rate=args.brief_rate,
                                 personas=args.personas, stop_rule=args.stop_rule, tally=args.tally,
                                 test_fraction=args.test_fraction)
        except ValueError as e:
            raise SystemExit(f"error: {e}") from None
        card_path = write_dataset(cfg, args.out, progress=args.progress)
        counts = json.loads(card_path.read_text())["counts"]
        dropped = counts.get("dropped_no_majority", 0)
        print(f"{kind}: {counts['train']} train / {counts['test']} test debates"
              + (f" ({dropped} dropped without a majority)" if dropped else "") + f" -> {card_path}")
        cards.append(card_path)
    return cards


if __name__ == "__main__":
    main()
