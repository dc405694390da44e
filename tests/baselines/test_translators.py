"""The hf, ct2 and marian-local translators on tiny models built here (offline, seconds)."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest

from clirbench.baselines.translators import load_translator, marian_local
from clirbench.bitext import Bitext
from clirbench.errors import MethodUnavailableError
from clirbench.paths import cache_dir

pytestmark = pytest.mark.filterwarnings(
    "ignore:Recommended. pip install sacremoses"
)  # MarianTokenizer's
PAIRS = (
    *(
        (f"the man saw {animal} number {n}", f"munthu anaona {nyama} nambala {n}")
        for animal, nyama in (("the dog", "galu"), ("a goat", "mbuzi"), ("the lion", "mkango"))
        for n in range(10)
    ),
    (
        "In the beginning God created the heavens and the earth.",
        "Pachiyambi Mulungu adalenga kumwamba ndi dziko lapansi.",
    ),
)
BITEXT = Bitext("eng_Latn", "nya_Latn", PAIRS, "test:tiny")
TEXTS = ["the man saw the dog", "In the beginning", "a goat", ""]
TINY = marian_local.MarianLocalConfig(
    steps=8,
    warmup_steps=2,
    vocab_size=80,
    d_model=16,
    layers=1,
    heads=2,
    ffn_dim=32,
    max_length=24,
    batch_tokens=400,
)


@pytest.fixture(scope="module")
def tiny_spm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``spm.model``: a SentencePiece model of about 60 pieces trained on PAIRS."""
    import sentencepiece

    work = tmp_path_factory.mktemp("tiny-spm")
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([text for pair in PAIRS for text in pair]),
        model_prefix=str(work / "spm"),
        vocab_size=60,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return work


@pytest.fixture(scope="module")
def tiny_marian(tiny_spm: Path) -> Path:
    """A random Marian model with a real MarianTokenizer, saved as transformers saves it."""
    import sentencepiece
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    work = tiny_spm
    pieces = sentencepiece.SentencePieceProcessor(model_file=str(work / "spm.model"))
    # Marian's layout: one vocabulary for both sides, <pad> (the decoder's start token) last
    words = [pieces.id_to_piece(i) for i in range(pieces.get_piece_size())]
    vocab = ["</s>", "<unk>", *(w for w in words if w not in {"<unk>", "<s>", "</s>"}), "<pad>"]
    (work / "vocab.json").write_text(
        json.dumps({word: i for i, word in enumerate(vocab)}), encoding="utf-8"
    )
    for side in ("source", "target"):
        shutil.copy(work / "spm.model", work / f"{side}.spm")
    tokenizer = MarianTokenizer(
        str(work / "source.spm"), str(work / "target.spm"), str(work / "vocab.json")
    )
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        forced_eos_token_id=None,  # CTranslate2 does not force </s> at the length limit
        init_std=0.5,  # peaked outputs: greedy choices far from ties
    )
    torch.manual_seed(0)
    folder = work / "model"
    MarianMTModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_hf_translates_a_local_marian_model(tiny_marian: Path) -> None:
    translator = load_translator("hf", {"model": str(tiny_marian), "batch_size": 2})
    first = translator.translate(TEXTS, "eng_Latn", "nya_Latn")
    assert len(first) == len(TEXTS) and all(isinstance(text, str) for text in first)
    assert any(first)
    assert translator.translate(TEXTS, "eng_Latn", "nya_Latn") == first
    assert (
        translator.translate(TEXTS[1:2], "eng_Latn", "nya_Latn") == first[1:2]
    )  # batch-independent
    description = translator.describe()
    assert (
        description["translator"] == "hf"
        and description["model"] == str(tiny_marian)
        and description["revision"]
    )


def test_language_codes_of_nllb_and_m2m100_tokenizers(tiny_spm: Path, tiny_marian: Path) -> None:
    from transformers import AutoTokenizer, M2M100Tokenizer, NllbTokenizer

    from clirbench.baselines.translators.hf import model_family, set_languages

    nllb = NllbTokenizer(vocab_file=str(tiny_spm / "spm.model"))
    assert model_family(nllb) == "nllb"
    assert (
        set_languages(nllb, "nllb", "eng_Latn", "nya_Latn") == "nya_Latn"
    )  # card codes as they are
    assert nllb.convert_ids_to_tokens(nllb("the dog")["input_ids"])[0] == "eng_Latn"

    m2m100 = M2M100Tokenizer(str(tiny_marian / "vocab.json"), str(tiny_spm / "spm.model"))
    assert model_family(m2m100) == "m2m100"
    assert set_languages(m2m100, "m2m100", "swh_Latn", "eng_Latn") == "__en__"  # two-letter codes
    assert m2m100.convert_ids_to_tokens(m2m100("the dog")["input_ids"])[0] == "__sw__"
    with pytest.raises(MethodUnavailableError, match="no language code for nya_Latn"):
        set_languages(m2m100, "m2m100", "eng_Latn", "nya_Latn")  # M2M100 has no Chichewa

    marian = AutoTokenizer.from_pretrained(tiny_marian)
    assert (
        model_family(marian) == "plain"
        and set_languages(marian, "plain", "eng_Latn", "nya_Latn") is None
    )


