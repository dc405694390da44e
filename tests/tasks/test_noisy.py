from __future__ import annotations

import json
import random

import pytest

from clirbench.errors import UnknownNameError
from clirbench.tasks import SUITES, expand_task_specs, is_builtin_task, load_task
from clirbench.tasks.noise import Noise, NoiseError, strip_diacritics
from tests.cli.conftest import cli  # noqa: F401 (fixture)


def test_diacritics_rule():
    # Hausa: tildes go, hooked letters are letters of their own and stay.
    assert strip_diacritics("Ãmin ɗan ƙasa ɓera") == "Amin ɗan ƙasa ɓera"
    assert strip_diacritics("Ŵana café ÉTÉ Ёлка") == "Wana cafe ETE Елка"
    # Arabic script: optional vowel marks go, hamza (a letter in Uyghur) stays.
    assert strip_diacritics("مُحَمَّد") == "محمد"
    assert strip_diacritics("ئۇيغۇر") == "ئۇيغۇر"
    # Ethiopic syllables and Devanagari vowel signs are not diacritics.
    assert strip_diacritics("ሰላም ዓለም") == "ሰላም ዓለም"
    assert strip_diacritics("हिन्दी") == "हिन्दी"


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def test_typos_hit_the_rate_and_change_one_letter_or_swap_two():
    rng = random.Random(1)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        for _ in range(4000)
    ]
    noisy = Noise(rate=0.2, seed=5).apply(" ".join(words), "document", "d1").split(" ")
    assert len(noisy) == len(words)
    changed = [(w, n) for w, n in zip(words, noisy, strict=True) if w != n]
    assert 0.17 < len(changed) / len(words) < 0.23
    assert all(_edit_distance(w, n) <= 2 and abs(len(w) - len(n)) <= 1 for w, n in changed)
    kinds = {
        "delete" if len(n) < len(w) else "swap" if sorted(n) == sorted(w) else "substitute"
        for w, n in changed
    }
    assert kinds == {"delete", "swap", "substitute"}


def test_noise_is_deterministic_per_text():
    noise = Noise(rate=0.5)
    text = "Mulungu anakonda dziko lapansi kotero kuti anapatsa Mwana wake"
    assert noise.apply(text, "document", "43003016") == noise.apply(text, "document", "43003016")
    outcomes = {noise.apply(text, "document", str(i)) for i in range(20)}
    assert len(outcomes) > 10  # the id seeds each text
    other_seed = Noise(rate=0.5, seed=1)
    assert other_seed.apply(text, "document", "x") != noise.apply(text, "document", "x")
    assert Noise(rate=0).apply("Ãmin ɗan", "query", "q") == "Amin ɗan"


def test_noisy_variant_card_and_sides():
    base = load_task("bible-en-ny/verse")
    task = load_task("bible-en-ny/verse/noisy")
    assert task.card.name == "bible-en-ny/verse/noisy"
    assert task.card.checksum != base.card.checksum and len(task.card.checksum) == 16
    assert "orthographic noise" in task.card.description and "3% of the words" in task.card.source
    assert task.queries == base.queries  # English side untouched
    assert task.qrels == base.qrels
    changed = sum(task.corpus[d].text != base.corpus[d].text for d in base.corpus)
    assert 0.2 * len(base.corpus) < changed < 0.6 * len(base.corpus)
    again = load_task("bible-en-ny/verse/noisy")
    assert again.corpus == task.corpus and again.card == task.card
    reverse = load_task("bible-ny-en/verse/noisy", "dev")
    plain = load_task("bible-ny-en/verse", "dev")
    assert reverse.corpus == plain.corpus and reverse.queries != plain.queries


def test_variant_names_carry_rate_and_seed():
    defaults = load_task("bible-en-ny/verse/noisy-rate0.03-seed0")
    assert defaults.card.name == "bible-en-ny/verse/noisy"
    named = load_task("bible-en-ny/passage/noisy-rate0.10-seed2")
    assert named.card.name == "bible-en-ny/passage/noisy-rate0.1-seed2"
    other = load_task("bible-en-ny/passage/noisy-seed3")
    assert other.card.checksum != named.card.checksum
    with pytest.raises(NoiseError, match=r"within 0..1"):
        load_task("bible-en-ny/verse/noisy-rate2")
    with pytest.raises(UnknownNameError, match="built-in task to add noise to"):
        load_task("bible-en-xx/verse/noisy")


def test_suite_lists_low_resource_verse_variants():
    assert {
        "bible-en-ny/verse/noisy",
        "bible-ny-en/verse/noisy",
        "quran-en-hau/verse/noisy",
    } <= set(SUITES["noisy"])
    assert "quran-en-jpn/verse/noisy" not in SUITES["noisy"]  # Japanese is not low-resource
    assert all(name.endswith("/verse/noisy") for name in SUITES["noisy"])
    assert expand_task_specs(["suite:noisy"]) == list(SUITES["noisy"])
    assert is_builtin_task("bible-ny-en/passage/noisy") and not is_builtin_task("x/y")


def test_list_and_describe_show_variants(cli):  # noqa: F811 - the fixture imported above
    listed = cli("list", "tasks", "--json")
    assert listed.code == 0
    rows = {row["name"]: row for row in json.loads(listed.out)["tasks"]}
    assert rows["bible-en-ny/verse/noisy"]["documents"] == 3000
    assert json.loads(listed.out)["suites"]["noisy"] == list(SUITES["noisy"])
    described = cli("describe", "bible-ny-en/verse/noisy-seed4", "--json")
    assert described.code == 0
    assert json.loads(described.out)["card"]["name"] == "bible-ny-en/verse/noisy-seed4"
