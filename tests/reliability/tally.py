"""Print the reliability suite's cases by category, as the Markdown table in README.md.

Counts what ``pytest --collect-only -q tests/reliability`` collects (each parametrised case
once); run ``python -m tests.reliability.tally`` from the repository root.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

# (file, test function prefix) -> category; the first rule that matches counts.
RULES = [
    ("test_bad_inputs", "test_run", "Bad input: TREC run and qrels files"),
    ("test_bad_inputs", "test_standalone_qrels", "Bad input: TREC run and qrels files"),
    ("test_bad_inputs", "test_bitext", "Bad input: bitext files"),
    ("test_bad_inputs", "test_option", "Bad input: method options (file, --set, ranges)"),
    ("test_bad_inputs", "test_set_", "Bad input: method options (file, --set, ranges)"),
    ("test_bad_inputs", "", "Bad input: BEIR folder (corpus, queries, qrels, task.yaml)"),
    ("test_valid_inputs", "", "Valid input that must be accepted (BOM, CRLF, non-Latin ids)"),
    ("test_markdown_escape", "", "Leaderboard Markdown escaping"),
    ("test_cache_faults", "", "Cache: damage and faults (kill, two writers, full disk)"),
    ("test_store_check", "", "Store: damaged and orphaned entries (`store check`)"),
    ("test_store_faults", "", "Store: faults in real processes (kill, race, read-only, full disk)"),
    ("test_store_properties", "test_any_", "Property-based (hypothesis): store cell reader"),
    ("test_store_properties", "", "Store: bad content of a cell file"),
    ("test_properties", "", "Property-based (hypothesis): input and cache readers"),
]


def tally() -> Counter[str]:
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/reliability"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: Counter[str] = Counter()
    for line in listing.splitlines():
        if "::" not in line:
            continue
        path, function = line.split("::")[:2]
        name = path.rsplit("/", 1)[-1].removesuffix(".py")
        counts[next(c for f, prefix, c in RULES if f == name and function.startswith(prefix))] += 1
    return counts


if __name__ == "__main__":
    counts = tally()
    print("| Category | Cases |\n|---|---:|")
    for category, count in sorted(
        counts.items(), key=lambda item: [c for *_, c in RULES].index(item[0])
    ):
        print(f"| {category} | {count} |")
    print(f"| **Total** | **{sum(counts.values())}** |")
