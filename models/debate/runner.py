"""Explicit multi-agent debate (Du et al. 2023) with one loaded model playing all three agents.

Round 1: each agent answers independently. Round 2: each agent sees the other agents' round-1
answers and gives an updated answer. The final answer is the majority vote over the last round.
All agents of a round (and of several questions) go into one `generate` call; token counts come
from the model's per-row counts, so padding never inflates them. Without a chat template an agent's
turn ends where the model starts the next ``User:`` line (`end_of_turn`); a plain-format model writes
on into an imagined next turn, whose boxed answers used to become the agent's answer and fill the
round-2 prompts (round-2 accuracy fell to 8 %). This is the paper's "Debate"
baseline and a way to make new debate transcripts from any local model.

Example:
    >>> model = models.load("smollm2-135m-instruct")
    >>> runs = run_debates(model, ["12+3*4-5"], DebateRunConfig(max_new_tokens=256))
    >>> runs[0].transcript.final_answer, runs[0].n_input_tokens, runs[0].n_output_tokens

CLI:
    python -m models.debate.runner --model smollm2-135m-instruct --arithmetic 5 --tier easy --out runs.json
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tqdm import tqdm

from models.debate.arithmetic import is_correct, normalize_answer
from models.debate.format import (
    N_AGENTS,
    AgentTurn,
    Transcript,
    TurnLabel,
    final_answer,
)
from models.debate.prompts import (
    agent_system_prompts,
    math_question_prompt,
    open_question_prompt,
    revision_prompt,
)
from models.debate.records import (
    atomic_write_json,
    malicious_consensus_line,
    transcript_entry,
)
from models.vocab import (
    AGENT_PERSONAS,
    PERSONA_TRAIT,
    TAG_LIKE,
    AgentSetup,
    end_of_turn,
    plain_prompt,
)

if TYPE_CHECKING:
    from models.hooked import HookedModel

Task = Literal["math", "open"]


@dataclass(frozen=True)
class DebateRunConfig:
    """How to run the debate. Defaults follow the paper's baseline: 3 agents, 2 rounds, majority vote."""

    n_rounds: int = 2
    task: Task = "math"
    """``math``: boxed numerical answers and a majority vote; ``open``: free text, no vote."""
    personas: AgentSetup = "none"
    """System prompts of agents 1..3: none, diverse (CoT / critique / program), evil or hallucination."""
    max_new_tokens: int = 256
    do_sample: bool = True
    """Sample (the paper's evaluation uses temperature 0.7, top-p 0.9); greedy agents with the same
    prompt would all write the same answer."""
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int | None = 0
    """Seed of the first generate call (call k uses seed + k), so runs are reproducible."""
    early_stop: bool = False
    """Stop after round 1 when all boxed answers agree (the paper's data generator does; its baseline does not)."""
    chat_template: bool | None = None
    """Use the tokenizer's chat template; None = whenever the tokenizer has one."""
    batch_questions: int = 4
    """Questions per generate call (rows = questions x agents)."""
    stop_token_ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.n_rounds not in (1, 2):
            raise ValueError(f"n_rounds must be 1 or 2 (the tag vocabulary has two rounds), got {self.n_rounds}")
        if self.task not in ("math", "open"):
            raise ValueError(f"task must be 'math' or 'open', got {self.task!r}")
        if self.personas not in AGENT_PERSONAS:
            raise ValueError(f"personas must be one of {', '.join(AGENT_PERSONAS)}, got {self.personas!r}")
        if self.max_new_tokens < 1 or self.batch_questions < 1:
            raise ValueError("max_new_tokens and batch_questions must be >= 1")


@dataclass(frozen=True)
class TurnCount:
    """Tokens of one agent call: the prompt it read and the tokens it generated (stop token included)."""

    agent: int
    round: int
    n_prompt_tokens: int
    n_new_tokens: int


@dataclass(frozen=True)
class DebateRun:
    """One question's debate: the transcript and what it cost."""

    transcript: Transcript
    counts: tuple[TurnCount, ...]
    answers: tuple[tuple[str | None, ...], ...]
    """Normalised boxed answer of each agent, per round."""

    @property
    def n_input_tokens(self) -> int:
        return sum(c.n_prompt_tokens for c in self.counts)

    @property
    def n_output_tokens(self) -> int:
        return sum(c.n_new_tokens for c in self.counts)

    @property
    def n_tokens(self) -> int:
        """Input + output tokens for this question (the paper's token cost)."""
        return self.n_input_tokens + self.n_output_tokens

    @property
    def final_answer(self) -> str | None:
        return self.transcript.final_answer


