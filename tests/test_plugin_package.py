"""The README's complete plugin package (examples/plugin-char-ngrams), installed by pip and run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY

PACKAGE = Path(__file__).resolve().parent.parent / "examples" / "plugin-char-ngrams"


@pytest.mark.slow
def test_plugin_package_installs_and_runs_without_touching_clirbench(tmp_path: Path):
    site, source = tmp_path / "site", tmp_path / "source"
    shutil.copytree(PACKAGE, source)  # pip builds in the source folder: keep the checkout clean
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    }
    cli = [sys.executable, "-m", "clirbench"]
    described = subprocess.run(
        [*cli, "describe", "char-ngrams", "--json"], env=env, capture_output=True, text=True
    )
    assert described.returncode == 0, described.stderr
    options = {o["name"]: o for o in json.loads(described.stdout)["options"]}
    assert options["n"]["default"] == 3 and "n-grams" in options["n"]["doc"]
    store = tmp_path / "results"
    ran = subprocess.run(
        [
            *cli,
            "run",
            "-m",
            "char-ngrams,bm25",
            "-t",
            str(TINY),
            "--store",
            str(store),
            "--set",
            "char-ngrams.n=4",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    (cell,) = store.glob("tiny-en-ny/test/char-ngrams@*")
    manifest = json.loads((cell / "manifest.json").read_text())
    assert manifest["method"]["identity"] == {
        "distribution": "clirbench-char-ngrams",
        "distribution_version": "0.1.0",
        "method_version": "1",
    }
    assert manifest["method"]["identity_options"] == {"n": 4}
    assert json.loads((cell / "aggregate.json").read_text())["nDCG@10"] > 0
    compared = subprocess.run(
        [
            *cli,
            "compare",
            "char-ngrams",
            "bm25",
            "-t",
            str(TINY),
            "--store",
            str(store),
            "--json",
            "--resamples",
            "200",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["comparisons"][0]["a"] == "char-ngrams"
