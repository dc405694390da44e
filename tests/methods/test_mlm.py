"""MLM adaptation: masking, the tied head, training and reuse, resume after SIGKILL, text that
never holds evaluated text, and the methods (mlm-student, optical+mlm, st/mbert ``adapt``).

Models are tiny BERTs built here (random weights, a vocabulary of a few dozen English and
Chichewa words), so every test runs offline in seconds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from clirbench.cli import app
from clirbench.errors import InputError, OptionsError
from clirbench.hashing import json_hash
from clirbench.methods.adaptation.mlm import (
    MASK_SHARE,
    MLM_FORMAT,
    RANDOM_SHARE,
    MLMConfig,
    adapt,
    checkpoint_id,
    load_mlm_model,
    mask_tokens,
    mean_pooled,
)
from clirbench.methods.adaptation.stage import MLM_PRESETS, PROTECTION
from clirbench.methods.adaptation.text import (
    AdaptationText,
    Decontaminator,
    _words,
    adaptation_text,
    read_text_file,
    task_texts,
)
from clirbench.registry import build_options, instantiate
from clirbench.tasks import load_task
from clirbench.training import TrainingLoop
from tests.tiny_models import WORDS, make_tiny_bert

TINY_TASK = str(Path(__file__).parents[1] / "data" / "tiny")
CHICHEWA = WORDS[WORDS.index("madzi") :]
ENGLISH = WORDS[: WORDS.index("madzi")]
SMALL = {"steps": 6, "batch_size": 8, "max_length": 16, "lr": 1e-3, "freeze_embeddings": False}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two tiny BERTs without an MLM head, Chichewa-looking text (a made-up grammar: a word is
    followed by its neighbour in the list) and an English-Chichewa bitext."""
    root = tmp_path_factory.mktemp("mlm-world")
    rng = random.Random(0)
    lines = []
    for _ in range(120):
        start = rng.randrange(len(CHICHEWA))
        lines.append(
            " ".join(CHICHEWA[(start + i) % len(CHICHEWA)] for i in range(rng.randint(3, 7)))
        )
    text = root / "chichewa.txt"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = [rng.sample(range(len(CHICHEWA)), 3) for _ in range(40)]
    bitext = root / "en-ny.tsv"
    bitext.write_text(
        "".join(
            f"{' '.join(ENGLISH[i] for i in p)}\t{' '.join(CHICHEWA[i] for i in p)}\n"
            for p in pairs
        ),
        encoding="utf-8",
    )
    return {
        "teacher": str(make_tiny_bert(root / "teacher", hidden=32, seed=1)),
        "student": str(make_tiny_bert(root / "student", hidden=32, seed=2)),
        "text": str(text),
        "bitext": str(bitext),
    }


def _text(world: dict[str, str]) -> AdaptationText:
    lines = Path(world["text"]).read_text(encoding="utf-8").splitlines()
    return AdaptationText("nya_Latn", tuple(lines), "test")


# --------------------------------------------------------------------------- masking


def _special_batch(rows: int = 400, length: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (rows, length), generator=generator)
    lengths = torch.randint(4, length + 1, (rows,), generator=generator)
    positions = torch.arange(length).expand(rows, length)
    ids[:, 0] = 2  # [CLS]
    ids[positions == (lengths - 1).unsqueeze(1)] = 3  # [SEP]
    ids[positions >= lengths.unsqueeze(1)] = 0  # padding
    maskable = (positions > 0) & (positions < (lengths - 1).unsqueeze(1))
    return ids, maskable


def test_masking_rate_and_80_10_10_replacement():
    ids, maskable = _special_batch()
    inputs, labels = mask_tokens(
        ids, maskable, 0.15, mask_id=4, vocab_size=1000, generator=torch.Generator().manual_seed(1)
    )
    chosen = labels != -100
    assert not (chosen & ~maskable).any()  # special and padding tokens are never chosen
    assert torch.equal(inputs[~chosen], ids[~chosen]) and torch.equal(labels[chosen], ids[chosen])
    assert abs(chosen.sum().item() / maskable.sum().item() - 0.15) < 0.01
    masked = (inputs[chosen] == 4).float().mean().item()
    kept = (inputs[chosen] == ids[chosen]).float().mean().item()
    replaced = 1 - masked - kept
    assert abs(masked - MASK_SHARE) < 0.02 and abs(replaced - RANDOM_SHARE) < 0.02
    assert abs(kept - (1 - MASK_SHARE - RANDOM_SHARE)) < 0.02