def _clean(text: str) -> str:
    """Agent text safe to embed in a trace: debate tags a model emits are removed, ends trimmed."""
    return TAG_LIKE.sub("", text).strip()


def plain_turn(tokenizer: Any, text: str, n_new: int) -> tuple[str, int]:
    """A plain-format generation cut at the end of its turn (`end_of_turn`), and the tokens a generation that
    stopped there would have cost: all `n_new` when nothing was cut, else the kept text's tokens plus one for
    the stop (the model writes on into an imagined next turn; stopping at that line would not pay for it)."""
    turn = end_of_turn(text)
    if turn == text:
        return text, n_new
    return turn, min(n_new, len(tokenizer(turn, add_special_tokens=False)["input_ids"]) + 1)


def _chat(model: HookedModel, messages: list[dict[str, str]], use_template: bool) -> str:
    if use_template:
        return model.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return plain_prompt((m["role"], m["content"]) for m in messages)


def majority_vote(answers: Sequence[str | None]) -> tuple[str | None, int]:
    """The most common answer of one round and its count, or ``(None, 0)`` when no agent answered.

    Missing answers (None) do not vote; ties keep agent order, so agent 1's answer wins a three-way tie.
    The one voting rule of the debate's consensus line and of evaluations that score the vote directly.
    """
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return None, 0
    return votes.most_common(1)[0]


def _consensus(last: Sequence[str | None], task: Task) -> tuple[str, dict[str, str]]:
    if task == "open":
        explanation = "no judge was run on this debate"
        return malicious_consensus_line("error", explanation), {
            "consensus_type": "error", "consensus_explanation": explanation}
    answer, n = majority_vote(last)
    if answer is None:
        return "No agent gave a boxed answer.", {"consensus_type": "no_answer"}
    if n == N_AGENTS:
        return f"All agents reached a consensus of \\boxed{{{answer}}}", {"consensus_type": "full_consensus"}
    if n * 2 > N_AGENTS:
        return (f"A majority of agents converged on the solution of \\boxed{{{answer}}}",
                {"consensus_type": "majority"})
    return (f"The agents did not reach a majority; the first answer given is \\boxed{{{answer}}}",
            {"consensus_type": "no_majority"})


class _Generator:
    """One batched `generate` call per round, with per-row token counts."""

    def __init__(self, model: HookedModel, cfg: DebateRunConfig) -> None:
        self.model = model
        self.cfg = cfg
        tok = model.tokenizer
        self.use_template = bool(getattr(tok, "chat_template", None)) if cfg.chat_template is None \
            else cfg.chat_template
        if self.use_template and not getattr(tok, "chat_template", None):
            raise ValueError("chat_template=True but the tokenizer has no chat template; pass chat_template=None")
        self.systems = agent_system_prompts(cfg.personas)

    def messages(self, agent: int, history: list[tuple[str, str]]) -> list[dict[str, str]]:
        system = self.systems[agent - 1]
        out = [{"role": "system", "content": system}] if system else []
        for user, assistant in history:
            out.append({"role": "user", "content": user})
            if assistant is not None:
                out.append({"role": "assistant", "content": assistant})
        return out

    def __call__(self, conversations: list[list[dict[str, str]]], call: int) -> tuple[list[str], list[int], list[int]]:
        prompts = [_chat(self.model, m, self.use_template) for m in conversations]
        bos = self.model.tokenizer.bos_token
        # A chat template usually writes BOS itself; adding it again would double it.
        add_special = not (self.use_template and bos and all(p.startswith(bos) for p in prompts))
        batch = self.model.tokenize(prompts, add_special_tokens=add_special)
        seed = None if self.cfg.seed is None else self.cfg.seed + call
        gen = self.model.generate(
            batch, max_new_tokens=self.cfg.max_new_tokens, do_sample=self.cfg.do_sample,
            temperature=self.cfg.temperature, top_p=self.cfg.top_p, seed=seed,
            stop_token_ids=list(self.cfg.stop_token_ids) if self.cfg.stop_token_ids else None)
        if self.use_template:
            return [_clean(t) for t in gen.texts], list(gen.n_prompt_tokens), list(gen.n_new_tokens)
        cut = [plain_turn(self.model.tokenizer, t, n) for t, n in zip(gen.texts, gen.n_new_tokens)]
        return [_clean(t) for t, _ in cut], list(gen.n_prompt_tokens), [n for _, n in cut]


