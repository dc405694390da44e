from __future__ import annotations

from pathlib import Path

import pytest

from clirbench.baselines.translators import TranslatorOptions, lexical, load_translator
from clirbench.bitext import Bitext
from clirbench.errors import ClirbenchError, MethodUnavailableError

# A made-up English-Chichewa bitext: every content word appears in several contexts.
TINY_PAIRS = (
    ("the dog drinks water", "galu amamwa madzi"),
    ("the child drinks water", "mwana amamwa madzi"),
    ("the king drinks water", "mfumu amamwa madzi"),
    ("the dog eats food", "galu amadya chakudya"),
    ("the child eats food", "mwana amadya chakudya"),
    ("the king eats food", "mfumu amadya chakudya"),
    ("the dog sees the house", "galu akuona nyumba"),
    ("the child sees the king", "mwana akuona mfumu"),
    ("the king sees the dog", "mfumu akuona galu"),
    ("the house of the king", "nyumba ya mfumu"),
    ("water and food", "madzi ndi chakudya"),
    ("the dog and the child", "galu ndi mwana"),
    ("the house", "nyumba"),
    ("water", "madzi"),
    ("the king", "mfumu"),
)
EN, NY, ZH = "eng_Latn", "nya_Latn", "zho_Hant"
# The same sentences in Chinese, unsegmented: words are learned from character bigrams.
ZH_PAIRS = (
    ("the dog drinks water", "小狗喝清水"),
    ("the child drinks water", "孩子喝清水"),
    ("the king drinks water", "國王喝清水"),
    ("the dog eats food", "小狗吃食物"),
    ("the child eats food", "孩子吃食物"),
    ("the king eats food", "國王吃食物"),
    ("the dog sees the house", "小狗看見房子"),
    ("the child sees the king", "孩子看見國王"),
    ("the king sees the dog", "國王看見小狗"),
    ("the house of the king", "國王的房子"),
    ("water and food", "清水和食物"),
    ("the dog and the child", "小狗和孩子"),
    ("the house", "房子"),
    ("water", "清水"),
    ("the king", "國王"),
)


def tiny_bitext(pairs: tuple[tuple[str, str], ...] = TINY_PAIRS) -> Bitext:
    return Bitext(EN, NY, pairs, "test:tiny")


@pytest.fixture
def translator() -> lexical.LexicalTranslator:
    return load_translator("lexical", bitext=tiny_bitext())


@pytest.mark.parametrize(
    ("english", "chichewa"),
    [("water", "madzi"), ("dog", "galu"), ("king", "mfumu"), ("food", "chakudya")],
)
def test_learns_word_translations_both_ways(
    translator: lexical.LexicalTranslator, english: str, chichewa: str
) -> None:
    assert translator.translation_table(EN, NY).top(english, 1)[0][0] == chichewa
    assert translator.translation_table(NY, EN).top(chichewa, 1)[0][0] == english


def test_translates_word_by_word_and_keeps_unknown_words(
    translator: lexical.LexicalTranslator,
) -> None:
    assert translator.translate(["Madzi, galu!", "zebra water"], NY, EN) == [
        "water dog",
        "zebra water",
    ]
    assert translator.translate(["zebra water"], EN, NY) == ["zebra madzi"]
    assert translator.translate([""], EN, NY) == [""]


def test_alternatives_give_several_translations_per_word(
    translator: lexical.LexicalTranslator,
) -> None:
    top = [word for word, _ in translator.translation_table(NY, EN).top("madzi", 2)]
    assert translator.translate(["madzi zebra"], NY, EN, alternatives=2) == [
        " ".join(top) + " zebra"
    ]


def test_probabilities_are_sorted_and_at_most_one(translator: lexical.LexicalTranslator) -> None:
    top = translator.translation_table(EN, NY).top("dog", 10)
    probabilities = [p for _, p in top]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1 + 1e-6
    assert translator.translation_table(EN, NY).top("zebra", 3) == []


@pytest.mark.parametrize(
    ("english", "chinese"),
    [("water", "清水"), ("dog", "小狗"), ("king", "國王"), ("food", "食物"), ("house", "房子")],
)
def test_learns_chinese_words_from_unsegmented_text(english: str, chinese: str) -> None:
    translator = load_translator("lexical", bitext=Bitext(EN, ZH, ZH_PAIRS, "test:tiny-zh"))
    assert translator.translation_table(EN, ZH).top(english, 1)[0][0] == chinese
    assert translator.translation_table(ZH, EN).top(chinese, 1)[0][0] == english
    assert translator.translate(["國王吃食物。"], ZH, EN) == ["king king eats food"]


def test_uncovered_direction_is_unavailable(translator: lexical.LexicalTranslator) -> None:
    with pytest.raises(MethodUnavailableError, match="zul_Latn"):
        translator.translate(["water"], EN, "zul_Latn")


def test_describe(translator: lexical.LexicalTranslator) -> None:
    assert translator.describe() == {
        "translator": "lexical",
        "model": "IBM Model 1",
        "revision": translator.revision,
        "bitext": "test:tiny",
        "pairs": len(TINY_PAIRS),
    }


def test_tables_are_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    first = lexical.LexicalTranslator(TranslatorOptions(), tiny_bitext())
    assert first.path.is_file() and first.path.is_relative_to(tmp_path / "models" / "lexical")

    def no_training(*args: object) -> None:
        raise AssertionError("trained again")

    monkeypatch.setattr(lexical, "train_ibm1", no_training)
    second = lexical.LexicalTranslator(TranslatorOptions(), tiny_bitext())
    assert second.revision == first.revision
    assert second.translate(["madzi ndi chakudya"], NY, EN) == first.translate(
        ["madzi ndi chakudya"], NY, EN
    )
    assert second.translation_table(EN, NY).top("king", 3) == first.translation_table(EN, NY).top(
        "king", 3
    )


def test_revision_follows_the_bitext_content() -> None:
    changed = (*TINY_PAIRS[:-1], ("the king", "mfumuyo"))
    assert lexical.revision(tiny_bitext(changed), 5) != lexical.revision(tiny_bitext(), 5)
    assert lexical.revision(tiny_bitext(), 4) != lexical.revision(tiny_bitext(), 5)


def test_revision_follows_the_analyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables trained on other tokens are not reused: the analyzer's name is in the key."""
    before = lexical.revision(tiny_bitext(), 5)
    monkeypatch.setattr(lexical, "ANALYZER", "another analyzer")
    assert lexical.revision(tiny_bitext(), 5) != before


def test_needs_a_bitext() -> None:
    with pytest.raises(MethodUnavailableError, match="bitext"):
        load_translator("lexical")


def test_a_bitext_without_words_is_an_error() -> None:
    with pytest.raises(ClirbenchError, match="no words"):
        lexical.train_ibm1([["water"]], [[]], 5)
