"""BLEU and chrF of an offline translator on the built-in dev split, in both directions.

The translator learns from the built-in bitext's train split (Old Testament books) and
translates the dev books (Ruth, Ecclesiastes, Jonah, Haggai: 393 verse pairs), English to
Chichewa and back. Scores are sacrebleu's defaults (case-sensitive, 13a tokenisation for BLEU)
against the original verses, plus their case-insensitive versions: the lexical translator
writes lower-cased words without punctuation.

Run from the repository root:
``python benchmarks/translation_quality.py [--translator lexical] [--preset quick] [--model ID]``.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--translator",
        default="lexical",
        help="a name in clirbench.baselines.translators.TRANSLATORS",
    )
    parser.add_argument(
        "--preset",
        choices=["quick", "full"],
        default="quick",
        help="training budget of learning translators",
    )
    parser.add_argument("--model", help="hub id or local folder, for the hf and ct2 translators")
    args = parser.parse_args()

    import sacrebleu

    from clirbench.baselines.translators import load_translator
    from clirbench.bitext import builtin_bitext
    from clirbench.tasks.builtin.bible import split_pairs

    started = time.perf_counter()
    values = {"preset": args.preset, "model": args.model}
    translator = load_translator(args.translator, values, builtin_bitext())
    print(
        f"{args.translator}: ready in {time.perf_counter() - started:.1f} s "
        "(trained, or loaded from the cache)"
    )
    print(translator.describe())

    dev = split_pairs("dev")
    sides = {"eng_Latn": [p.eng for p in dev], "nya_Latn": [p.nya for p in dev]}
    print(f"\n{len(dev)} dev verse pairs")
    print(
        f"{'direction':<22} {'BLEU':>6} {'chrF':>6} {'BLEU(lc)':>9} {'chrF(lc)':>9} {'sent/s':>8}"
    )
    for source, target in (("eng_Latn", "nya_Latn"), ("nya_Latn", "eng_Latn")):
        started = time.perf_counter()
        hypotheses = translator.translate(sides[source], source, target)
        speed = len(hypotheses) / (time.perf_counter() - started)
        references = [sides[target]]
        bleu = sacrebleu.corpus_bleu(hypotheses, references).score
        chrf = sacrebleu.corpus_chrf(hypotheses, references).score
        bleu_lc = sacrebleu.corpus_bleu(hypotheses, references, lowercase=True).score
        chrf_lc = sacrebleu.CHRF(lowercase=True).corpus_score(hypotheses, references).score
        print(
            f"{source}->{target:<12} {bleu:6.1f} {chrf:6.1f} "
            f"{bleu_lc:9.1f} {chrf_lc:9.1f} {speed:8.0f}"
        )


if __name__ == "__main__":
    main()
