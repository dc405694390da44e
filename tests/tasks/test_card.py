from __future__ import annotations

import pytest
from pydantic import ValidationError

from clirbench.tasks import BUILTIN_TASKS, load_task
from clirbench.tasks.card import TaskCard


def test_measures_are_canonical():
    card = TaskCard(name="t", source="s", measures=("MRR@10", "MAP", "nDCG@10", "RR@10"))
    assert card.measures == ("RR@10", "AP", "nDCG@10")


@pytest.mark.parametrize("code", ["eng", "en_Latn", "eng_latn", "English"])
def test_language_codes_are_checked(code):
    with pytest.raises(ValidationError, match="xxx_Xxxx"):
        TaskCard(name="t", source="s", query_lang=code)


def test_unknown_measure_and_field():
    with pytest.raises(ValidationError, match="unknown measure 'nDCG@ten'"):
        TaskCard(name="t", source="s", measures=("nDCG@ten",))
    with pytest.raises(ValidationError, match="extra"):
        TaskCard(name="t", source="s", languages="x")


@pytest.mark.parametrize("name", sorted(BUILTIN_TASKS))
def test_builtin_cards_are_complete(name, request):
    if name.startswith("quran-"):
        request.getfixturevalue("quran_wheel")  # the stand-in wheel: no download in tests
    card = load_task(name).card
    assert card.name == name
    assert card.query_lang != "unknown" and card.doc_lang != "unknown"
    assert card.license and card.citation and card.source and card.description
    assert len(card.checksum) == 16 and card.bitext == BUILTIN_TASKS[name].bitext


@pytest.mark.parametrize("name", ["", " padded", "tab\tname", "x" * 300, "ü" * 40])
def test_task_names_that_cannot_be_stored_are_refused(name):
    from pydantic import ValidationError

    from clirbench.tasks.card import TaskCard

    with pytest.raises(ValidationError):
        TaskCard(name=name, source="test")


@pytest.mark.parametrize("name", ["..", ".", "a/b", "a--b", "名前/verse", "x" * 60])
def test_odd_but_storable_task_names_are_kept(name):
    from clirbench.tasks.card import TaskCard

    assert TaskCard(name=name, source="test").name == name


def test_one_language_code_check_serves_cards_and_bitexts(tmp_path):
    from clirbench.bitext import read_bitext
    from clirbench.errors import InputError
    from clirbench.tasks.card import language_code_problem

    assert language_code_problem("nya_Latn") is None and language_code_problem("unknown") is None
    problem = language_code_problem("ny")
    assert problem is not None and "'ny' is not a language code of the form xxx_Xxxx" in problem
    path = tmp_path / "pairs.tsv"
    path.write_text("hello\tmoni\n")
    with pytest.raises(InputError, match="bad language code: 'ny' is not a language code"):
        read_bitext(path, "eng_Latn", "ny")
    assert read_bitext(path, "eng_Latn", "nya_Latn").pairs == (("hello", "moni"),)


def test_records_are_named():
    from clirbench.tasks.records import QrelRecord, collect_qrels
    from clirbench.tasks.task import Document

    record = QrelRecord("x.tsv", 3, "q1", "d1", 2)
    assert (record.query_id, record.doc_id, record.relevance, record.number) == ("q1", "d1", 2, 3)
    assert collect_qrels([record], {"q1": "t"}, {"d1": Document("d")}, "x.tsv") == {"q1": {"d1": 2}}