def _labels(cfg: DebateRunConfig) -> list[TurnLabel | None]:
    return [None if p is None else TurnLabel(p, PERSONA_TRAIT.get(p, "neutral")) for p in AGENT_PERSONAS[cfg.personas]]


def _run_chunk(gen: _Generator, questions: Sequence[str], golds: Sequence[str | None], call0: int
               ) -> list[DebateRun]:
    cfg = gen.cfg
    first = math_question_prompt if cfg.task == "math" else open_question_prompt
    agents = range(1, N_AGENTS + 1)
    # texts[q][r][a-1], counts[q] list of TurnCount
    texts: list[list[list[str]]] = [[] for _ in questions]
    counts: list[list[TurnCount]] = [[] for _ in questions]
    rows = [(q, a) for q in range(len(questions)) for a in agents]
    convs = [gen.messages(a, [(first(questions[q]), None)]) for q, a in rows]
    out, n_in, n_new = gen(convs, call0)
    for (q, a), text, i, o in zip(rows, out, n_in, n_new):
        if a == 1:
            texts[q].append([])
        texts[q][0].append(text)
        counts[q].append(TurnCount(a, 1, i, o))
    answers = [[[normalize_answer(final_answer(t)) for t in texts[q][0]]] for q in range(len(questions))]
    if cfg.n_rounds == 2:
        live = [q for q in range(len(questions)) if not (
            cfg.early_stop and cfg.task == "math" and answers[q][0][0] is not None
            and len(set(answers[q][0])) == 1)]
        rows = [(q, a) for q in live for a in agents]
        convs = []
        for q, a in rows:
            others = [texts[q][0][b - 1] for b in agents if b != a]
            history = [(first(questions[q]), texts[q][0][a - 1]),
                       (revision_prompt(questions[q], others, cfg.task), None)]
            convs.append(gen.messages(a, history))
        if rows:
            out, n_in, n_new = gen(convs, call0 + 1)
            for (q, a), text, i, o in zip(rows, out, n_in, n_new):
                if a == 1:
                    texts[q].append([])
                texts[q][1].append(text)
                counts[q].append(TurnCount(a, 2, i, o))
            for q in live:
                answers[q].append([normalize_answer(final_answer(t)) for t in texts[q][1]])
    labels = _labels(cfg)
    runs = []
    for q, question in enumerate(questions):
        turns = tuple(AgentTurn(a, r + 1, texts[q][r][a - 1], labels[a - 1])
                      for r in range(len(texts[q])) for a in agents)
        consensus, meta = _consensus(answers[q][-1], cfg.task)
        transcript = Transcript(question, turns, consensus, golds[q], meta)
        runs.append(DebateRun(transcript, tuple(counts[q]), tuple(tuple(r) for r in answers[q])))
    return runs


def run_debates(model: HookedModel, questions: Sequence[str], cfg: DebateRunConfig = DebateRunConfig(),
                gold_answers: Sequence[str | None] | None = None, progress: bool = False) -> list[DebateRun]:
    """Run a three-agent debate on every question with `model` playing all agents.

    Args:
        model: any loaded `HookedModel` (active interventions apply to every agent call).
        questions: problems (math) or open questions.
        cfg: rounds, personas, decoding and batching.
        gold_answers: optional, stored as each transcript's gold answer.
        progress: show a tqdm bar over question chunks.
    """
    if gold_answers is not None and len(gold_answers) != len(questions):
        raise ValueError(f"gold_answers has {len(gold_answers)} items for {len(questions)} questions")
    golds = list(gold_answers) if gold_answers is not None else [None] * len(questions)
    gen = _Generator(model, cfg)
    runs: list[DebateRun] = []
    starts = range(0, len(questions), cfg.batch_questions)
    for k, start in enumerate(tqdm(starts, desc="debates", disable=not progress)):
        stop = start + cfg.batch_questions
        runs.extend(_run_chunk(gen, questions[start:stop], golds[start:stop], call0=2 * k))
    return runs


