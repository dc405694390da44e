"""A small Marian NMT model that clirbench trains itself on the settings' bitext.

One model translates both ways: the source text starts with a target-language tag
(``<2nya_Latn>``, ``<2eng_Latn>``: the card code of the language to produce) and both languages
share one SentencePiece unigram vocabulary trained on both sides of the bitext.

The training budget is a number of optimizer steps per preset (:data:`PRESETS`), so a model
depends only on (bitext, preset, configuration, seed), never on the machine's speed. One step
(about 60 verses, in either direction) takes 1.4 s of CPU time on one thread here, so ``quick``
(60 steps) needs about 1.5 minutes of CPU and ``full`` (1,800 steps) about 40; on the shared
2-core machine they took 2.9 and 75 (at nice 10) minutes of wall time. On the Bible bitext
(dev split, beam 2), ``quick`` only emits commas (BLEU 0.0, chrF 0.5): it exists so that the
main command finishes. ``full`` gives BLEU 9.6 / chrF 36.6 en->ny and 12.9 / 33.3 ny->en.

Training runs on :class:`clirbench.training.TrainingLoop`. Everything lives in
``cache_dir()/models/marian-local/<key>/``: the vocabulary, the loop's ``checkpoints/`` written
every :data:`CHECKPOINT_SECONDS` and on Ctrl-C, and, when training ends, the ``model/`` folder,
written atomically and reused by every later construction. An interrupted training resumes from
its checkpoint and ends with the same weights as an uninterrupted one; so does one interrupted
by the code before the shared loop, whose ``checkpoint.pt`` is taken over on resume.

Tests (or experiments) pass their own :class:`MarianLocalConfig` as ``config=``; it replaces the
preset's and is part of the key. Translation is beam search (:data:`NUM_BEAMS`), in batches of
sentences sorted by length; a text longer than the training length is split at sentence ends.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clirbench.baselines.translators import TranslatorBase, TranslatorOptions
from clirbench.baselines.translators.hf import max_new_tokens
from clirbench.errors import MethodUnavailableError
from clirbench.hashing import json_hash
from clirbench.paths import cache_dir

if TYPE_CHECKING:
    import sentencepiece
    import torch
    from transformers import MarianMTModel

    from clirbench.bitext import Bitext
    from clirbench.training import LoopConfig, TrainingLoop


NAME = "marian-local"
FORMAT_VERSION = 1
CHECKPOINT_SECONDS = 180.0
NUM_BEAMS = 2
"""Beam 2 against greedy search on the full model: +0.3 / +0.9 BLEU, 40 instead of 65 verses/s."""
PAD, EOS, UNK = 0, 1, 2  # SentencePiece ids; PAD also starts every decoder input, as in Marian
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True)
class MarianLocalConfig:
    """Model size and training budget. Every field is part of the cache key."""

    steps: int
    warmup_steps: int = 400
    vocab_size: int = 8000
    d_model: int = 256
    layers: int = 3  # encoder layers, and as many decoder layers
    heads: int = 4
    ffn_dim: int = 1024
    dropout: float = 0.1
    max_length: int = 128  # tokens per training sentence, tag and end-of-sentence included
    lr: float = 1e-3  # peak: linear warm-up, then linear decay to 0 at ``steps``
    label_smoothing: float = 0.1
    batch_tokens: int = 4096  # padded source + padded target tokens per batch (~64 verses)

    def loop(self) -> LoopConfig:
        """AdamW as Marian and fairseq set it, the gradient clipped to norm 1. No seed: training
        goes on from the generator where the model's initialisation left it (see :func:`train`)."""
        from clirbench.training import LoopConfig

        return LoopConfig(
            self.steps,
            self.lr,
            warmup_steps=self.warmup_steps,
            weight_decay=0.01,  # AdamW's default, which marian-local always trained with
            max_grad_norm=1.0,
            seed=None,
            betas=(0.9, 0.98),
            eps=1e-9,
        )


PRESETS: dict[str, MarianLocalConfig] = {
    "quick": MarianLocalConfig(steps=60, warmup_steps=20),
    "full": MarianLocalConfig(steps=1800),
}


