"""bm25 and nmt[lexical] rank non-CJK tasks exactly as pinned, on every machine.

``tests/data/lexical_runs.json`` holds a digest of each run below, made by
``python -m tests.baselines.test_lexical_runs_pinned [--real]``. The pins were first made with
the code of commit 7011043 (word tokens ``\\w+``, before clirbench.analyzer), to show that the
analyzer changed tokens of Han, kana and Hangul text only. They were made again when bm25's
top-k stopped using numpy's ``argpartition``, whose order of tied scores differs between CPUs
(AVX2 or AVX-512): the documents tied at rank 100 differed between machines, and so did these
digests. Every run here must stay byte-identical.

The Bible tasks and a Qur'an task from the stand-in wheel run everywhere; the real Qur'an tasks
only where the real alfanous wheel was already in ``$CLIRBENCH_CACHE`` when pytest started.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from clirbench.method import Run
from tests.conftest import DATA

PINS = DATA / "lexical_runs.json"
METHODS = {
    "bm25": ("bm25", {}),
    "nmt[lexical]": ("nmt", {"translators": ["lexical"]}),
    "nmt[lexical,qt]": ("nmt", {"translators": ["lexical"], "mode": "query"}),
}
BIBLE_TASKS = ("bible-en-ny/verse", "bible-ny-en/verse")
STAND_IN_QURAN_TASKS = ("quran-en-swh/verse",)
REAL_QURAN_TASKS = (
    "quran-en-swh/verse",
    "quran-en-amh/verse",
    "quran-en-uig/verse",
    "quran-en-tgk/verse",
    "quran-swh-en/verse",
)
_USER_CACHE = os.environ.get("CLIRBENCH_CACHE")  # read before the tests isolate the cache


def run_digest(run: Run) -> str:
    """sha256 of the run as text: queries sorted, documents by score then id, scores as repr."""
    digest = hashlib.sha256()
    for qid in sorted(run):
        for doc_id, score in sorted(run[qid].items(), key=lambda item: (-item[1], item[0])):
            digest.update(f"{qid}\t{doc_id}\t{score!r}\n".encode())
    return digest.hexdigest()


def digests(tasks: tuple[str, ...]) -> dict[str, str]:
    """``method.task`` -> digest of its top-100 run on the test split."""
    from clirbench.registry import build_options, instantiate
    from clirbench.tasks import load_task

    found = {}
    for label, (name, options) in METHODS.items():
        method = instantiate(name, build_options(name, options))
        for task_name in tasks:
            found[f"{label}.{task_name}"] = run_digest(method.retrieve(load_task(task_name), k=100))
    return found


def _pins(group: str) -> dict[str, str]:
    return json.loads(PINS.read_text())[group]


def _real_wheel() -> Path | None:
    from clirbench.tasks.builtin import quran

    if not _USER_CACHE:
        return None
    wheel = Path(_USER_CACHE) / "sources" / "alfanous" / quran.WHEEL_NAME
    return wheel if wheel.is_file() else None


@pytest.mark.slow
def test_bible_runs_unchanged() -> None:
    assert digests(BIBLE_TASKS) == _pins("bible")


@pytest.mark.slow
def test_stand_in_quran_runs_unchanged(quran_wheel: Path) -> None:
    assert digests(STAND_IN_QURAN_TASKS) == _pins("stand-in quran")


@pytest.mark.slow
@pytest.mark.skipif(_real_wheel() is None, reason="the real alfanous wheel is not cached")
def test_real_quran_runs_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clirbench.tasks.builtin import quran

    wheel = _real_wheel()
    assert wheel is not None
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))  # apart from the stand-in's suite
    target = tmp_path / "sources" / "alfanous" / quran.WHEEL_NAME
    target.parent.mkdir(parents=True)
    shutil.copyfile(wheel, target)
    assert digests(REAL_QURAN_TASKS) == _pins("real quran")


def _regenerate(real: bool) -> None:
    """Write the pins: the Bible and, with ``real``, the real Qur'an from ``$CLIRBENCH_CACHE``;
    the stand-in Qur'an in a cache of its own."""
    import tempfile

    from clirbench.tasks.builtin import quran
    from tests.quran_wheel import make_wheel

    pins = {"bible": digests(BIBLE_TASKS)}
    if real:
        pins["real quran"] = digests(REAL_QURAN_TASKS)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CLIRBENCH_CACHE"] = cache
        make_wheel(Path(cache) / "sources" / "alfanous" / quran.WHEEL_NAME)
        pins["stand-in quran"] = digests(STAND_IN_QURAN_TASKS)
    PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":  # only with the code the pins describe
    _regenerate("--real" in sys.argv)