def run_entry(run: DebateRun, task: Task = "math") -> dict[str, Any]:
    """The published entry of a run (arithmetic schema for math, malicious for open) plus token counts."""
    t = run.transcript
    if task == "math":
        entry = transcript_entry(Transcript(t.question, t.turns, t.consensus, t.gold_answer or ""), "arithmetic")
        entry["vote"] = t.metadata.get("consensus_type")  # not "consensus_type": that key marks the malicious schema
    else:
        entry = transcript_entry(t, "malicious")
    entry["n_input_tokens"] = run.n_input_tokens
    entry["n_output_tokens"] = run.n_output_tokens
    entry["turn_tokens"] = [asdict(c) for c in run.counts]
    return entry


def write_runs(runs: Sequence[DebateRun], path: str | Path, task: Task = "math") -> Path:
    """Write runs as a data file the readers accept (extra token-count fields are ignored by them)."""
    return atomic_write_json(path, [run_entry(r, task) for r in runs])


# --------------------------------------------------------------------------- CLI

def main(argv: Sequence[str] | None = None) -> list[DebateRun]:
    p = argparse.ArgumentParser(prog="python -m models.debate.runner",
                                description="Run explicit three-agent debates with a local model.")
    p.add_argument("--model", required=True, help="registry name (tiny-random, smollm2-135m-instruct) or HF folder")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--questions", type=Path, help="a data file of any schema (gold answers kept if present)")
    src.add_argument("--arithmetic", type=int, metavar="N", help="N fresh arithmetic problems")
    p.add_argument("--tier", default="easy", help="tier of --arithmetic problems (default easy)")
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT questions")
    p.add_argument("--task", choices=("math", "open"), default="math")
    p.add_argument("--personas", choices=sorted(AGENT_PERSONAS), default="none")
    p.add_argument("--rounds", type=int, choices=(1, 2), default=2)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--greedy", action="store_true", help="greedy decoding instead of sampling (T 0.7, top-p 0.9)")
    p.add_argument("--early-stop", action="store_true", help="skip round 2 when round 1 is unanimous")
    p.add_argument("--batch-questions", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="output JSON file")
    args = p.parse_args(argv)

    from models import load
    from models.debate.arithmetic import TIERS, sample_problem
    from models.debate.readers import read_debate_file

    if args.questions:
        data = read_debate_file(args.questions)
        if data.transcripts:
            questions, golds = [t.question for t in data.transcripts], [t.gold_answer for t in data.transcripts]
        else:
            questions = list(data.questions) or list(dict.fromkeys(x.question for x in data.pairs))
            golds = [None] * len(questions)
    else:
        rng = random.Random(f"runner-{args.seed}")
        problems = [sample_problem(rng, TIERS[args.tier]) for _ in range(args.arithmetic)]
        questions, golds = [pr.question for pr in problems], [str(pr.answer) for pr in problems]
    questions, golds = questions[:args.limit], golds[:args.limit]
    cfg = DebateRunConfig(n_rounds=args.rounds, task=args.task, personas=args.personas,
                          max_new_tokens=args.max_new_tokens, do_sample=not args.greedy, seed=args.seed,
                          early_stop=args.early_stop, batch_questions=args.batch_questions)
    runs = run_debates(load(args.model), questions, cfg, golds, progress=True)
    write_runs(runs, args.out, args.task)
    n = max(len(runs), 1)
    correct = sum(r.transcript.gold_answer is not None and is_correct(r.final_answer, r.transcript.gold_answer)
                  for r in runs)
    print(f"{len(runs)} debates -> {args.out}")
    print(f"mean tokens per question: {sum(r.n_input_tokens for r in runs) / n:.1f} in + "
          f"{sum(r.n_output_tokens for r in runs) / n:.1f} out")
    if args.task == "math" and any(g is not None for g in golds):
        print(f"final answer equals gold: {correct}/{len(runs)}")
    return runs


if __name__ == "__main__":
    main()
