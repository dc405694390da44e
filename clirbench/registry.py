"""One small registry for every kind of plugin: methods, translators, task sources.

A kind has a table of what ships here (name -> "module:attr", imported only when asked for),
an entry-point group for other packages, a decorator for classes defined on the fly, and
prefix patterns (as ir_datasets' ``register_pattern``: ``irds:`` stands for every id after it)
and name patterns (a regular expression matched against the whole name, ``…/noisy``).
Listing names imports nothing. A plugin package declares, in its pyproject.toml::

    [project.entry-points."clirbench.methods"]      # or clirbench.translators, clirbench.sources
    my-method = "my_package.module:MyMethod"
    "mysource:" = "my_package.tasks:load"           # a name ending in ":" is a prefix pattern
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from clirbench.errors import ClirbenchError, MissingDependencyError, OptionsError, UnknownNameError
from clirbench.method import MethodBase, MethodOptions

T = TypeVar("T")


class Registry(Generic[T]):
    """Names of one kind of plugin -> objects, imported lazily.

    ``builtins`` maps a name, or a prefix ending in ``:``, to ``"module:attr"``; entry points in
    ``group`` add to it (a clash with a different target is an error), and ``register`` adds an
    object directly. ``patterns`` maps a regular expression (matched against a whole name)
    to ``"module:attr"``; they are built-in only (an entry point name cannot hold one).
    """

    def __init__(
        self,
        kind: str,
        group: str,
        builtins: dict[str, str],
        patterns: dict[str, str] | None = None,
    ) -> None:
        self.kind, self.group, self.builtins = kind, group, builtins
        self.patterns = {re.compile(regex): target for regex, target in (patterns or {}).items()}
        self._registered: dict[str, T] = {}
        self._on_load: list[Callable[[str, T], None]] = []

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: make ``name`` refer to the decorated object."""

        def decorate(obj: T) -> T:
            known = self._registered.get(name)
            if known is not None and known is not obj and _qualname(known) != _qualname(obj):
                raise ClirbenchError(f"{self.kind} name {name!r} is taken by {_qualname(known)}")
            self._registered[name] = obj
            for hook in self._on_load:
                hook(name, obj)
            return obj

        return decorate

    def on_load(self, hook: Callable[[str, T], None]) -> None:
        """Call ``hook(name, obj)`` for every object registered or loaded from now on."""
        self._on_load.append(hook)

    def targets(self) -> dict[str, str]:
        """Every name (and prefix pattern) -> its import string: built-ins, then plugins."""
        found = dict(self.builtins)
        for entry in entry_points(group=self.group):
            if entry.name in found and found[entry.name] != entry.value:
                raise ClirbenchError(
                    f"plugin {self.kind} {entry.name!r} ({entry.value}) clashes with "
                    f"{found[entry.name]}"
                )
            found[entry.name] = entry.value
        return found

    def names(self) -> dict[str, str]:
        """Plain names (no patterns) -> import string, registered ones included."""
        found = {name: target for name, target in self.targets().items() if not name.endswith(":")}
        return {
            **found,
            **{name: _qualname(obj) for name, obj in self._registered.items() if name not in found},
        }

    def get(self, name: str) -> T:
        if name in self._registered:
            return self._registered[name]
        names = self.names()
        if name not in names:
            raise UnknownNameError(self.kind, name, names)
        return self._load(name, names[name])

    def pattern(self, spec: str) -> tuple[T, str] | None:
        """For ``prefix:rest`` with a registered prefix: (its object, ``rest``); else None."""
        for name, target in self.targets().items():
            if name.endswith(":") and spec.startswith(name):
                return self._load(name, target), spec[len(name) :]
        return None

    def prefixes(self) -> list[str]:
        """Every prefix pattern (``irds:``), built-ins first, then plugins'."""
        return [name for name in self.targets() if name.endswith(":")]

    def match(self, spec: str) -> tuple[T, re.Match[str]] | None:
        """For a name a name pattern matches whole: (the first such pattern's object, the match)."""
        for regex, target in self.patterns.items():
            if (found := regex.fullmatch(spec)) is not None:
                return _import(target), found
        return None

    def _load(self, name: str, target: str) -> T:
        obj: T = _import(target)
        self._registered.setdefault(name, obj)
        for hook in self._on_load:
            hook(name, obj)
        return obj


def _import(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


METHODS: Registry[type[MethodBase]] = Registry(
    "method",
    "clirbench.methods",
    {
        "bm25": "clirbench.baselines.bm25:BM25",
        "me5": "clirbench.baselines.me5:ME5",
        "optical": "clirbench.methods.optical.method:Optical",
        "distill-mse": "clirbench.methods.optical.method:DistillMSE",
        "optical+mse": "clirbench.methods.optical.method:OpticalMSE",
        "untrained-student": "clirbench.methods.optical.method:UntrainedStudent",
        "mlm-student": "clirbench.methods.adaptation.method:MLMStudent",
        "optical+mlm": "clirbench.methods.adaptation.method:OpticalMLM",
        "nmt": "clirbench.baselines.nmt:NMT",
        "st": "clirbench.baselines.st:SentenceTransformerEncoder",
        "mbert": "clirbench.baselines.mbert:MBERT",
        "fuse": "clirbench.baselines.fuse:Fuse",
    },
)


def _name_the_class(name: str, cls: type[MethodBase]) -> None:
    cls.name = name  # a method knows the name it was registered or loaded under


METHODS.on_load(_name_the_class)
register_method = METHODS.register
available_methods = METHODS.names
get_method_class = METHODS.get


class MethodIdentity(BaseModel):
    """Which code computes a method's results: the distribution that provides the class, its
    version, and the method's own ``version``. A change of any of them is a new cell."""

    model_config = ConfigDict(frozen=True)

    distribution: str
    distribution_version: str
    method_version: str


@cache
def _distributions() -> Mapping[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


def method_identity(cls: type[MethodBase]) -> MethodIdentity:
    """The identity of ``cls``'s code; a class from no installed distribution (a script, a
    test) is ``local``, version ``0``, and relies on its ``version`` alone."""
    from importlib.metadata import PackageNotFoundError, version

    top_level = cls.__module__.partition(".")[0]
    names = _distributions().get(top_level, [])
    distribution, dist_version = "local", "0"
    for name in names:
        try:
            distribution, dist_version = name, version(name)
            break
        except PackageNotFoundError:
            continue
    return MethodIdentity(
        distribution=distribution,
        distribution_version=dist_version,
        method_version=str(getattr(cls, "version", "1")),
    )


def missing_requirements(cls: type[MethodBase]) -> list[str]:
    """The packages in ``cls.requires`` that cannot be imported here."""
    from importlib.util import find_spec

    return [
        package
        for package in getattr(cls, "requires", ())
        if find_spec(package.replace("-", "_")) is None
    ]


def build_options(name: str, values: dict[str, Any]) -> MethodOptions:
    """Validate option values for method ``name``; errors name the option and the problem."""
    cls = get_method_class(name)
    try:
        return cls.Options(**values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(options)'}: {e['msg']}" for e in error.errors()
        )
        fields = ", ".join(cls.Options.model_fields) or "none"
        raise OptionsError(
            f"invalid options for method {name!r}: {problems} (options: {fields})"
        ) from None


def instantiate(name: str, options: MethodOptions) -> MethodBase:
    cls = get_method_class(name)
    missing = missing_requirements(cls)
    if missing:
        raise MissingDependencyError(name, missing)
    return cls(options)
