"""A stand-in for the alfanous wheel, laid out like the real one, with made-up verse texts.

``alfanous/indexes/extend/_MAIN_<n>.dcz``: a big-endian uint32 offset of the directory, the
records (protocol-2 pickles of ``[translator, None, None, country, gid, trans_id, lang, text,
"translation"]``), then the directory of (offset, length) uint32 pairs.
"""

from __future__ import annotations

import hashlib
import pickle
import struct
import zipfile
from pathlib import Path

from clirbench.tasks.builtin import quran

SEGMENT = quran.SEGMENTS + "_MAIN_{}.dcz"
UZBEK_COMMENTARY = "(bu yerda uzun bir sharh bor va u olib tashlanadi)"


def segment(records: list[bytes]) -> bytes:
    pointers, offset = [], 4
    for record in records:
        pointers += [offset, len(record)]
        offset += len(record)
    return b"".join(
        [struct.pack(">I", offset), *records, struct.pack(f">{len(pointers)}I", *pointers)]
    )


def record(trans_id: str, gid: int, text: str) -> bytes:
    lang = trans_id.split(".")[0]
    return pickle.dumps(
        [f"Translator of {trans_id}", None, None, "XX", gid, trans_id, lang, text, "translation"],
        protocol=2,
    )


def verse_text(trans_id: str, gid: int) -> str:
    """Six made-up words, different for every translation and verse."""
    digest = hashlib.sha256(f"{trans_id}:{gid}".encode()).hexdigest()
    return (
        " ".join(
            "".join(chr(97 + int(digest[i + j], 16)) for j in range(6)) for i in range(0, 36, 6)
        ).capitalize()
        + "."
    )


def refrains() -> dict[str, list[int]]:
    """Verses planted as near-duplicates: test verses repeated in English, dev verses in Swahili."""
    refs = quran.verse_refs()
    pick = {
        split: [
            i + 1
            for i, ref in enumerate(refs)
            if quran.split_of_surah(int(ref.split(":")[0])) == split
        ]
        for split in ("test", "dev")
    }
    return {"en.shakir": pick["test"][:60:3], "sw.barwani": pick["dev"][:40:2]}


def texts(trans_id: str) -> dict[int, str]:
    verses = {gid: verse_text(trans_id, gid) for gid in range(1, quran.VERSES + 1)}
    for gid in refrains().get(trans_id, []):
        verses[gid] = (
            "Which then of the bounties of your Lord will you deny?"
            if trans_id == "en.shakir"
            else "Basi ni ipi katika neema za Mola wenu Mlezi mnayo ikanusha?"
        )
    if trans_id == "uz.sodik":
        verses[1] = f"{verses[1]} {UZBEK_COMMENTARY} (oyat)lar"
    return verses


def make_wheel(path: Path) -> Path:
    """The stand-in wheel: English in one segment, the rest (and an unused one) in another."""
    trans_ids = [t.trans_id for t in quran.TRANSLATIONS.values()] + ["id.muntakhab"]
    english = [record(quran.ENGLISH, gid, text) for gid, text in texts(quran.ENGLISH).items()]
    others = [record(tid, gid, text) for tid in trans_ids for gid, text in texts(tid).items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SEGMENT.format(1), segment(english))
        archive.writestr(SEGMENT.format(44), segment(others))
        archive.writestr("alfanous/__init__.py", "")
    return path
