"""Which methods exist: built-ins by import string, plugins through entry points.

Nothing is imported until a method is asked for, so listing names stays cheap. A plugin
package declares, in its pyproject.toml::

    [project.entry-points."clirbench.methods"]
    my-method = "my_package.module:MyMethod"
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from clirbench.errors import ClirbenchError, MissingDependencyError, OptionsError, UnknownNameError
from clirbench.method import MethodBase, MethodOptions

ENTRY_POINT_GROUP = "clirbench.methods"

# Methods shipped in this repository: name -> "module:Class".
BUILTIN_METHODS = {
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
}

_registered: dict[str, type] = {}
M = TypeVar("M", bound=type)


def register_method(name: str):
    """Class decorator: make ``name`` refer to this method class."""

    def decorate(cls: M) -> M:
        known = _registered.get(name)
        if known is not None and known is not cls and known.__qualname__ != cls.__qualname__:
            raise ClirbenchError(f"method name {name!r} is taken by {known.__module__}.{known.__qualname__}")
        cls.name = name
        _registered[name] = cls
        return cls

    return decorate


def available_methods() -> dict[str, str]:
    """Every method name -> the import string of its class (built-ins, then plugins)."""
    methods = dict(BUILTIN_METHODS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in methods and methods[entry.name] != entry.value:
            raise ClirbenchError(
                f"plugin method {entry.name!r} ({entry.value}) clashes with {methods[entry.name]}"
            )
        methods[entry.name] = entry.value
    return methods


def get_method_class(name: str) -> type[MethodBase]:
    if name in _registered:
        return _registered[name]
    methods = available_methods()
    if name not in methods:
        raise UnknownNameError("method", name, methods)
    module_name, _, attribute = methods[name].partition(":")
    cls = getattr(importlib.import_module(module_name), attribute)
    if getattr(cls, "name", "") != name:  # an entry point to a class not decorated with this name
        register_method(name)(cls)
    return cls


class MethodIdentity(BaseModel):
    """Which code computes a method's results: the distribution that provides the class, its
    version, and the method's own ``version``. A change of any of them is a new cell."""

    model_config = ConfigDict(frozen=True)

    distribution: str
    distribution_version: str
    method_version: str


@cache
def _distributions() -> dict[str, list[str]]:
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
    return MethodIdentity(distribution=distribution, distribution_version=dist_version,
                          method_version=str(getattr(cls, "version", "1")))


def missing_requirements(cls: type[MethodBase]) -> list[str]:
    """The packages in ``cls.requires`` that cannot be imported here."""
    from importlib.util import find_spec

    return [package for package in getattr(cls, "requires", ()) if find_spec(package.replace("-", "_")) is None]


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
        raise OptionsError(f"invalid options for method {name!r}: {problems} (options: {fields})") from None


def instantiate(name: str, options: MethodOptions) -> MethodBase:
    cls = get_method_class(name)
    missing = missing_requirements(cls)
    if missing:
        raise MissingDependencyError(name, missing)
    return cls(options)
