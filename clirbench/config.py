"""Method options from a YAML file and ``--set method.option=value`` flags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clirbench.errors import InputError, OptionsError
from clirbench.fileio import read_yaml

if TYPE_CHECKING:
    from clirbench.runner import MethodSpec


def parse_assignments(assignments: list[str]) -> dict[str, dict[str, Any]]:
    """``["me5.batch_size=64"]`` -> ``{"me5": {"batch_size": 64}}``; values are YAML scalars."""
    import yaml

    options: dict[str, dict[str, Any]] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        method, dot, option = key.strip().partition(".")
        if not sep or not dot or not method or not option:
            raise OptionsError(
                f"--set {assignment!r}: expected METHOD.OPTION=VALUE, e.g. me5.batch_size=64"
            )
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except (yaml.YAMLError, RecursionError):
            raise OptionsError(
                f"--set {assignment!r}: the value is not a YAML scalar or list; quote text values"
            ) from None
        options.setdefault(method.strip(), {})[option.strip()] = value
    return options


EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class OptionsFile:
    """An options file: each method's options, and where its cells run (None: not said)."""

    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    executor: str | None = None
    address: str | None = None


def parse_options_file(path: Path) -> OptionsFile:
    """A YAML mapping of method name -> option mapping, plus, at the top level, ``executor``
    (local or ray) and ``address`` (a Ray cluster, with ``executor: ray``)."""
    data = read_yaml(path)
    if data is None:
        return OptionsFile()
    if not isinstance(data, dict):
        raise InputError(path, None, "expected a mapping of method name -> {option: value}")
    methods = {key: value for key, value in data.items() if key not in ("executor", "address")}
    if not all(
        isinstance(method, str) and isinstance(values, dict) and all(map(_is_str, values))
        for method, values in methods.items()
    ):
        raise InputError(path, None, "expected a mapping of method name -> {option: value}")
    executor, address = data.get("executor"), data.get("address")
    if executor is not None and executor not in EXECUTORS:
        raise InputError(path, None, f"executor: {executor!r} is not an executor; use local or ray")
    if address is not None and not (isinstance(address, str) and address.strip()):
        raise InputError(
            path, None, f"address: {address!r} is not a Ray cluster; use auto or ray://HOST:PORT"
        )
    if address is not None and executor != "ray":
        raise InputError(path, None, "address names a Ray cluster: add executor: ray")
    return OptionsFile(methods, executor, address)


def read_options_file(path: Path) -> dict[str, dict[str, Any]]:
    """The method options of an options file (see :func:`parse_options_file`)."""
    return parse_options_file(path).methods


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def merge_options(*layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for method, values in layer.items():
            merged.setdefault(method, {}).update(values)
    return merged


def method_specs(
    methods: Sequence[str], options: Mapping[str, Mapping[str, Any]]
) -> list[MethodSpec]:
    """Each method with its validated options (``options``: method -> {option: value}).

    Options for a method that is not among ``methods`` are an error: they would be ignored.
    """
    from clirbench.registry import build_options
    from clirbench.runner import MethodSpec

    for name in options:
        if name not in methods:
            listed = ", ".join(methods)
            raise OptionsError(f"options given for {name!r}, not among the methods ({listed})")
    return [MethodSpec(name, build_options(name, dict(options.get(name, {})))) for name in methods]