def language_tag(lang: str) -> str:
    return f"<2{lang}>"


def training_key(bitext: Bitext, preset: str, config: MarianLocalConfig, seed: int) -> str:
    """Hash of everything that decides the trained weights."""
    facts = {
        "origin": bitext.origin,
        "languages": [bitext.source_lang, bitext.target_lang],
        "pairs": len(bitext),
        "pairs_sha256": bitext.pairs_sha256,
        "preset": preset,
        "config": asdict(config),
        "seed": seed,
        "format": FORMAT_VERSION,
    }
    return json_hash(facts)


class MarianLocalOptions(TranslatorOptions):
    preset: Literal["quick", "full"] = "quick"
    """Training budget: quick (60 steps) or full (1,800 steps)."""


class MarianLocalTranslator(TranslatorBase):
    """Marian NMT trained on the bitext on first use, then loaded from the cache."""

    Options = MarianLocalOptions
    learns_from_bitext = True

    def __init__(
        self,
        options: TranslatorOptions,
        bitext: Bitext | None = None,
        config: MarianLocalConfig | None = None,
    ) -> None:
        super().__init__(options, bitext)
        assert isinstance(options, MarianLocalOptions) and self.bitext is not None
        self.preset = "custom" if config is not None else options.preset
        self.config = config if config is not None else PRESETS[options.preset]
        self.key = training_key(self.bitext, self.preset, self.config, options.seed)
        self.folder = cache_dir() / "models" / NAME / self.key
        if not (self.folder / "model").is_dir():
            train(self.bitext, self.config, options.seed, self.folder)
        self._model, self._vocab = load_model(self.folder / "model")

    def describe(self) -> dict[str, Any]:
        return {
            "translator": NAME,
            "model": f"marian (trained on {self.bitext.origin})",
            "revision": self.key,
            "preset": self.preset,
            "steps": self.config.steps,
            "num_beams": NUM_BEAMS,
        }

    def translate(self, texts: Sequence[str], source_lang: str, target_lang: str) -> list[str]:
        languages = {self.bitext.source_lang, self.bitext.target_lang}
        if source_lang == target_lang or {source_lang, target_lang} != languages:
            raise MethodUnavailableError(
                f"{NAME} translates between {' and '.join(sorted(languages))} only, "
                f"not {source_lang} -> {target_lang}"
            )
        chunks, owners = [], []
        for index, text in enumerate(texts):
            for chunk in _split_long(text, self._vocab, self.config.max_length - 2):
                chunks.append(chunk)
                owners.append(index)
        tag = self._vocab.piece_to_id(language_tag(target_lang))
        outputs = _generate(
            self._model, [[tag, *chunk, EOS] for chunk in chunks], self.options.batch_size
        )
        joined: list[list[str]] = [[] for _ in texts]
        for owner, ids in zip(owners, outputs, strict=True):
            joined[owner].append(self._vocab.decode(ids))
        return [" ".join(parts) for parts in joined]


def load_model(folder: Path) -> tuple[MarianMTModel, sentencepiece.SentencePieceProcessor]:
    import sentencepiece
    from transformers import MarianMTModel

    model = MarianMTModel.from_pretrained(folder)
    model.eval()
    return model, sentencepiece.SentencePieceProcessor(model_file=str(folder / "spm.model"))


def _split_long(
    text: str, vocab: sentencepiece.SentencePieceProcessor, limit: int
) -> list[list[int]]:
    """Token ids of ``text`` in pieces of at most ``limit``: whole sentences where they fit.

    A blank text has no pieces: its translation is the empty string.
    """
    ids = vocab.encode(text)
    if len(ids) <= limit:
        return [ids] if ids else []
    chunks: list[list[int]] = []
    for sentence in _SENTENCE_END.split(text):
        ids = vocab.encode(sentence)
        if chunks and len(chunks[-1]) + len(ids) <= limit:
            chunks[-1].extend(ids)
        else:
            chunks.extend(ids[start : start + limit] for start in range(0, len(ids), limit))
    return chunks


