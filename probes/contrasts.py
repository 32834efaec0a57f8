"""The three agent/trait contrasts of the paper and its code, as collection sources and reductions.

* Paper Eq. 3 (`eq3_source`, `eq3_directions`): for agent i in round r, the context up to and
  including agent i's tag, followed by agent i's response, minus the same context followed by each
  other agent's same-round response, averaged over those agents and then over the data.
* The original code's variant (`own_turn_directions`, on `collect_turns` output): agent i's own
  turn minus the mean of the other agents' own turns, each read in its own context (other tag,
  other history). Round groups are complete in round-1-only debates too, so Agent 3 is kept there.
* The base-model variant (`system_prompt_source`, `system_prompt_direction`): one question under a
  malicious and under a benign system prompt (`model.chat_prompt`), read at a position counted back
  from the prompt's end (paper: -2); malicious minus benign.

Read and steer at the same site: every direction records the site it was read at, and `steering`
applies it there.

Example:
    >>> acts = collect_activations(model, eq3_source(debates, positions="turn_last"), sites)
    >>> eq3_directions(acts, sites[0])["agent2"]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
import torch

from models.debate.format import Span, Transcript, render, sft_prompt
from models.debate.prompts import persona_chats
from models.debate.tokens import char_to_token_span
from models.vocab import DEBATE_TRAITS, PERSONA_TRAIT, DebateTrait
from models.hooked import HookedModel
from probes.activations import RESPONSE_READ_POSITIONS, ActivationSet, ReadPosition, Row
from probes.batching import Input, Read
from probes.collect import Source, debates_hash, question_id, turn_row
from probes.directions import Direction, contrast_direction, to_direction
from probes.errors import ProbeError

Trait = DebateTrait


# ----------------------------------------------------------------- paper Eq. 3
def eq3_inputs(item: int, debate: Transcript, model: HookedModel, positions: ReadPosition) -> list[Input]:
    """For every turn (agent i, round r): agent i's context followed by each same-round response."""
    trace = render(debate)
    prompt = sft_prompt(debate.question)
    key = f"debate {item} (question {question_id(debate.question)})"
    out = []
    for turn in debate.turns:
        context = prompt + trace[: trace.index(turn.tag) + len(turn.tag)] + ": "
        for other in debate.rounds[turn.round - 1]:
            text = context + other.text
            enc = model.tokenizer(text, return_offsets_mapping=True, add_special_tokens=True)
            span = char_to_token_span([tuple(o) for o in enc["offset_mapping"]], Span(len(context), len(text)))
            if len(span) == 0:
                raise ProbeError(
                    f"{key}: agent {other.agent} round {other.round} has no response tokens, so the Eq. 3 "
                    f"contrast for agent {turn.agent} cannot read it; drop the empty turn"
                )
            tokens = tuple(range(span.start, span.end)) if positions == "turn_mean" else (span.end - 1,)
            row = turn_row(item, debate, other.agent, turn.round, kind="eq3", n_tokens=len(tokens))
            row = Row(**{**row.to_json(), "agent": turn.agent, "response_agent": other.agent})
            out.append(Input(tuple(int(i) for i in enc["input_ids"]), (Read(row, tokens),),
                             f"{key} agent {turn.agent} context + agent {other.agent} response"))
    return out


def eq3_source(debates: Sequence[Transcript], positions: ReadPosition = "turn_last") -> Source:
    """Paper Eq. 3 inputs: n_agents rows per turn (the agent's own response and each other agent's)."""
    if positions not in RESPONSE_READ_POSITIONS:
        raise ProbeError(
            f"positions={positions!r} does not work for Eq. 3: the context (and its tag) is the same for every "
            f"response, so only {' or '.join(map(repr, RESPONSE_READ_POSITIONS))} over the response differ"
        )
    return Source("eq3", positions, debates, lambda i, t, m: eq3_inputs(i, t, m, positions), debates_hash(debates))


def _mean_directions(acts: ActivationSet, site: str, diffs: dict[str, list[torch.Tensor]], method: str,
                     normalize: bool, skipped: int) -> dict[str, Direction]:
    out = {}
    for name, parts in diffs.items():
        vector = torch.stack(parts).mean(0)
        out[name] = to_direction(acts, site, vector, method=method, label=f"{name}_vs_others", normalize=normalize,
                                 params={"n_groups": len(parts), "groups_skipped_incomplete": skipped})
    return out


