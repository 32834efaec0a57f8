"""One source for the debate vocabulary, the plain chat format, the held-out split and answer scoring.

Identity checks (`is`) fail as soon as a module defines its own copy instead of importing the shared one.
"""

import ast
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import models.debate.format as fmt
import models.debate.generate as generate
import models.debate.malicious as malicious
import models.debate.personas as personas
import models.debate.prompts as prompts
import models.debate.runner as runner
import models.debate.splits as splits
import models.vocab as vocab
import models.train.data as train_data
import models.train.evaluate as train_evaluate
import models.train.rewards as rewards
import probes.activations as activations
import probes.contrasts as contrasts
from models.debate.arithmetic import is_correct, normalize_answer
from models.judges import base as judges

ROOT = Path(__file__).resolve().parents[2]


def test_trait_and_persona_words_have_one_source():
    assert fmt.MALICIOUS_TRAITS is vocab.MALICIOUS_PERSONAS
    assert activations.MALICIOUS_TRAITS is vocab.MALICIOUS_PERSONAS
    assert malicious.TRAITS is vocab.DEBATE_TRAITS
    assert judges.TRAITS is vocab.DEBATE_TRAITS
    assert contrasts.PERSONA_TRAIT is vocab.PERSONA_TRAIT
    assert prompts.AGENT_PERSONAS is vocab.AGENT_PERSONAS
    assert personas.ARITHMETIC_PERSONAS is vocab.ARITHMETIC_PERSONAS
    assert generate.KINDS == ("arithmetic", *vocab.DEBATE_TRAITS)
    assert not hasattr(runner, "_PERSONA_TRAIT") and not hasattr(train_data, "JUDGE_TRAITS")


def test_every_debate_trait_has_a_rubric_personas_and_a_short_name():
    assert tuple(judges.RUBRICS) == vocab.DEBATE_TRAITS
    assert tuple(vocab.PERSONA_PAIRS) == vocab.DEBATE_TRAITS == tuple(vocab.TRAIT_SHORT)
    for trait, (bad, good) in vocab.PERSONA_PAIRS.items():
        assert vocab.PERSONA_TRAIT[bad] in vocab.MALICIOUS_PERSONAS
        assert vocab.PERSONA_TRAIT[good] not in vocab.MALICIOUS_PERSONAS
        assert vocab.AGENT_PERSONAS[trait] == (good, bad, good)
        assert {bad, good} <= set(prompts.SYSTEM_PROMPTS)
    assert set(vocab.PERSONA_TRAIT.values()) <= set(vocab.TURN_TRAITS)
    assert vocab.TRAIT_SHORT["hallucination"] == "hallu"


def test_malicious_debates_label_turns_from_the_vocabulary():
    import random

    for trait in vocab.DEBATE_TRAITS:
        bad, good = vocab.PERSONA_PAIRS[trait]
        labels = [t.label for t in malicious.malicious_debate(trait, random.Random(0)).turns]
        assert [(x.persona, x.trait) for x in labels[:3]] == [
            (good, vocab.PERSONA_TRAIT[good]), (bad, vocab.PERSONA_TRAIT[bad]), (good, vocab.PERSONA_TRAIT[good])]


def test_tags_have_one_source():
    assert fmt.DEBATE_TAGS is vocab.DEBATE_TAGS and fmt.END_TAG is vocab.END_TAG
    assert not hasattr(runner, "_TAG_LIKE") and not hasattr(fmt, "_TAG_RE")
    pattern = vocab.TAG_LIKE.pattern
    holders = [p.relative_to(ROOT).as_posix() for d in ("models", "probes", "steering")
               for p in (ROOT / d).rglob("*.py") if pattern in p.read_text(encoding="utf-8")]
    assert set(holders) == {"models/vocab.py"}
    assert runner._clean("<|Agent 4 Solution|> x <|im_end|> <|Consensus|>") == "x <|im_end|>"


def test_plain_chat_matches_the_hooked_model_without_a_chat_template():
    from models.hooked import HookedModel

    no_template = SimpleNamespace(tokenizer=SimpleNamespace(chat_template=None))
    for system in (None, "", "Be brief."):
        assert vocab.plain_chat("2+2?", system) == HookedModel.chat_prompt(no_template, "2+2?", system=system)
    assert vocab.plain_chat("q", "s") == "System: s\nUser: q\nAssistant:"
    assert vocab.plain_chat("q", "") == "User: q\nAssistant:"


def test_plain_prompt_and_document_keep_the_runner_and_corpus_layouts():
    turns = [("system", "S"), ("user", "U"), ("assistant", "A\n"), ("user", "V")]
    assert vocab.plain_prompt(turns) == "System: S\nUser: U\nAssistant: A\n\nUser: V\nAssistant:"
    assert vocab.plain_document([("user", "u"), ("assistant", "a\n\n")]) == "User: u\nAssistant: a"
    model = SimpleNamespace(tokenizer=SimpleNamespace(chat_template=None))
    messages = [{"role": r, "content": c} for r, c in turns]
    assert runner._chat(model, messages, use_template=False) == vocab.plain_prompt(turns)


def test_heldout_split_and_question_format_live_in_the_data_package():
    assert train_data.heldout_problems is splits.heldout_problems
    assert train_data.arithmetic_debates is splits.arithmetic_debates
    assert train_data.malicious_debates is splits.malicious_debates
    assert train_data.TrainDataError is splits.TrainDataError
    assert train_data.present is prompts.present and train_data.QuestionFormat is prompts.QuestionFormat
    assert prompts.present("5+9*6-3") == "5 + 9 * 6 - 3" and prompts.present("5+9*6-3", "compact") == "5+9*6-3"
    assert [p.question for p in splits.heldout_problems("easy", 3)] == ["9+9*6-3", "9+3*1-4", "2+9*3-9"]  # as before the move
    heldout = {p.question for p in splits.heldout_problems("easy", 200)}
    train = splits.arithmetic_debates(30, "easy", seed=0, exclude=heldout)
    assert len(train) == 30 and not heldout & {t.question for t in train}


def test_answers_are_scored_by_one_function():
    assert runner.normalize_answer is normalize_answer
    assert train_evaluate.is_correct is is_correct and rewards.is_correct is is_correct
    assert is_correct("1,234", "1234") and is_correct(" 18. ", "18") and is_correct("$7", "7")
    assert not is_correct(None, "7") and not is_correct("12.0", "12") and not is_correct("-7", "7")


def _top_level_imports(path: Path) -> list[str]:
    names = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["steering", "probes"])
def test_analysis_packages_do_not_import_the_trainer(package):
    found = {p.name: m for p in sorted((ROOT / package).glob("*.py")) for m in _top_level_imports(p)
             if m == "models.train" or m.startswith("models.train.")}
    assert found == {}


def test_the_import_scan_sees_a_trainer_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from models.train.data import present\nimport models.train.evaluate\n")
    assert _top_level_imports(bad) == ["models.train.data", "models.train.evaluate"]


def test_vocab_imports_nothing_from_the_project():
    code = ("import sys, importlib.util, pathlib; spec = importlib.util.spec_from_file_location('v', "
            f"{str(ROOT / 'models/vocab.py')!r}); m = importlib.util.module_from_spec(spec); "
            "spec.loader.exec_module(m); print(sorted(k for k in sys.modules if k.split('.')[0] in "
            "('models', 'probes', 'steering')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
