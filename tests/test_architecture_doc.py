"""docs/ARCHITECTURE.md stays accurate: the files it points to exist, the names it cites resolve."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text()


def test_every_file_it_names_exists():
    roots = "clirbench|baselines|methods|tests|examples|docs"
    paths = set(re.findall(rf"`((?:{roots})/[\w./-]+)`", DOC))
    assert len(paths) > 20
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"docs/ARCHITECTURE.md names files that do not exist: {missing}"


def test_the_registries_and_examples_it_cites_resolve():
    from clirbench.baselines.translators import TRANSLATORS
    from clirbench.registry import METHODS
    from clirbench.tasks import SOURCES

    assert {"irds:", "hf:", "mteb:"} <= set(SOURCES.prefixes())
    assert "bm25" in METHODS.names() and "lexical" in TRANSLATORS.names()
    plugin = (ROOT / "tests/data/plugin_site/clirbench_overlap_plugin.py").read_text()
    assert "class Echo" in plugin and "def toy_task" in plugin
    subprocess_tests = (ROOT / "tests/cli/test_subprocess.py").read_text()
    assert "test_entry_point_task_source_runs" in subprocess_tests
