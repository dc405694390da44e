"""The one analyzer of lexical matching: BM25, the lexical translator and n-gram overlap tests.

Words are runs of Unicode word characters (``\\w+``), lower-cased, with no stemming or
stopwords, so any language that writes spaces between words works. Chinese and Japanese do not,
and a whole clause would be one word: there, as in Lucene's ``CJKAnalyzer``, every run of Han,
Hiragana, Katakana or Hangul characters becomes its overlapping character bigrams
("信道者" -> "信道", "道者"), and a lone such character a unigram. Bigrams span scripts, so
Japanese kanji + kana runs are bigrammed together, as Lucene's ``CJKBigramFilter`` does.

Full- and half-width forms (U+FF00-U+FFEF) are first folded to their usual width (NFKC, as
Lucene's ``CJKWidthFilter``): "ＡＢＣ１" is "abc1" and half-width "ｶﾞ" is "ガ".

A text with none of those characters gets exactly the words ``\\w+`` gives, so results on
other scripts do not change. :data:`ANALYZER` names this behaviour for cache keys and manifests:
change it whenever :func:`tokenize` gives different tokens for some text.
"""

from __future__ import annotations

import re
import unicodedata

ANALYZER = "lowercase \\w+, CJK bigrams (v1)"

# Han, Hiragana, Katakana and Hangul blocks. Their non-word characters (radicals, the katakana
# middle dot, combining sound marks) never reach the bigrams: only \w+ words are split.
_CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK Radicals Supplement, Kangxi Radicals
    "\u3005\u3007\u3021-\u3029\u3038-\u303b"  # Han iteration mark and numerals
    "\u3041-\u30ff"  # Hiragana, Katakana (with the prolonged sound mark)
    "\u3130-\u318f"  # Hangul Compatibility Jamo
    "\u31f0-\u31ff"  # Katakana Phonetic Extensions
    "\u3400-\u4dbf\u4e00-\u9fff"  # CJK Unified Ideographs and Extension A
    "\ua960-\ua97f\uac00-\ud7ff"  # Hangul Jamo Extended-A, Syllables, Jamo Extended-B
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U0001aff0-\U0001b16f"  # Kana Extended-B, Kana Supplement, Kana Extended-A, Small Kana
    "\U00020000-\U0003ffff"  # CJK Unified Ideographs Extensions B-H, Compatibility Supplement
)
_WIDTH = "\uff00-\uffef"
_WORD = re.compile(r"\w+")
_NEEDS_CARE = re.compile(f"[{_CJK}{_WIDTH}]")
_WIDTH_RUN = re.compile(f"[{_WIDTH}]+")
_RUN = re.compile(f"([{_CJK}]+)|[^{_CJK}]+")


def _fold_width(match: re.Match[str]) -> str:
    # NFKC maps each form alone ("ﾞ" -> U+3099); NFC then joins "カ" + U+3099 into "ガ".
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", match.group()))


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)] if len(run) > 1 else [run]


def tokenize(text: str) -> list[str]:
    """Lower-cased ``\\w+`` words, with Han, kana and Hangul runs as character bigrams."""
    if not _NEEDS_CARE.search(text):
        return _WORD.findall(text.lower())
    tokens: list[str] = []
    for word in _WORD.findall(_WIDTH_RUN.sub(_fold_width, text).lower()):
        for run in _RUN.finditer(word):
            if run.group(1):
                tokens.extend(_bigrams(run.group()))
            else:
                tokens.append(run.group())
    return tokens
