"""OPTICAL: the Sinkhorn solver against POT, training, checkpoints, and a user's own language pair.

Teacher and student are tiny BERT models built here (random weights, a WordPiece vocabulary of
a made-up language ``qaa_Latn`` and English), so every test runs offline in seconds.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from clirbench.cli import app
from clirbench.errors import OptionsError
from clirbench.methods.optical.method import PRESETS
from clirbench.registry import build_options
from clirbench.tasks import load_task

ENGLISH = (
    "rain fish lake maize harvest night village river goat bread water child market song".split()
)
MADE_UP = "mvu nso nya chi kol usi mud mts mbu mka madzi mwa msi nyi".split()
LEXICON = dict(zip(ENGLISH, MADE_UP, strict=True))
STEPS = 6


def _tiny_bert(folder: Path, hidden: int, seed: int) -> str:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: i for i, token in enumerate([*specials, ":", *ENGLISH, *MADE_UP])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    wrapped = BertTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=32,
    )
    wrapped.save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=32,
    )
    BertModel(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Tiny teacher (width 32) and student (width 24: a projection is trained), a bitext TSV in
    English-qaa_Latn and a BEIR folder with English queries over qaa_Latn documents."""
    root = tmp_path_factory.mktemp("optical-world")
    rng = random.Random(0)
    sentences = [rng.sample(ENGLISH, rng.randint(2, 5)) for _ in range(80)]
    bitext = root / "en-qaa.tsv"
    bitext.write_text(
        "".join(f"{' '.join(s)}\t{' '.join(LEXICON[w] for w in s)}\n" for s in sentences),
        encoding="utf-8",
    )
    beir = root / "beir"
    (beir / "qrels").mkdir(parents=True)
    docs = [rng.sample(ENGLISH, 4) for _ in range(12)]
    with (beir / "corpus.jsonl").open("w") as out:
        for i, words in enumerate(docs):
            out.write(
                json.dumps(
                    {"_id": f"d{i}", "title": "", "text": " ".join(LEXICON[w] for w in words)}
                )
                + "\n"
            )
    with (beir / "queries.jsonl").open("w") as out:
        for i, words in enumerate(docs[:6]):
            out.write(json.dumps({"_id": f"q{i}", "text": " ".join(words[:2])}) + "\n")
    (beir / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(6))
    )
    (beir / "task.yaml").write_text("name: tiny-en-qaa\nquery_lang: eng_Latn\ndoc_lang: qaa_Latn\n")
    return {
        "teacher": _tiny_bert(root / "teacher", 32, seed=1),
        "student": _tiny_bert(root / "student", 24, seed=2),
        "bitext": str(bitext),
        "beir": str(beir),
    }


def _options(world: dict[str, str], **overrides: object) -> dict[str, object]:
    return {
        "teacher": world["teacher"],
        "student": world["student"],
        "bitext_file": world["bitext"],
        "bitext_target_lang": "qaa_Latn",
        "steps": STEPS,
        "train_batch_size": 8,
        "max_length": 16,
        "lr": 1e-3,
        "checkpoint_every": 2,
        **overrides,
    }


def _method(name: str, world: dict[str, str], **overrides: object):
    from clirbench.registry import instantiate

    if name == "untrained-student":
        values = {"teacher": world["teacher"], "student": world["student"], **overrides}
    else:
        values = _options(world, **overrides)
    return instantiate(name, build_options(name, values))


# --------------------------------------------------------------------------- Sinkhorn