def test_hf_without_a_model_is_unavailable() -> None:
    with pytest.raises(MethodUnavailableError, match="needs a model"):
        load_translator("hf")


def test_hf_model_missing_offline_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        MethodUnavailableError, match=r"clirbench-test/no-such-model.*not available offline"
    ):
        load_translator("hf", {"model": "clirbench-test/no-such-model"})


def test_ct2_greedy_equals_hf_greedy(tiny_marian: Path, tmp_path: Path) -> None:
    pytest.importorskip("ctranslate2")
    from clirbench.baselines.translators.ct2 import CT2Options, CT2Translator, convert_to_ct2
    from clirbench.baselines.translators.hf import HFTranslator, ModelOptions

    folder = convert_to_ct2(tiny_marian, tmp_path / "ct2")
    ct2 = CT2Translator(CT2Options(model=str(folder), batch_size=2, beam_size=1)).translate(
        TEXTS, "eng_Latn", "nya_Latn"
    )
    hf = HFTranslator(ModelOptions(model=str(tiny_marian), batch_size=2, num_beams=1))
    assert ct2 == hf.translate(TEXTS, "eng_Latn", "nya_Latn")
    assert load_translator("ct2", {"model": str(folder)}).describe()["revision"]


def test_ct2_without_a_model_folder_is_unavailable(tmp_path: Path) -> None:
    pytest.importorskip("ctranslate2")
    with pytest.raises(MethodUnavailableError, match="not a CTranslate2 model folder"):
        load_translator("ct2", {"model": str(tmp_path / "missing")})


def test_marian_local_presets_cover_the_settings() -> None:
    presets = get_args(marian_local.MarianLocalOptions.model_fields["preset"].annotation)
    assert set(marian_local.PRESETS) == set(presets)
    assert marian_local.PRESETS["quick"].steps < marian_local.PRESETS["full"].steps


def test_marian_local_needs_a_bitext() -> None:
    with pytest.raises(MethodUnavailableError, match="bitext"):
        load_translator("marian-local")


