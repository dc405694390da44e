"""A clirbench method for fault tests: word overlap on a slow disk.

Its options make a run slow at known steps, so that a test can kill it there: ``retrieve_delay``
sleeps in ``retrieve``; ``publish_delay`` sleeps before every rename the process makes after
retrieving (a cell's publish is made of renames: each file of the temp folder, then the folder
itself), and ``log`` names a file where each step is written before its sleep. Nothing in
clirbench knows about it: it is an ordinary plugin, installed through its entry point.
"""

import os
import re
import time

from clirbench import MethodBase, MethodOptions


class SlowDiskOptions(MethodOptions):
    retrieve_delay: float = 0.0
    publish_delay: float = 0.0
    log: str = ""

    runtime_options = frozenset({"retrieve_delay", "publish_delay", "log"})


def _note(log: str, line: str) -> None:
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def _slowed(function, delay: float, log: str):
    def slow(source, target, *args, **kwargs):
        _note(log, f"{function.__name__} {os.fspath(source)} -> {os.fspath(target)}")
        time.sleep(delay)
        return function(source, target, *args, **kwargs)

    return slow


class SlowDisk(MethodBase):
    """Counts the lower-cased words a query shares with a document, slowly."""

    Options = SlowDiskOptions

    def retrieve(self, task, k):
        _note(self.options.log, f"retrieve {task.name}")
        time.sleep(self.options.retrieve_delay)
        if self.options.publish_delay and not getattr(os.rename, "slowed", False):
            for name in ("rename", "replace"):
                slowed = _slowed(getattr(os, name), self.options.publish_delay, self.options.log)
                slowed.slowed = True
                setattr(os, name, slowed)
        words = {
            doc_id: set(re.findall(r"\w+", doc.full_text.lower()))
            for doc_id, doc in task.corpus.items()
        }
        run = {}
        for qid, text in task.queries.items():
            query = set(re.findall(r"\w+", text.lower()))
            scores = {d: float(len(query & terms)) for d, terms in words.items() if query & terms}
            run[qid] = dict(sorted(scores.items(), key=lambda hit: (-hit[1], hit[0]))[:k])
        return run