def _masked_batch(seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    rows, cols = (
        torch.randn(4, 9, 16, generator=generator, dtype=torch.float64),
        torch.randn(4, 7, 16, generator=generator, dtype=torch.float64),
    )
    a, b = torch.zeros(4, 9, dtype=torch.float64), torch.zeros(4, 7, dtype=torch.float64)
    for i, (n, m) in enumerate([(9, 7), (5, 7), (3, 2), (8, 4)]):
        a[i, :n] = torch.rand(n, generator=generator, dtype=torch.float64) + 0.5
        b[i, :m] = 1.0
    return rows, cols, a / a.sum(1, keepdim=True), b / b.sum(1, keepdim=True)


@pytest.mark.parametrize("eps", [0.05, 0.1])
def test_sinkhorn_plans_match_pot_per_pair_with_padding_dropped(eps: float):
    import ot

    from clirbench.methods.optical.sinkhorn import cosine_cost, sinkhorn_log

    rows, cols, a, b = _masked_batch()
    cost = cosine_cost(rows, cols)
    plans = sinkhorn_log(cost, a, b, eps, 50)
    for i in range(len(a)):
        n, m = int((a[i] > 0).sum()), int((b[i] > 0).sum())
        expected = ot.sinkhorn(
            a[i, :n].numpy(),
            b[i, :m].numpy(),
            cost[i, :n, :m].numpy(),
            reg=eps,
            method="sinkhorn_log",
            numItermax=50,
            stopThr=0.0,
            warn=False,
        )
        np.testing.assert_allclose(plans[i, :n, :m].numpy(), expected, rtol=1e-7, atol=1e-12)
        assert (
            float(plans[i, n:].abs().sum() + plans[i, :, m:].abs().sum()) == 0.0
        )  # no mass on padding


@pytest.mark.parametrize("detach_plan", [True, False])
def test_ot_loss_decreases_on_a_tiny_problem(detach_plan: bool):
    from clirbench.methods.optical.sinkhorn import ot_loss

    rows, cols, a, b = _masked_batch(seed=1)
    student = torch.nn.Parameter(rows.float())
    optimizer = torch.optim.Adam([student], lr=0.05)
    losses = []
    for _ in range(40):
        loss = ot_loss(
            student, a.float(), cols.float(), b.float(), eps=0.05, iters=30, detach_plan=detach_plan
        )
        optimizer.zero_grad()
        loss.backward()
        assert torch.isfinite(student.grad).all()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# --------------------------------------------------------------------------- training


def test_training_on_tiny_models_lowers_the_loss(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    method = _method("optical+mse", world, steps=30, lr=3e-3)
    record = method.training
    assert record["steps"] == 30 and record["loss_last_10"] < record["loss_first_10"]
    assert method.models.student.projection is not None  # widths 24 -> 32


def test_interrupted_training_resumes_where_it_stopped(world, tmp_path, monkeypatch):
    from clirbench.methods.optical.training import STUDENT_FILE

    def interrupt(step: int, loss: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "interrupted"))
    distiller = _method("optical", world).distiller()
    with pytest.raises(KeyboardInterrupt):
        distiller.run(on_step=interrupt)
    assert distiller.loop.last_checkpoint().name == "step-00000003"
    steps = []
    record = (
        _method("optical", world).distiller().run(on_step=lambda step, loss: steps.append(step))
    )
    assert steps == [4, 5, 6] and record["resumed_from"] == 3 and record["steps"] == STEPS
    assert distiller.loop.last_checkpoint() is None  # cleared once the student is published
    resumed = torch.load(distiller.folder / STUDENT_FILE)

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "straight"))
    straight = _method("optical", world).distiller()
    straight.run()
    expected = torch.load(straight.folder / STUDENT_FILE)
    assert resumed.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(resumed[name], expected[name])


# Trained weights and loss logs of each loss composition, pinned with the trainer before it moved
# onto clirbench.training's loop (issue 15): the same configuration must train the same floats.
VARIANTS = {
    "optical": ("optical", {}),
    "distill-mse": ("distill-mse", {}),
    "optical+mse": ("optical+mse", {}),
    "idf-mixed": (
        "optical+mse",
        {
            "marginals": "idf",
            "bitext_prompt": "mixed",
            "detach_plan": False,
            "center_tokens": False,
            "freeze_embeddings": False,
            "frozen_layers": 1,
        },
    ),
}
PINNED = {  # variant: (student.pt digest, loss log digest)
    "optical": ("4e33788ca036fbeb", "155a9e6648bcf71e"),
    "distill-mse": ("29e8839ad69d9143", "ab47291b19398bde"),
    "optical+mse": ("d489a7809c4f42d4", "de3f2269663d1538"),
    "idf-mixed": ("c3c0f78ed7ed5890", "a9a71876c5a4973d"),
}


def _trained_digests(world, variant: str, stop_at: int | None = None) -> tuple[str, str, dict]:
    """Train ``variant`` (interrupted after ``stop_at`` steps and resumed, if given)."""
    from clirbench.methods.optical.training import STUDENT_FILE
    from tests.pins import log_digest, state_digest

    name, overrides = VARIANTS[variant]
    if stop_at is not None:

        def interrupt(step: int, loss: float) -> None:
            if step == stop_at:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            _method(name, world, **overrides).distiller().run(on_step=interrupt)
    distiller = _method(name, world, **overrides).distiller()
    record = distiller.run()
    state = torch.load(distiller.folder / STUDENT_FILE, weights_only=True)
    return state_digest(state), log_digest(record["log"]), record


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_loss_composition_trains_the_pinned_weights(world, tmp_path, monkeypatch, variant):
    from tests.pins import skip_unless_recorded_platform

    skip_unless_recorded_platform()
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    weights, log, record = _trained_digests(world, variant)
    assert (weights, log) == PINNED[variant]
    assert record["steps"] == STEPS and record["resumed_from"] == 0