def _generate(model: MarianMTModel, sources: list[list[int]], batch_size: int) -> list[list[int]]:
    """Beam search in batches of similar length; up to 1.5 x source length + 10 new tokens."""
    import torch

    order = sorted(range(len(sources)), key=lambda i: len(sources[i]), reverse=True)
    limit = model.config.max_position_embeddings - 1
    outputs: list[list[int]] = [[] for _ in sources]
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            input_ids = _pad([sources[i] for i in batch], PAD)
            generated = model.generate(
                input_ids=input_ids,
                attention_mask=input_ids.ne(PAD),
                num_beams=NUM_BEAMS,
                do_sample=False,
                max_new_tokens=min(limit, max_new_tokens(input_ids.shape[1])),
            )
            for i, row in zip(batch, generated.tolist(), strict=True):
                outputs[i] = [t for t in row if t not in (PAD, EOS)]
    return outputs


def _pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    import torch

    width = max(len(row) for row in rows)
    return torch.tensor([[*row, *[value] * (width - len(row))] for row in rows], dtype=torch.long)


# Training


def train(
    bitext: Bitext,
    config: MarianLocalConfig,
    seed: int,
    folder: Path,
    on_step: Callable[[int, float], None] | None = None,
) -> None:
    """Train (or resume training) into ``folder`` and write ``folder/model`` when done.

    Ctrl-C (SIGINT) stops at the end of the current step, saves a checkpoint and raises
    ``KeyboardInterrupt``. ``on_step(step, loss)`` is called after each step.
    """
    from clirbench.training import Checkpointing, TrainingLoop, forked_rng, seed_generators

    from .marian_loss import TranslationLoss

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _vocabulary(bitext, config, folder / "spm.model")
    examples = _examples(bitext, vocab, config.max_length)
    batches = _batches(examples, config.batch_tokens)
    with forked_rng():
        seed_generators(seed)  # the model's initialisation draws from torch's generator
        model = _new_model(config, vocab.get_piece_size())
        loop = TrainingLoop(
            TranslationLoss(model, config.label_smoothing),
            lambda step: [examples[i] for i in _batch_at(batches, step, seed)],
            config.loop(),
            folder,
            Checkpointing(every_steps=None, every_seconds=CHECKPOINT_SECONDS),
            description=f"{NAME}: training",
            parameters=list(model.parameters()),  # the frozen positions too, as before the loop
        )
        _take_over_old_checkpoint(folder / "checkpoint.pt", loop, model)
        result = loop.run(on_step)
    _write_model(folder, model, config, bitext, seed, result.sessions)
    loop.clear_checkpoints()


def _vocabulary(
    bitext: Bitext, config: MarianLocalConfig, path: Path
) -> sentencepiece.SentencePieceProcessor:
    """The shared vocabulary: trained once per key (a resumed training must reuse it)."""
    import sentencepiece

    if not path.is_file():
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            prefix = Path(tmp) / "spm"
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter([text for pair in bitext.pairs for text in pair]),
                model_prefix=str(prefix),
                vocab_size=config.vocab_size,
                model_type="unigram",
                character_coverage=1.0,
                pad_id=PAD,
                eos_id=EOS,
                unk_id=UNK,
                bos_id=-1,
                user_defined_symbols=[
                    language_tag(bitext.source_lang),
                    language_tag(bitext.target_lang),
                ],
                hard_vocab_limit=False,  # a tiny bitext may not have vocab_size pieces
                num_threads=1,  # deterministic
                minloglevel=2,
            )
            os.replace(f"{prefix}.model", path)
    return sentencepiece.SentencePieceProcessor(model_file=str(path))


Example = tuple[list[int], list[int]]


def _examples(
    bitext: Bitext, vocab: sentencepiece.SentencePieceProcessor, max_length: int
) -> list[Example]:
    """Both directions of every pair: (tag + source + EOS, target + EOS), truncated."""
    to_target, to_source = (
        vocab.piece_to_id(language_tag(lang)) for lang in (bitext.target_lang, bitext.source_lang)
    )
    examples = []
    for source, target in bitext.pairs:
        source_ids, target_ids = (
            vocab.encode(source)[: max_length - 2],
            vocab.encode(target)[: max_length - 2],
        )
        examples.append(([to_target, *source_ids, EOS], [*target_ids, EOS]))
        examples.append(([to_source, *target_ids, EOS], [*source_ids, EOS]))
    return examples