def eq3_directions(acts: ActivationSet, site: str, normalize: bool = True, by_round: bool = False
                   ) -> dict[str, Direction]:
    """v_i = mean over (debate, round) of h(p_i, c_i) - mean_{j != i} h(p_i, c_j) (paper Eq. 3)."""
    if acts.kind != "eq3":
        raise ProbeError(f"eq3_directions needs rows collected with eq3_source; this set is kind {acts.kind!r}")
    values = acts.at(site)
    diffs: dict[str, list[torch.Tensor]] = {}
    skipped = 0
    for (item, rnd, agent), idx in acts.groups("item", "round", "agent").items():
        own = [int(i) for i in idx if acts.rows[int(i)].response_agent == agent]
        others = [int(i) for i in idx if acts.rows[int(i)].response_agent != agent]
        if not own or not others:  # a response beyond the context was dropped
            skipped += 1
            continue
        name = f"agent{agent}" + (f"_round{rnd}" if by_round else "")
        diffs.setdefault(name, []).append(values[own[0]] - values[others].mean(0))
    if not diffs:
        raise ProbeError(f"no complete Eq. 3 group at {site} ({skipped} incomplete); collect without truncation")
    return _mean_directions(acts, site, dict(sorted(diffs.items())), "eq3_contrast", normalize, skipped)


# ----------------------------------------------------------------- original code's variant
def own_turn_directions(acts: ActivationSet, site: str, normalize: bool = True, by_round: bool = False
                        ) -> dict[str, Direction]:
    """v_i = mean over complete (debate, round) groups of h(turn_i) - mean_{j != i} h(turn_j), each in its own context."""
    if acts.kind != "turn":
        raise ProbeError(f"own_turn_directions needs rows from collect_turns; this set is kind {acts.kind!r}")
    values = acts.at(site)
    agents = sorted(set(acts.column("agent")))
    diffs: dict[str, list[torch.Tensor]] = {}
    skipped = 0
    for (item, rnd), idx in acts.groups("item", "round").items():
        by_agent = {acts.rows[int(i)].agent: int(i) for i in idx}
        if sorted(by_agent) != agents:
            skipped += 1
            continue
        for agent, i in by_agent.items():
            others = [j for a, j in by_agent.items() if a != agent]
            name = f"agent{agent}" + (f"_round{rnd}" if by_round else "")
            diffs.setdefault(name, []).append(values[i] - values[others].mean(0))
    if not diffs:
        raise ProbeError(f"no (debate, round) group at {site} has all agents {agents} ({skipped} incomplete)")
    return _mean_directions(acts, site, dict(sorted(diffs.items())), "own_turn_contrast", normalize, skipped)


# ----------------------------------------------------------------- base-model system-prompt contrast
def system_prompt_inputs(item: int, question: str, model: HookedModel, trait: Trait, position: int) -> list[Input]:
    """The question under the malicious and the benign system prompt, read at `position`."""
    out = []
    for chat in persona_chats(trait, [question]):
        system, user = chat.messages[0]["content"], chat.messages[1]["content"]
        ids = tuple(int(i) for i in model.tokenizer(model.chat_prompt(user, system=system))["input_ids"])
        index = len(ids) + position if position < 0 else position
        if not 0 <= index < len(ids):
            raise ProbeError(f"position {position} is outside question {item}'s prompt of {len(ids)} tokens")
        row = Row(item=item, question_id=question_id(question), round=0, agent=0, label=chat.persona,
                  trait=PERSONA_TRAIT.get(chat.persona, chat.persona), kind="system_prompt", n_tokens=1)
        out.append(Input(ids, (Read(row, (index,)),), f"question {item} under the {chat.persona} system prompt"))
    return out


def system_prompt_source(questions: Sequence[str], trait: Trait, position: int = -2) -> Source:
    """Paper §7.2 base-model contrast: each question under the malicious and the benign persona prompt."""
    if trait not in DEBATE_TRAITS:
        raise ProbeError(f"trait must be 'evil' or 'hallucination', got {trait!r}")
    data = hashlib.sha256(json.dumps([trait, list(questions)]).encode()).hexdigest()[:16]
    return Source("system_prompt", str(position), list(questions),
                  lambda i, q, m: system_prompt_inputs(i, q, m, trait, position), data,
                  params={"trait": trait, "position": position})


def system_prompt_direction(acts: ActivationSet, site: str, normalize: bool = True) -> Direction:
    """mean(malicious system prompt) - mean(benign), over the same questions."""
    if acts.kind != "system_prompt":
        raise ProbeError(f"system_prompt_direction needs rows from system_prompt_source; this set is {acts.kind!r}")
    malicious = sorted({r.trait for r in acts.rows if r.malicious})
    d = contrast_direction(acts, site, {"trait": malicious}, None, normalize=normalize,
                           label=f"{'+'.join(malicious) or 'malicious'}_vs_benign")
    return replace(d, method="system_prompt_contrast")

