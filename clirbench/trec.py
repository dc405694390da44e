"""TREC run files and qrels files: reading with line-level errors, writing atomically."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from clirbench.errors import InputError
from clirbench.fileio import atomic_write_text, iter_lines
from clirbench.tasks.records import check_id

if TYPE_CHECKING:
    from clirbench.location import FsPath

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]
_MAX_RELEVANCE = 2**31 - 1  # trec_eval keeps relevance in a C int


def _relevance(path: Path, line_no: int, value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        raise InputError(path, line_no, f"relevance {value!r} is not a number") from None
    if not number.is_integer():
        raise InputError(path, line_no, f"relevance {value!r} is not a whole number")
    if abs(number) > _MAX_RELEVANCE:
        raise InputError(path, line_no, f"relevance {value!r} is out of range (at most 2^31-1)")
    return int(number)


def iter_qrels(path: str | Path) -> Iterator[tuple[int, str, str, int]]:
    """Yield ``(line_no, query_id, doc_id, relevance)``.

    Reads BEIR's ``query-id<TAB>corpus-id<TAB>score`` (with or without its header) and TREC's
    ``qid iter docid rel``.
    """
    path = Path(path)
    for line_no, line in iter_lines(path):
        fields = line.split()
        if not fields:
            continue
        if line_no == 1 and fields[0] == "query-id":
            continue
        if len(fields) == 3:
            qid, docid, rel = fields
        elif len(fields) == 4:
            qid, _, docid, rel = fields
        else:
            raise InputError(
                path,
                line_no,
                f"expected 3 columns (query-id, corpus-id, score) or 4 (TREC), got {len(fields)}",
            )
        check_id(path, line_no, "query", qid)
        check_id(path, line_no, "document", docid)
        yield line_no, qid, docid, _relevance(path, line_no, rel)


def read_qrels(path: str | Path) -> Qrels:
    """Read a qrels file; a judgement given twice for the same pair is an error."""
    qrels: Qrels = {}
    for line_no, qid, docid, rel in iter_qrels(path):
        judged = qrels.setdefault(qid, {})
        if docid in judged:
            raise InputError(path, line_no, f"query {qid!r} judges document {docid!r} twice")
        judged[docid] = rel
    if not qrels:
        raise InputError(path, None, "no relevance judgements")
    return qrels


def read_run(path: str | Path | FsPath) -> Run:
    """Read a TREC run file: ``qid Q0 docid rank score tag`` (on any filesystem, see iter_lines)."""
    path = Path(path) if isinstance(path, str) else path
    run: Run = {}
    for line_no, line in iter_lines(path):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 6:
            raise InputError(
                path,
                line_no,
                f"expected 6 columns (qid Q0 docid rank score tag), got {len(fields)}",
            )
        qid, _, docid, _, score, _ = fields
        check_id(path, line_no, "query", qid)
        check_id(path, line_no, "document", docid)
        try:
            value = float(score)
        except ValueError:
            raise InputError(path, line_no, f"score {score!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(path, line_no, f"score {score!r} is not a finite number")
        hits = run.setdefault(qid, {})
        if docid in hits:
            raise InputError(path, line_no, f"query {qid!r} ranks document {docid!r} twice")
        hits[docid] = value
    if not run:
        raise InputError(path, None, "the run is empty")
    return run


def format_run(run: Mapping[str, Mapping[str, float]], tag: str) -> str:
    """TREC run text, each query's hits by descending score."""
    lines = []
    for qid in sorted(run):
        ranked = sorted(run[qid].items(), key=lambda hit: (-hit[1], hit[0]))
        for rank, (docid, score) in enumerate(ranked, start=1):
            lines.append(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")
    return "".join(lines)


def write_run(run: Mapping[str, Mapping[str, float]], path: str | Path, tag: str) -> None:
    atomic_write_text(Path(path), format_run(run, tag))