def _batches(examples: list[Example], batch_tokens: int) -> list[list[int]]:
    """Example indices grouped by length, each group within ``batch_tokens`` padded tokens."""
    order = sorted(
        range(len(examples)), key=lambda i: (len(examples[i][0]), len(examples[i][1]), i)
    )
    batches: list[list[int]] = [[]]
    longest_source = longest_target = 0
    for i in order:
        source, target = len(examples[i][0]), len(examples[i][1])
        if (len(batches[-1]) + 1) * (
            max(longest_source, source) + max(longest_target, target)
        ) > batch_tokens:
            batches.append([])
            longest_source = longest_target = 0
        batches[-1].append(i)
        longest_source, longest_target = max(longest_source, source), max(longest_target, target)
    return [batch for batch in batches if batch]


def _batch_at(batches: list[list[int]], step: int, seed: int) -> list[int]:
    """The batch of ``step``: each epoch visits every batch once, in an order fixed by the seed."""
    import numpy as np

    epoch, position = divmod(step, len(batches))
    return batches[int(np.random.default_rng([seed, epoch]).permutation(len(batches))[position])]


def _new_model(config: MarianLocalConfig, vocab_size: int) -> MarianMTModel:
    """A fresh model; ``vocab_size`` is the trained vocabulary's (at most ``config.vocab_size``)."""
    from transformers import GenerationConfig, MarianConfig, MarianMTModel

    model_config = MarianConfig(
        vocab_size=vocab_size,
        d_model=config.d_model,
        encoder_layers=config.layers,
        decoder_layers=config.layers,
        encoder_attention_heads=config.heads,
        decoder_attention_heads=config.heads,
        encoder_ffn_dim=config.ffn_dim,
        decoder_ffn_dim=config.ffn_dim,
        dropout=config.dropout,
        max_position_embeddings=512,  # room for outputs longer than the training length
        scale_embedding=True,
        pad_token_id=PAD,
        eos_token_id=EOS,
        decoder_start_token_id=PAD,
        forced_eos_token_id=EOS,
    )
    model = MarianMTModel(model_config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=PAD, pad_token_id=PAD, eos_token_id=EOS, forced_eos_token_id=EOS
    )
    return model


def _take_over_old_checkpoint(path: Path, loop: TrainingLoop, model: MarianMTModel) -> None:
    """Make ``checkpoint.pt`` of marian-local's own loop (before issue 15) the loop's checkpoint.

    It held the whole model, optimizer, scheduler, step, torch's generator and sessions; the
    other generators were not used, so their states do not matter."""
    import torch

    from clirbench.training import Progress, forked_rng

    if not path.is_file():
        return
    if loop.last_checkpoint() is None:
        state = torch.load(path, weights_only=True)
        model.load_state_dict(state["model"])
        loop.optimizer.load_state_dict(state["optimizer"])
        loop.scheduler.load_state_dict(state["scheduler"])
        sessions = state["sessions"]
        with forked_rng():
            torch.set_rng_state(state["rng"])
            seconds = sum(session["seconds"] for session in sessions)
            loop.save(Progress(state["step"], [], seconds, sessions))
    path.unlink()


def _write_model(
    folder: Path,
    model: MarianMTModel,
    config: MarianLocalConfig,
    bitext: Bitext,
    seed: int,
    sessions: list[dict[str, Any]],
) -> None:
    """Write ``folder/model`` atomically (model, vocabulary, facts)."""
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".model."))
    try:
        model.save_pretrained(tmp)
        shutil.copy(folder / "spm.model", tmp / "spm.model")
        facts = {
            "languages": [bitext.source_lang, bitext.target_lang],
            "origin": bitext.origin,
            "pairs": len(bitext),
            "seed": seed,
            "config": asdict(config),
            "sessions": sessions,
            "format": FORMAT_VERSION,
        }
        (tmp / "clirbench.json").write_text(json.dumps(facts, indent=2), encoding="utf-8")
        tmp.rename(folder / "model")
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "model").is_dir():  # not a lost race with another process: a real failure
            raise
