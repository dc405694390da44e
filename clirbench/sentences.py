"""Sentence splitting and sentence windows, for scoring long documents by their passages.

Dai & Callan (SIGIR 2019, "Deeper Text Understanding for IR with Contextual Neural Language
Modeling") score a long document by its first passage (FirstP) or its best one (MaxP). Here a
passage is a window of whole sentences, so no window cuts a sentence in two.

A sentence ends at a run of terminal punctuation, with any closing quotes or brackets after
it: ``. ! ?``, Arabic ``؟`` and ``۔`` (Urdu, Sindhi), the Devanagari danda ``। ॥`` when
followed by white space or the end of the text (so ``3.14`` and ``1:5.`` inside a line do not
split); Ethiopic ``።`` and ``፧`` and CJK ``。！？`` anywhere, since those scripts may not put a
space after them. A line break ends a sentence too. Abbreviations (``Mr.``) are not known, so
they end a sentence: a window of several sentences makes that harmless.
"""

from __future__ import annotations

import re

_CLOSERS = "\"'”’»)\\]」』"
_BOUNDARY = re.compile(
    rf"(?:[.!?\u061f\u06d4\u0964\u0965]+[{_CLOSERS}]*(?=\s|$)"
    rf"|[\u1362\u1367\u3002\uff01\uff1f]+[{_CLOSERS}]*"
    r"|\n)\s*"
)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, none empty; a text without any is one sentence."""
    sentences, start = [], 0
    for boundary in _BOUNDARY.finditer(text):
        sentences.append(text[start : boundary.end()].strip())
        start = boundary.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence] or [text]


def sentence_windows(text: str, size: int, stride: int, first_only: bool = False) -> list[str]:
    """Windows of ``size`` consecutive sentences, one every ``stride`` sentences, the last one
    ending at the last sentence, so every sentence is in a window. A text of at most ``size``
    sentences is its own single window, unchanged (so it shares its vector with ``whole``)."""
    sentences = split_sentences(text)
    if len(sentences) <= size:
        return [text]
    if first_only:
        return [" ".join(sentences[:size])]
    starts = list(range(0, len(sentences) - size + 1, stride))
    if starts[-1] + size < len(sentences):
        starts.append(len(sentences) - size)
    return [" ".join(sentences[start : start + size]) for start in starts]