@pytest.mark.parametrize("variant", ["optical", "idf-mixed"])
def test_an_interrupted_training_resumes_to_the_pinned_weights(
    world, tmp_path, monkeypatch, variant
):
    from tests.pins import skip_unless_recorded_platform

    skip_unless_recorded_platform()
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    weights, log, record = _trained_digests(world, variant, stop_at=3)
    assert (weights, log) == PINNED[variant]
    assert record["resumed_from"] == 3


def _as_old_state(distiller) -> None:
    """Rewrite the loop's checkpoint as the trainer's own loop wrote it before issue 15: one
    ``state.pt`` (checked against a file that code wrote)."""
    from clirbench.methods.optical.training import OLD_STATE_FILE

    (checkpoint,) = distiller.loop.checkpoints.iterdir()

    def load(name: str):
        return torch.load(checkpoint / name, weights_only=True)

    progress = json.loads((checkpoint / "progress.json").read_text(encoding="utf-8"))
    rng = load("rng.pt")
    numpy = rng["numpy"]
    state = {
        "student": {k.removeprefix("student."): v for k, v in load("weights.pt").items()},
        "optimizer": load("optimizer.pt"),
        "scheduler": load("scheduler.pt"),
        "step": progress["step"],
        "log": progress["log"],
        "seconds": progress["seconds"],
        "rng": {
            "torch": rng["torch"],
            "cuda": None,
            "python": rng["python"],
            "numpy": (
                numpy["kind"],
                numpy["keys"].numpy().astype(np.uint32),
                numpy["position"],
                numpy["has_gauss"],
                numpy["gauss"],
            ),
        },
    }
    torch.save(state, distiller.folder / OLD_STATE_FILE)
    distiller.loop.clear_checkpoints()


