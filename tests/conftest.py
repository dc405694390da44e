from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
PLUGIN_SITE = DATA / "plugin_site"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated tasks go to one cache per test session, never the user's ~/.cache."""
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny BEIR folder, for tests that damage it."""
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    return folder
