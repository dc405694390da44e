"""Hashes that name stored things (cells, caches, checkpoints, task versions) never change.

Each value below was computed before the hashing helpers were shared (clirbench.hashing); a
change here would orphan every stored result, cache entry and trained checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from clirbench.bitext import Bitext
from tests.conftest import TINY

BITEXT = Bitext("eng_Latn", "nya_Latn", (("rain", "mvula"), ("maize", "chimanga")), "file:/x.tsv")


def test_store_cache_and_mteb_keys_are_pinned():
    from clirbench.cache import namespace_id
    from clirbench.mteb_model import _options_digest
    from clirbench.store import config_hash

    assert config_hash("bm25", {"k1": 0.9, "b": 0.4}, 100) == "cb5e8ff4e5c9"
    namespace = {"model": "m", "revision": "r", "n": 3, "path": Path("/a")}
    assert namespace_id(namespace) == "9e0b1563d5d0acdb"
    assert _options_digest({"batch_size": 8, "model": "x"}) == "4008d0b0d51d"


def test_translator_training_keys_are_pinned():
    from clirbench.baselines.translators.lexical import revision
    from clirbench.baselines.translators.marian_local import MarianLocalConfig, training_key

    # ecc3dc8040358a98 until the analyzer (CJK bigrams) joined the key: tables retrain once.
    assert revision(BITEXT, 5) == "1ab4befc7e82907d"
    assert training_key(BITEXT, "tiny", MarianLocalConfig(steps=10), 0) == "68080232962305c1"


def test_method_checkpoint_keys_are_pinned():
    from clirbench.methods.adaptation.mlm import MLMConfig, checkpoint_id
    from clirbench.methods.adaptation.text import AdaptationText
    from clirbench.methods.optical import training

    text = AdaptationText("nya_Latn", ("mvula inagwa", "chimanga"), "builtin:bible-en-ny/train")
    config = MLMConfig(steps=3, batch_size=2, max_length=16, lr=1e-4)
    assert checkpoint_id("m", "r", text, config) == "b9de11e06ca9d4c3"
    assert training.bitext_id(BITEXT) == "file:/x.tsv#70c20342b3141a67"


def test_task_checksums_are_pinned():
    from clirbench.tasks import load_task
    from clirbench.tasks.noise import Noise, noisy_task

    base = load_task(str(TINY))
    assert base.card.checksum == "9b07c9da1cd4f6f0"
    assert noisy_task(base, Noise(0.1, 7)).card.checksum == "60935284020921be"