def test_a_state_of_the_old_trainer_resumes_to_the_pinned_weights(world, tmp_path, monkeypatch):
    from clirbench.methods.optical.training import OLD_STATE_FILE, STUDENT_FILE
    from tests.pins import log_digest, skip_unless_recorded_platform, state_digest

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    name, overrides = VARIANTS["idf-mixed"]

    def interrupt(step: int, loss: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    distiller = _method(name, world, **overrides).distiller()
    with pytest.raises(KeyboardInterrupt):
        distiller.run(on_step=interrupt)
    _as_old_state(distiller)
    steps = []
    resumed = _method(name, world, **overrides).distiller()
    record = resumed.run(on_step=lambda step, loss: steps.append(step))
    assert steps == [4, 5, 6] and record["resumed_from"] == 3 and len(record["log"]) == STEPS
    assert not (resumed.folder / OLD_STATE_FILE).exists()
    skip_unless_recorded_platform()
    state = torch.load(resumed.folder / STUDENT_FILE, weights_only=True)
    assert (state_digest(state), log_digest(record["log"])) == PINNED["idf-mixed"]


def test_second_run_reuses_the_checkpoint_and_its_vectors(world, tmp_path, monkeypatch):
    from clirbench.methods.optical.training import Distiller

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    task = load_task(world["beir"])
    first = _method("optical", world)
    run = first.retrieve(task, 5)
    other = _method("optical", world, seed=1).cache_namespace("qaa_Latn", "document")
    monkeypatch.setattr(Distiller, "run", lambda *args, **kwargs: pytest.fail("trained again"))
    second = _method("optical", world)
    again = second.retrieve(task, 5)
    assert again.keys() == run.keys() and all(again[q] == pytest.approx(run[q]) for q in run)
    assert second.training["checkpoint"] == first.training["checkpoint"]
    namespace = second.cache_namespace("qaa_Latn", "document")
    assert namespace["training"] == {k: first.training[k] for k in ("checkpoint", "student_sha256")}
    assert (
        other["training"]["checkpoint"] != namespace["training"]["checkpoint"]
    )  # another student, other vectors


def test_user_bitext_trains_optical_for_a_beir_folder_in_that_language(
    world, tmp_path, monkeypatch
):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    sets = [f"optical.{key}={value}" for key, value in _options(world).items()]
    args = ["run", "-m", "optical,untrained-student", "-t", world["beir"], "--store", str(out)]
    args += [item for s in sets for item in ("--set", s)]
    args += [
        "--set",
        f"untrained-student.teacher={world['teacher']}",
        "--set",
        f"untrained-student.student={world['student']}",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (cell,) = out.glob("tiny-en-qaa/test/optical@*")
    manifest = json.loads((cell / "manifest.json").read_text())
    training = manifest["method"]["training"]
    assert training["steps"] == STEPS and training["bitext"].startswith(f"file:{world['bitext']}#")
    assert manifest["method"]["label"] == "optical[teacher->student]"
    assert (
        len((cell / "run.trec").read_text().splitlines()) == 6 * 12
    )  # every query ranks all 12 documents
    (untrained,) = out.glob("tiny-en-qaa/test/untrained-student@*")
    assert json.loads((untrained / "manifest.json").read_text())["method"]["training"] == {
        "checkpoint": "untrained"
    }


def test_rerank_rescores_only_the_other_methods_candidates(world, tmp_path, monkeypatch):
    from clirbench.registry import instantiate

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    task = load_task(world["beir"])
    candidates = instantiate("bm25", build_options("bm25", {})).retrieve(task, 3)
    method = _method("untrained-student", world, rerank="bm25", rerank_depth=3)
    run = method.retrieve(task, 2)
    assert method.label() == "untrained-student[teacher->student,rerank:bm25]"
    for query_id, hits in run.items():
        assert set(hits) <= set(candidates[query_id]) and len(hits) == min(
            2, len(candidates[query_id])
        )


def test_rerank_reads_the_candidates_cell_from_the_store(world, tmp_path, monkeypatch):
    from clirbench.method import MethodBase
    from clirbench.registry import register_method
    from clirbench.runner import MethodSpec, run_cells
    from clirbench.store import ResultStore

    @register_method("test-first-docs")
    class FirstDocs(MethodBase):
        """The first k documents by id, for every query: candidates with no shared words needed."""

        def retrieve(self, task, k):
            first = sorted(task.corpus)[:k]
            return {q: {d: 1.0 / (1 + i) for i, d in enumerate(first)} for q in task.queries}

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "cache"))
    task, store = load_task(world["beir"]), ResultStore(tmp_path / "store")
    values = {
        "teacher": world["teacher"],
        "student": world["student"],
        "rerank": "test-first-docs",
        "rerank_depth": 3,
    }
    spec = MethodSpec("untrained-student", build_options("untrained-student", values))
    (outcome,) = run_cells([task], [spec], store, k=2)
    cells = {cell.manifest["method"]["name"]: cell for cell in store.cells()}
    assert outcome.status == "computed" and set(cells) == {"test-first-docs", "untrained-student"}
    candidates = cells["test-first-docs"]
    assert candidates.manifest["method"]["k"] == 3  # the candidates are a cell at rerank_depth
    assert outcome.cell.manifest["inputs"][0]["config_hash"] == candidates.system[1]
    assert {q: len(hits) for q, hits in outcome.cell.run.items()} == dict.fromkeys(task.queries, 2)
    for query_id, hits in outcome.cell.run.items():
        assert set(hits) <= set(candidates.run[query_id])
    deeper = build_options("untrained-student", {**values, "rerank_depth": 4})
    deeper = MethodSpec("untrained-student", deeper)
    assert deeper.config_hash(2) != spec.config_hash(2)
    assert [o.status for o in run_cells([task], [spec], store, k=2)] == ["reused"]


# --------------------------------------------------------------------------- options


def test_options_are_checked():
    with pytest.raises(OptionsError, match="bitext_target_lang"):
        build_options("optical", {"bitext_file": "pairs.tsv"})
    with pytest.raises(OptionsError, match="preset"):
        build_options("optical", {"preset": "huge"})
    assert build_options("distill-mse", {}).training_config().ot_weight == 0.0
    config = build_options("optical", {"preset": "default", "lr": 1e-5}).training_config()
    assert (config.lr, config.steps) == (1e-5, PRESETS["default"]["steps"])
    # The preset's values are options themselves, so the store's config hash follows them.
    assert build_options("optical", {}).model_dump()["steps"] == PRESETS["quick"]["steps"]


def test_bitext_without_the_teacher_language_is_an_error(world):
    method = _method("optical", world, bitext_source_lang="fra_Latn")
    with pytest.raises(OptionsError, match="teacher_lang eng_Latn"):
        method.bitext  # noqa: B018 - a lazy property


def test_method_module_loads_no_torch():
    code = "import sys, clirbench.methods.optical.method\nprint('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