def test_whole_word_masking_masks_every_piece_of_a_chosen_word():
    ids, maskable = _special_batch(rows=200)
    word_ids = torch.where(maskable, torch.arange(ids.shape[1]) // 3, torch.full_like(ids, -1))
    _, labels = mask_tokens(
        ids, maskable, 0.15, 4, 1000, torch.Generator().manual_seed(2), word_ids
    )
    chosen = labels != -100
    for row in range(len(ids)):
        for word in word_ids[row].unique().tolist():
            if word >= 0:
                pieces = chosen[row][word_ids[row] == word]
                assert pieces.all() or not pieces.any()
    assert abs(chosen.sum().item() / maskable.sum().item() - 0.15) < 0.03


def test_a_batch_of_short_texts_always_has_a_chosen_token():
    ids = torch.tensor([[2, 7, 3], [2, 8, 3]])
    maskable = torch.tensor([[False, True, False], [False, True, False]])
    _, labels = mask_tokens(ids, maskable, 1e-9, 4, 1000, torch.Generator().manual_seed(0))
    assert (labels != -100).sum() == 1


# --------------------------------------------------------------------------- head and training


def test_a_model_without_a_head_gets_one_tied_to_its_embeddings(world):
    _, model, head = load_mlm_model(world["student"])
    assert head == "new, tied to the input embeddings"
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    assert not model.cls.predictions.bias.detach().any()


def test_adaptation_lowers_the_loss_and_saves_a_loadable_encoder(world, tmp_path, monkeypatch):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    adapted = adapt(
        world["student"], _text(world), MLMConfig(**{**SMALL, "steps": 40}), device="cpu"
    )
    record = adapted.record
    assert record["steps"] == 40 and record["loss_last_10"] < record["loss_first_10"]
    assert record["head"] == "new, tied to the input embeddings" and record["lang"] == "nya_Latn"
    assert not (adapted.folder.parent / "checkpoints").exists()
    _, again, head = load_mlm_model(str(adapted.folder))
    assert head == "pretrained"  # the trained head comes back with the encoder
    assert again.get_output_embeddings().weight is again.get_input_embeddings().weight
    encoder = AutoModel.from_pretrained(adapted.folder)
    base = AutoModel.from_pretrained(world["student"])
    moved = [
        n
        for n, p in encoder.named_parameters()
        if n in dict(base.named_parameters())
        and not torch.equal(p, dict(base.named_parameters())[n])
    ]
    assert any("encoder.layer" in n for n in moved) and any("word_embeddings" in n for n in moved)
    assert SentenceTransformer(str(adapted.folder), device="cpu").encode(["madzi mvula"]).shape == (
        1,
        32,
    )


def test_frozen_embeddings_freeze_the_tied_decoder_too(world, tmp_path, monkeypatch):
    from transformers import AutoModel

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    adapted = adapt(
        world["student"], _text(world), MLMConfig(**{**SMALL, "freeze_embeddings": True})
    )
    encoder, base = (
        AutoModel.from_pretrained(adapted.folder),
        AutoModel.from_pretrained(world["student"]),
    )
    assert torch.equal(
        encoder.embeddings.word_embeddings.weight, base.embeddings.word_embeddings.weight
    )
    assert not torch.equal(
        encoder.encoder.layer[0].output.dense.weight, base.encoder.layer[0].output.dense.weight
    )


def test_a_second_adaptation_reuses_the_checkpoint(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    first = adapt(world["student"], _text(world), MLMConfig(**SMALL))
    monkeypatch.setattr(TrainingLoop, "run", lambda *a, **k: pytest.fail("trained again"))
    second = adapt(world["student"], _text(world), MLMConfig(**SMALL))
    assert second.folder == first.folder and second.record == first.record
    assert second.revision.endswith(f"+mlm-{first.record['checkpoint']}")
    other = MLMConfig(**{**SMALL, "masking_rate": 0.2})
    with pytest.raises(pytest.fail.Exception, match="trained again"):  # another config: another id
        adapt(world["student"], _text(world), other)


# --------------------------------------------------------------------------- protections


def _sentence_vectors(folder: str | Path, texts: list[str]) -> torch.Tensor:
    """Mean-pooled, normalised vectors of clean text (what a dense retriever compares)."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder)
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        return mean_pooled(model(**batch)[0], batch["attention_mask"])


def _weights(folder: str | Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModel

    return dict(AutoModel.from_pretrained(folder, add_pooling_layer=False).named_parameters())


def test_head_warm_up_trains_the_head_alone(world, tmp_path, monkeypatch):
    from transformers import AutoModelForMaskedLM

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    config = MLMConfig(**{**SMALL, "steps": 0, "head_warmup_steps": 30, "head_lr": 1e-2})
    adapted = adapt(world["student"], _text(world), config, device="cpu")
    warmup = adapted.record["head_warmup"]
    assert warmup["steps"] == 30 and warmup["loss_last_10"] < warmup["loss_first_10"]
    after, before = _weights(adapted.folder), _weights(world["student"])
    assert after.keys() == before.keys()
    for name, weight in before.items():  # the encoder, embeddings (tied decoder) included
        assert torch.equal(after[name], weight), name
    head = AutoModelForMaskedLM.from_pretrained(adapted.folder).cls.predictions
    assert head.bias.detach().any() and not (adapted.folder.parent / "head").exists()


def test_the_anchor_keeps_sentence_vectors_near_the_original(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    texts = Path(world["text"]).read_text(encoding="utf-8").splitlines()[:30]
    original = _sentence_vectors(world["student"], texts)
    drift = {}
    for weight in (0.0, 50.0):
        config = MLMConfig(**{**SMALL, "steps": 30, "lr": 3e-3, "anchor_weight": weight})
        adapted = adapt(world["student"], _text(world), config, device="cpu")
        vectors = _sentence_vectors(adapted.folder, texts)
        drift[weight] = 1 - (vectors * original).sum(-1).mean().item()
        assert adapted.record["mlm_loss_last_10"] < adapted.record["mlm_loss_first_10"]
        assert ("anchor" in adapted.record["log"][-1]) == bool(weight)
    assert drift[50.0] < drift[0.0] / 3, drift


def test_frozen_layers_stay_as_they_were(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    adapted = adapt(world["student"], _text(world), MLMConfig(**{**SMALL, "frozen_layers": 1}))
    after, before = _weights(adapted.folder), _weights(world["student"])
    layer = {i: [n for n in before if f"encoder.layer.{i}." in n] for i in (0, 1)}
    assert all(torch.equal(after[n], before[n]) for n in layer[0])
    assert not all(torch.equal(after[n], before[n]) for n in layer[1])
    with pytest.raises(OptionsError, match=r"mlm_frozen_layers=3.*2 layers"):
        adapt(world["student"], _text(world), MLMConfig(**{**SMALL, "frozen_layers": 3}))


def test_each_protection_is_in_the_checkpoint_id_and_none_keeps_the_old_id():
    from dataclasses import asdict

    text = AdaptationText("nya_Latn", ("madzi mvula",), "test")
    plain = MLMConfig(**SMALL)
    before = {k: v for k, v in asdict(plain).items() if k in SMALL or k in _OLD_FIELDS}
    payload = {"format": MLM_FORMAT, "model": "m", "revision": "r", "text": text.sha256}
    assert checkpoint_id("m", "r", text, plain) == json_hash({**payload, "config": before})
    protected = [
        {"head_warmup_steps": 5},
        {"head_warmup_steps": 5, "head_lr": 1e-4},
        {"anchor_weight": 1.0},
        {"frozen_layers": 1},
    ]
    ids = {checkpoint_id("m", "r", text, MLMConfig(**SMALL, **p)) for p in protected}
    assert len(ids | {checkpoint_id("m", "r", text, plain)}) == len(protected) + 1
    assert checkpoint_id("m", "r", text, MLMConfig(**SMALL, head_lr=1e-4)) == checkpoint_id(
        "m", "r", text, plain
    )  # a warm-up rate without a warm-up changes nothing


_OLD_FIELDS = ("warmup", "weight_decay", "masking_rate", "whole_word", "seed")


def test_protections_are_in_the_label_and_the_identity():
    student = instantiate("mlm-student", build_options("mlm-student", {}))
    assert student.label() == "mlm-student"
    assert {k: student.options.identity()[k] for k in PROTECTION} == PROTECTION
    off = build_options("mlm-student", {"mlm_head_warmup_steps": 0, "mlm_anchor_weight": 0})
    assert instantiate("mlm-student", off).label() == "mlm-student[head:0,anchor:0]"
    fixed = build_options("optical+mlm", {"adapt": "hau_Latn", "mlm_frozen_layers": 6})
    assert instantiate("optical+mlm", fixed).label() == "optical+mlm[mlm:hau_Latn,frozen:6]"
    st = build_options("st", {"model": "m", "adapt": "task", "mlm_anchor_weight": 1})
    assert instantiate("st", st).label() == "st[m,+mlm,anchor:1]"
    assert st.mlm_config().anchor_weight == 1.0
    assert not PROTECTION.keys() & build_options("st", {"model": "m"}).identity().keys()


_CHILD = """
import sys, time
from pathlib import Path
from clirbench.methods.adaptation.mlm import MLMConfig, adapt
from clirbench.methods.adaptation.text import AdaptationText
from clirbench.training import Checkpointing

texts = tuple(Path(sys.argv[2]).read_text(encoding="utf-8").splitlines())
def on_step(step, loss):
    print(step, flush=True)
    time.sleep(0.3)
config = MLMConfig(**{CONFIG})
adapt(sys.argv[1], AdaptationText("nya_Latn", texts, "test"), config, Checkpointing(every_steps=2),
      device="cpu", on_step=on_step)
"""


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_to_the_same_weights(world, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    config = {**SMALL, "steps": 14, "head_warmup_steps": 4, "anchor_weight": 1.0}
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD).replace("{CONFIG}", repr(config)), encoding="utf-8")
    env = {**os.environ, "CLIRBENCH_CACHE": str(tmp_path / "killed"), "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(
        [sys.executable, str(script), world["student"], world["text"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    for line in child.stdout:
        if int(line) >= 7:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    (folder,) = (tmp_path / "killed" / "models" / "mlm").iterdir()
    assert not (folder / "done.json").exists() and list((folder / "checkpoints").glob("step-*"))

    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "killed"))
    resumed = adapt(world["student"], _text(world), MLMConfig(**config), device="cpu")
    assert resumed.record["resumed_from"] in (6, 8) and resumed.record["steps"] == 14
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "straight"))
    straight = adapt(world["student"], _text(world), MLMConfig(**config), device="cpu")
    assert straight.record["resumed_from"] == 0
    got, want = (
        load_file(resumed.folder / "model.safetensors"),
        load_file(straight.folder / "model.safetensors"),
    )
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], msg=name)


# --------------------------------------------------------------------------- text


def _held_out(lang: str) -> set[str]:
    """Every dev and test query and document text in ``lang`` of every built-in task."""
    from clirbench.tasks import BUILTIN_TASKS

    texts = set()
    for name, builtin in BUILTIN_TASKS.items():
        if lang not in (builtin.query_lang, builtin.doc_lang):
            continue
        for split in ("dev", "test"):
            task = load_task(name, split)
            if builtin.query_lang == lang:
                texts |= set(task.queries.values())
            if builtin.doc_lang == lang:
                texts |= {d.full_text for d in task.corpus.values()}
    return texts


def test_builtin_adaptation_text_never_holds_dev_or_test_text():
    text = adaptation_text("nya_Latn")
    held_out = _held_out("nya_Latn")
    assert len(text) > 20_000 and text.origin == "builtin:bible-en-ny/train"
    assert held_out and not held_out & set(text.texts)
    passages = " ".join(held_out)
    assert not any(t in passages for t in text.texts if len(t) > 40)  # no verse inside a passage


def test_a_users_file_loses_the_lines_that_overlap_evaluated_text(tmp_path):
    verses = load_task("bible-en-ny/verse", "test").corpus.values()
    test_verse = min((d.text for d in verses if len(d.text.split()) >= 10), key=len)
    clean, task_text = "Madzi a mvula ndi abwino kwambiri lero.", "Nsomba za m'nyanja zafika."
    own = [clean, test_verse, f"Iye anati: {test_verse.lower()}", task_text]
    path = tmp_path / "own.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in own), encoding="utf-8")
    text = adaptation_text("nya_Latn", path, exclude=[task_text])
    assert text.texts == (clean,) and text.dropped == 3 and text.origin == f"file:{path.resolve()}"
    with pytest.raises(InputError, match="nothing left"):
        adaptation_text("nya_Latn", path, exclude=[clean, task_text])


def test_overlap_ignores_case_and_diacritics_and_keeps_marked_words_whole():
    verse = "Kuma Allah ya ƙãga sammai da ƙasa a cikin kwanaki shida da gaskiya."
    checker = Decontaminator([verse])
    assert checker.overlaps("kuma allah ya ƙaga sammai da ƙasa a cikin kwanaki")
    # Harakat are marks inside a word: with them stripped, eight words are eight words.
    voweled = " ".join(["كَتَبَ"] * 4 + ["قَلَمٌ"] * 3)
    assert _words(voweled) == ("كتب",) * 4 + ("قلم",) * 3
    assert not Decontaminator([voweled]).overlaps(voweled + " كتب")


def test_a_noisy_variant_adapts_on_the_same_text_as_its_base():
    """Its typos and stripped diacritics let no other text in (compared with diacritics, the
    noisy quran-hau-en/verse dropped 463 texts and the clean one 459)."""
    base, noisy = (load_task(t, "test") for t in ("bible-en-ny/verse", "bible-en-ny/verse/noisy"))
    assert task_texts(base, "nya_Latn") != task_texts(noisy, "nya_Latn")
    on_base, on_noisy = (
        adaptation_text("nya_Latn", exclude=task_texts(task, "nya_Latn")) for task in (base, noisy)
    )
    assert on_base.sha256 == on_noisy.sha256


def test_text_files_are_read_and_checked(tmp_path):
    plain = tmp_path / "own.txt"
    plain.write_text("  madzi   mvula \n\nusiku\n", encoding="utf-8")
    assert read_text_file(plain) == ["madzi mvula", "usiku"]
    bad = tmp_path / "own.jsonl"
    bad.write_text('{"text": "madzi"}\n{"body": "mvula"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"own.jsonl:2.*'text'"):
        read_text_file(bad)
    with pytest.raises(OptionsError, match="no built-in train text in xho_Latn"):
        adaptation_text("xho_Latn")  # no built-in task or bitext is in Xhosa


# --------------------------------------------------------------------------- methods


def _student_options(world: dict[str, str], **overrides: object) -> dict[str, object]:
    return {
        "teacher": world["teacher"],
        "student": world["student"],
        "adapt_text_file": world["text"],
        **{f"mlm_{key}": value for key, value in SMALL.items()},
        "mlm_checkpoint_every": 2,
        **overrides,
    }


def _optical_options(world: dict[str, str]) -> dict[str, object]:
    return {
        **_student_options(world),
        "bitext_file": world["bitext"],
        "bitext_target_lang": "nya_Latn",
        "steps": 4,
        "train_batch_size": 8,
        "max_length": 16,
        "lr": 1e-3,
    }


def _cli_sets(method: str, options: dict[str, object]) -> list[str]:
    return [item for key, value in options.items() for item in ("--set", f"{method}.{key}={value}")]


def test_the_ablation_runs_end_to_end_and_a_second_run_trains_nothing(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "cache"))
    student = {"teacher": world["teacher"], "student": world["student"]}
    args = ["run", "-m", "untrained-student,mlm-student,optical+mlm", "-t", TINY_TASK]
    args += _cli_sets("untrained-student", student) + _cli_sets(
        "mlm-student", _student_options(world)
    )
    args += _cli_sets("optical+mlm", _optical_options(world))
    result = CliRunner().invoke(app, [*args, "--store", str(tmp_path / "first")])
    assert result.exit_code == 0, result.output
    manifests, task = {}, load_task(TINY_TASK)
    for name in ("untrained-student", "mlm-student", "optical+mlm"):
        (cell,) = (tmp_path / "first").glob(f"tiny-en-ny/test/{name}@*")
        manifests[name] = json.loads((cell / "manifest.json").read_text())["method"]
        assert len((cell / "run.trec").read_text().splitlines()) == len(task.queries) * len(
            task.corpus
        )
    assert manifests["mlm-student"]["label"] == "mlm-student[teacher->student]"
    assert manifests["optical+mlm"]["label"] == "optical+mlm[teacher->student]"
    adaptation = manifests["mlm-student"]["adaptation"]
    assert adaptation["lang"] == "nya_Latn" and adaptation["steps"] == SMALL["steps"]
    assert (
        manifests["optical+mlm"]["adaptation"]["checkpoint"] == adaptation["checkpoint"]
    )  # shared
    assert adaptation["checkpoint"] in manifests["optical+mlm"]["model_revision"]
    assert manifests["optical+mlm"]["training"]["steps"] == 4
    assert manifests["mlm-student"]["identity_options"]["adapt_text_file"] == world["text"]

    monkeypatch.setattr(TrainingLoop, "run", lambda *a, **k: pytest.fail("adapted again"))
    from clirbench.methods.optical.training import Distiller

    monkeypatch.setattr(Distiller, "run", lambda *a, **k: pytest.fail("distilled again"))
    again = CliRunner().invoke(app, [*args, "--store", str(tmp_path / "second")])
    assert again.exit_code == 0, again.output
    for name in ("mlm-student", "optical+mlm"):
        (cell,) = (tmp_path / "second").glob(f"tiny-en-ny/test/{name}@*")
        assert (
            json.loads((cell / "manifest.json").read_text())["method"]["adaptation"]
            == (manifests[name]["adaptation"])
        )


def test_the_adapted_student_is_part_of_every_vector_key(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    task = load_task(TINY_TASK)
    adapted = instantiate("mlm-student", build_options("mlm-student", _student_options(world)))
    adapted.retrieve(task, 3)
    plain = instantiate(
        "untrained-student",
        build_options(
            "untrained-student", {"teacher": world["teacher"], "student": world["student"]}
        ),
    )
    keys = [m.cache_namespace("nya_Latn", "document") for m in (adapted, plain)]
    assert keys[0]["adaptation"]["checkpoint"] == adapted.adaptation.current.record["checkpoint"]
    assert keys[0]["model_revision"] != keys[1]["model_revision"]
    assert "adaptation" not in keys[1]


def test_st_adapts_its_model_first_when_asked(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path))
    task = load_task(TINY_TASK)
    values = {
        "model": world["student"],
        "adapt": "task",
        "adapt_text_file": world["text"],
        **{f"mlm_{key}": value for key, value in SMALL.items()},
    }
    method = instantiate("st", build_options("st", values))
    run = method.retrieve(task, 3)
    assert set(run) == set(task.queries) and method.label() == "st[student,+mlm]"
    assert Path(method.folder).parent.parent.name == "mlm"  # the adapted copy was loaded
    facts = method.describe()
    assert facts["adaptation"]["lang"] == "nya_Latn"
    assert method.cache_namespace("nya_Latn", "document")["adaptation"] == facts["adaptation"]
    plain = instantiate("st", build_options("st", {"model": world["student"]}))
    assert plain.label() == "st[student]" and "adaptation" not in plain.describe()
    assert build_options("st", {}).identity() == {}  # no stage: the cell identity of before


def test_options_are_checked():
    with pytest.raises(OptionsError, match="neither 'task' nor a language code"):
        build_options("st", {"adapt": "chichewa"})
    with pytest.raises(OptionsError, match="adapt cannot be None"):
        build_options("mlm-student", {"adapt": None})
    options = build_options(
        "mbert", {"adapt": "nya_Latn", "adapt_preset": "default", "mlm_lr": 1e-5}
    )
    config = options.mlm_config()
    assert (config.lr, config.steps) == (1e-5, MLM_PRESETS["default"]["mlm_steps"])
    assert "mlm_steps" in options.identity() and "mlm_checkpoint_every" not in options.identity()
    assert build_options("optical+mlm", {}).mlm_config().steps == MLM_PRESETS["quick"]["mlm_steps"]


def test_the_language_follows_the_task_unless_given():
    from clirbench.methods.adaptation.stage import Adaptation

    task = load_task(TINY_TASK)
    assert (
        Adaptation(build_options("mlm-student", {}), "m", "mlm-student").language(task)
        == "nya_Latn"
    )
    fixed = build_options("mlm-student", {"adapt": "hau_Latn"})
    assert Adaptation(fixed, "m", "mlm-student").language(task) == "hau_Latn"
    english = load_task(TINY_TASK, query_lang="eng_Latn", doc_lang="eng_Latn")
    with pytest.raises(OptionsError, match="adapt=hau_Latn"):
        Adaptation(build_options("mlm-student", {}), "m", "mlm-student").language(english)


def test_method_modules_load_no_torch():
    code = (
        "import sys, clirbench.methods.adaptation.method, clirbench.baselines.st\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
