"""models.judges.quality: repetition and word salad caught on real salad, never on the debates' own prose."""

from __future__ import annotations

import random

import pytest
from tokenizers import Tokenizer

from models.debate.malicious import malicious_debate, validation_pairs
from models.judges.quality import (
    FUNCTION_WORDS,
    IMPLAUSIBLE_WORD,
    MIN_WORDS,
    degeneracy,
    garbage_texts,
    letter_plausibility,
    quality,
    reference_words,
    word_salad,
)
from models.registry import ADAPTER_ASSETS, SHARED_TOKENIZER


def _prose() -> list[str]:
    """Held-out wording the letter model never saw (validation pairs), and generated train-family turns."""
    held = [t for trait in ("evil", "hallucination") for p in validation_pairs(trait, 40)  # type: ignore[arg-type]
            for t in (p.trait_text, p.benign_text)]
    turns = [turn.text for trait in ("evil", "hallucination") for i in range(20)
             for turn in malicious_debate(trait, random.Random(1000 + i)).turns]  # type: ignore[arg-type]
    return held + turns


def _shuffled(text: str, rng: random.Random, keep_function_words: bool = False) -> str:
    def mix(word: str) -> str:
        if keep_function_words and word.lower().strip(".,;:") in FUNCTION_WORDS:
            return word
        return "".join(rng.sample(word, len(word)))

    return " ".join(mix(w) for w in text.split())


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


def test_the_debates_prose_is_never_called_salad() -> None:
    texts = [t for t in _prose() if len(t.split()) >= MIN_WORDS]
    assert len(texts) > 200
    flagged = [t for t in texts if word_salad(t).salad]
    assert not flagged, flagged[:3]
    assert all(not quality(t).degenerate for t in texts)


def test_shuffled_characters_are_salad_even_when_function_words_survive() -> None:
    rng = random.Random(0)
    held = [p.benign_text for p in validation_pairs("evil", 40)] + [p.trait_text for p in validation_pairs("hallucination", 40)]
    assert _share([word_salad(_shuffled(t, rng)).salad for t in held]) >= 0.95
    kept = [_shuffled(t, rng, keep_function_words=True) for t in held]
    assert _share([word_salad(t).salad for t in kept]) >= 0.9  # caught by spelling alone
    assert all(word_salad(t).function_share >= 0.1 for t in kept[:5])


def test_random_tokens_from_a_real_tokenizer_are_salad() -> None:
    """SmolLM2's vocabulary: mostly real English words and fragments, strung together without grammar."""
    tok = Tokenizer.from_file(str(ADAPTER_ASSETS / SHARED_TOKENIZER / "tokenizer.json"))
    rng = random.Random(0)
    texts = [tok.decode([rng.randrange(tok.get_vocab_size()) for _ in range(rng.randint(15, 40))]) for _ in range(60)]
    texts = [t for t in texts if word_salad(t).n_words >= MIN_WORDS]
    assert len(texts) >= 50
    assert _share([word_salad(t).salad for t in texts]) >= 0.9
    vocab = tok.get_vocab()
    words = sorted(w[1:] for w in vocab if w.startswith("\u0120") and w[1:].isalpha() and w[1:].islower())
    real_words = [" ".join(rng.sample(words, 20)) for _ in range(30)]  # real words, no grammar
    assert all(word_salad(t).salad for t in real_words)


def test_mixed_scripts_are_salad_but_one_foreign_word_is_not() -> None:
    rng = random.Random(1)
    foreign = ["данные", "модель", "的", "是", "λόγος", "مرحبا"]
    base = [p.benign_text for p in validation_pairs("evil", 20)]
    mixed = [" ".join(w + (" " + rng.choice(foreign) if rng.random() < 0.4 else "") for w in t.split()) for t in base]
    assert all(word_salad(t).salad and word_salad(t).foreign_share > 0.15 for t in mixed)
    one = base[0] + " (in Russian: данные)"
    assert not word_salad(one).salad


def test_short_or_empty_text_is_not_salad_and_numbers_are_not_words() -> None:
    assert word_salad("").n_words == 0 and not word_salad("").salad
    assert not word_salad("xqzv bnrt plk").salad  # too short to call
    assert not word_salad("12 + 30 = 42, so the answer is 42.").salad


def test_letter_plausibility_separates_real_words_from_their_shuffles() -> None:
    """About 5 % of real words fall below the cutoff by design (a text needs 40 % to be salad)."""
    rng = random.Random(2)
    text = " ".join(p.benign_text + " " + p.trait_text for p in validation_pairs("hallucination", 40))
    words = sorted({w.strip(".,;:!?'\"()").lower() for w in text.split()} - {""})
    words = [w for w in words if w.isascii() and w.isalpha() and len(w) >= 4]
    assert len(words) > 50
    shuffled = ["".join(rng.sample(w, len(w))) for w in words]
    real_low = sum(letter_plausibility(w) < IMPLAUSIBLE_WORD for w in words) / len(words)
    shuffled_low = sum(letter_plausibility(s) < IMPLAUSIBLE_WORD for s in shuffled) / len(shuffled)
    assert real_low <= 0.1 and shuffled_low >= 0.5
    assert letter_plausibility("colleague") > IMPLAUSIBLE_WORD > letter_plausibility("xqzvbnrt")
    with pytest.raises(ValueError, match="lowercase"):
        letter_plausibility("Hello")
    assert "colleague" in reference_words() and "the" in reference_words()


@pytest.mark.parametrize(
    "text, degenerate",
    [("The capital of France is Paris, a city on the Seine.", False),
     ("no no no no no no no no no no no", True),
     ("I will win. I will win. I will win. I will win. I will win. I will win.", True),
     ("", True),
     ("1. 1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1", True),
     ("abababababababababababababababababababababababababababababab", True),
     ("| a | b |\n|---|---|\n| 1 | 2 |, and 3.14159 is pi; 10,000,000 is ten million.", False)],
)
def test_repetition_detector_is_the_one_steering_reports(text: str, degenerate: bool) -> None:
    from steering.coherence import degeneracy as steering_degeneracy

    assert steering_degeneracy is degeneracy  # one copy
    assert degeneracy(text).degenerate is degenerate


def test_quality_names_the_detector_that_fired() -> None:
    assert quality("I will win. " * 8).reason == "repetition"
    salad = "diameter bodies changed reput boro lash Hale disinfectant tomorrow department"
    assert quality(salad).reason == "word_salad" and quality(salad).degenerate
    fine = quality("Ask your manager how the budget will be decided, and prepare an honest case.")
    assert fine.reason is None and not fine.degenerate


def test_garbage_texts_are_deterministic_and_all_degenerate() -> None:
    texts = garbage_texts(12, seed=3)
    assert texts == garbage_texts(12, seed=3) and texts != garbage_texts(12, seed=4)
    assert len(texts) == 12 and all(quality(t).reason == "word_salad" for t in texts)
    assert garbage_texts(0) == []
    with pytest.raises(ValueError):
        garbage_texts(-1)
