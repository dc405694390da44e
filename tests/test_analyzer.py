from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clirbench.analyzer import _NEEDS_CARE, tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # Chinese: every run of Han characters as overlapping bigrams; punctuation splits runs.
        ("不信道者，你對他們", ["不信", "信道", "道者", "你對", "對他", "他們"]),
        # Japanese: bigrams span kanji and kana; the katakana middle dot splits words.
        ("信じようと", ["信じ", "じよ", "よう", "うと"]),
        ("アリフ・ラーム", ["アリ", "リフ", "ラー", "ーム"]),
        ("（頑固に）", ["頑固", "固に"]),
        # Korean syllables, and a lone character as a unigram.
        ("한국어 我 ア", ["한국", "국어", "我", "ア"]),
        # Han beside Latin in one \w+ word: the runs are split, the Latin word kept whole.
        ("abc中文def 2024年", ["abc", "中文", "def", "2024", "年"]),
        # Han outside the Basic Multilingual Plane.
        ("𠀋𠀋", ["𠀋𠀋"]),
        # Full- and half-width forms folded first, as Lucene's CJKWidthFilter.
        ("ＡＢＣ１２ ｶﾞｷﾞ", ["abc12", "ガギ"]),
        ("", []),
        ("。，！", []),
    ],
)
def test_cjk_runs_become_bigrams(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_other_scripts_are_lower_cased_words() -> None:
    text = "Mwana WANGA, ndi 2 агуу! ሰላም ዓለም، بسم الله  Ελληνικά_x"
    assert tokenize(text) == [
        "mwana",
        "wanga",
        "ndi",
        "2",
        "агуу",
        "ሰላም",
        "ዓለም",
        "بسم",
        "الله",
        "ελληνικά_x",
    ]


# Characters the analyzer leaves to \w+, and a sample of those it bigrams (Han, kana, Hangul,
# the prolonged sound mark, an iteration mark, Han beyond the BMP).
_PLAIN = st.characters(blacklist_categories=("Cs",)).filter(lambda c: not _NEEDS_CARE.match(c))
_CJK = st.sampled_from("中文信道者じよアーム한국𠀋々")


@given(st.text(_PLAIN))
def test_text_without_cjk_gets_exactly_the_old_word_tokens(text: str) -> None:
    assert tokenize(text) == re.findall(r"\w+", text.lower())


@given(st.text(st.one_of(_PLAIN, _CJK)))
def test_mixed_text_keeps_its_words_and_bigrams_each_cjk_run(text: str) -> None:
    cjk = re.compile("[中文信道者じよアーム한국𠀋々]+")
    tokens = tokenize(text)
    assert [t for t in tokens if not cjk.fullmatch(t)] == re.findall(
        r"\w+", cjk.sub(" ", text).lower()
    )
    runs = cjk.findall(text)
    expected = [run[i : i + 2] for run in runs for i in range(len(run) - 1)] + [
        run for run in runs if len(run) == 1
    ]
    assert sorted(t for t in tokens if cjk.fullmatch(t)) == sorted(expected)


@given(st.text())
def test_tokens_joined_by_spaces_tokenize_to_themselves(text: str) -> None:
    """Translations are written as space-joined tokens and read back by BM25's analyzer."""
    tokens = tokenize(text)
    assert tokenize(" ".join(tokens)) == tokens