def _state(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(folder / "model" / "model.safetensors")


@pytest.fixture
def sigint_as_in_a_terminal() -> Iterator[None]:
    """A job started in the background inherits SIGINT ignored; Ctrl-C needs Python's handler."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_as_in_a_terminal")
def test_marian_local_checkpoints_resumes_and_reuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import torch

    options = marian_local.MarianLocalOptions(seed=3)
    folder = (
        cache_dir()
        / "models"
        / "marian-local"
        / marian_local.training_key(BITEXT, "custom", TINY, 3)
    )
    monkeypatch.setattr(marian_local, "CHECKPOINT_SECONDS", 0.0)  # a checkpoint every step
    losses = _recording_losses(monkeypatch, ctrl_c_at=3)
    with pytest.raises(KeyboardInterrupt):
        marian_local.MarianLocalTranslator(options, BITEXT, config=TINY)
    assert len(losses) == 3 and not (folder / "model").exists()
    (checkpoint,) = (folder / "checkpoints").iterdir()  # the newest only
    assert json.loads((checkpoint / "progress.json").read_text())["step"] == 3

    translator = marian_local.MarianLocalTranslator(options, BITEXT, config=TINY)
    assert len(losses) == TINY.steps  # continued from step 3, not from 0
    facts = json.loads((folder / "model" / "clirbench.json").read_text(encoding="utf-8"))
    assert [(s["start"], s["end"]) for s in facts["sessions"]] == [(0, 3), (3, TINY.steps)]
    assert not (folder / "checkpoints").exists()
    assert translator.describe() == {
        "translator": "marian-local",
        "model": "marian (trained on test:tiny)",
        "revision": folder.name,
        "preset": "custom",
        "steps": TINY.steps,
        "num_beams": marian_local.NUM_BEAMS,
    }

    marian_local.train(BITEXT, TINY, 3, tmp_path / "straight")  # the same training, not interrupted
    resumed, straight = _state(folder), _state(tmp_path / "straight")
    assert all(torch.equal(resumed[name], straight[name]) for name in straight)

    def no_training(*args: Any) -> None:
        raise AssertionError("trained again instead of reusing the model")

    monkeypatch.setattr(marian_local, "train", no_training)
    again = marian_local.MarianLocalTranslator(options, BITEXT, config=TINY)
    long_text = " ".join(["The man saw the dog."] * 6)  # beyond max_length: translated in pieces
    outputs = again.translate([*TEXTS, long_text], "eng_Latn", "nya_Latn")
    assert len(outputs) == len(TEXTS) + 1 and all(isinstance(text, str) for text in outputs)
    assert again.translate(TEXTS, "nya_Latn", "eng_Latn") == translator.translate(
        TEXTS, "nya_Latn", "eng_Latn"
    )
    with pytest.raises(MethodUnavailableError, match="eng_Latn and nya_Latn only"):
        again.translate(TEXTS, "eng_Latn", "swh_Latn")


# The trained weights and loss log of TINY, pinned with marian-local's own training loop before it
# moved onto clirbench.training's (issue 15): the same configuration must train the same floats.
PINNED_WEIGHTS, PINNED_LOG = "5ae84ba18ba59b4d", "d2ac219c32901836"


@pytest.fixture
def one_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _recording_losses(monkeypatch: pytest.MonkeyPatch, ctrl_c_at: int | None = None) -> list:
    """Record each step's loss (the step's one cross-entropy); Ctrl-C during step ``ctrl_c_at``."""
    import torch

    losses: list[float] = []
    real = torch.nn.functional.cross_entropy

    def cross_entropy(*args: Any, **kwargs: Any) -> Any:
        loss = real(*args, **kwargs)
        losses.append(loss.item())
        if len(losses) == ctrl_c_at:
            signal.raise_signal(signal.SIGINT)
        return loss

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", cross_entropy)
    return losses


def _log(losses: list[float]) -> list[dict[str, float]]:
    return [{"step": step, "loss": round(loss, 6)} for step, loss in enumerate(losses, 1)]


@pytest.mark.usefixtures("one_thread")
def test_marian_local_trains_the_pinned_weights(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.pins import log_digest, skip_unless_recorded_platform, state_digest

    skip_unless_recorded_platform()
    losses = _recording_losses(monkeypatch)
    marian_local.train(BITEXT, TINY, 3, tmp_path)
    assert len(losses) == TINY.steps
    assert (state_digest(_state(tmp_path)), log_digest(_log(losses))) == (
        PINNED_WEIGHTS,
        PINNED_LOG,
    )


@pytest.mark.usefixtures("one_thread", "sigint_as_in_a_terminal")
def test_marian_local_interrupted_resumes_to_the_pinned_weights(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.pins import log_digest, skip_unless_recorded_platform, state_digest

    skip_unless_recorded_platform()
    losses = _recording_losses(monkeypatch, ctrl_c_at=3)
    with pytest.raises(KeyboardInterrupt):
        marian_local.train(BITEXT, TINY, 3, tmp_path)
    assert len(losses) == 3 and not (tmp_path / "model").exists()
    marian_local.train(BITEXT, TINY, 3, tmp_path)
    assert len(losses) == TINY.steps  # resumed after step 3
    assert (state_digest(_state(tmp_path)), log_digest(_log(losses))) == (
        PINNED_WEIGHTS,
        PINNED_LOG,
    )


def _as_old_checkpoint(folder: Path) -> None:
    """Rewrite the loop's checkpoint in ``folder`` as marian-local's own loop wrote it before
    issue 15: one ``checkpoint.pt`` with the whole model, optimizer, scheduler, step, torch's
    generator state and sessions (checked against a file that code wrote)."""
    import sentencepiece
    import torch

    (checkpoint,) = (folder / "checkpoints").iterdir()

    def load(name: str) -> Any:
        return torch.load(checkpoint / name, weights_only=True)

    vocab = sentencepiece.SentencePieceProcessor(model_file=str(folder / "spm.model"))
    model = marian_local._new_model(TINY, vocab.get_piece_size())
    weights = {name.removeprefix("model."): value for name, value in load("weights.pt").items()}
    assert not model.load_state_dict(weights, strict=False).unexpected_keys
    progress = json.loads((checkpoint / "progress.json").read_text(encoding="utf-8"))
    state = {
        "model": model.state_dict(),
        "optimizer": load("optimizer.pt"),
        "scheduler": load("scheduler.pt"),
        "step": progress["step"],
        "rng": load("rng.pt")["torch"],
        "sessions": progress["sessions"],
    }
    torch.save(state, folder / "checkpoint.pt")
    shutil.rmtree(folder / "checkpoints")


@pytest.mark.usefixtures("one_thread", "sigint_as_in_a_terminal")
def test_marian_local_resumes_a_checkpoint_of_its_old_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.pins import log_digest, skip_unless_recorded_platform, state_digest

    losses = _recording_losses(monkeypatch, ctrl_c_at=3)
    with pytest.raises(KeyboardInterrupt):
        marian_local.train(BITEXT, TINY, 3, tmp_path)
    _as_old_checkpoint(tmp_path)
    steps: list[int] = []
    marian_local.train(BITEXT, TINY, 3, tmp_path, on_step=lambda step, loss: steps.append(step))
    assert steps == list(range(4, TINY.steps + 1)) and len(losses) == TINY.steps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "spm.model"]
    facts = json.loads((tmp_path / "model" / "clirbench.json").read_text(encoding="utf-8"))
    assert [(s["start"], s["end"]) for s in facts["sessions"]] == [(0, 3), (3, TINY.steps)]
    skip_unless_recorded_platform()
    assert (state_digest(_state(tmp_path)), log_digest(_log(losses))) == (
        PINNED_WEIGHTS,
        PINNED_LOG,
    )
