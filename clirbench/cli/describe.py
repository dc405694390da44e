"""``clirbench describe NAME``: a task's whole card and size, or a method's options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo


def describe(
    name: str = typer.Argument(
        ..., help="A method name, a built-in task name or a BEIR folder path."
    ),
    split: str | None = typer.Option(
        None, "--split", help="Split of a task (default: test, or the folder card's)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """A method's options (type, default, doc) and readiness, or a task's card, sizes and
    judgement counts."""
    from clirbench.registry import available_methods

    methods = available_methods()
    if name in methods:
        _describe_method(name, methods[name], as_json)
    else:
        _describe_task(name, split, as_json, methods)


def type_name(field: FieldInfo) -> str:
    """``int, >= 1``, ``str | None``, ``'mean' | 'cls'``: the type as a user writes values."""
    text = readable_type(field.annotation)
    bounds = {
        "ge": ">=",
        "gt": ">",
        "le": "<=",
        "lt": "<",
        "min_length": "length >=",
        "max_length": "length <=",
    }
    for constraint in field.metadata:
        for attribute, symbol in bounds.items():
            if getattr(constraint, attribute, None) is not None:
                text += f", {symbol} {getattr(constraint, attribute)}"
    return text


def readable_type(annotation: Any) -> str:
    """A type as option values are written in YAML or ``--set``: sequences are lists, a record
    (pydantic model) is a mapping of its fields, no module paths: ``list[{method: str}]``."""
    import types
    from collections.abc import Mapping, Sequence
    from collections.abc import Set as AbstractSet
    from typing import Literal, Union, get_args, get_origin

    from pydantic import BaseModel

    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    if origin is Literal:
        return " | ".join(repr(value) for value in args)
    if origin in (Union, types.UnionType):
        return " | ".join(readable_type(arg) for arg in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields.items()
        return "{" + ", ".join(f"{name}: {type_name(field)}" for name, field in fields) + "}"
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return f"dict[{', '.join(readable_type(arg) for arg in args)}]" if args else "dict"
    if origin is tuple and args and args[-1] is not Ellipsis:  # fixed length: [int, int]
        return f"[{', '.join(readable_type(arg) for arg in args)}]"
    if isinstance(origin, type) and issubclass(origin, (Sequence, AbstractSet)):
        return f"list[{readable_type(args[0])}]" if args else "list"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def method_description(name: str, target: str) -> dict[str, Any]:
    """A method's status (as ``list methods`` shows it), packages needed and every option."""
    import json

    from clirbench.cli.listing import method_status
    from clirbench.registry import get_method_class

    described = method_status(name, target)
    cls = get_method_class(name)
    described["requires"] = list(getattr(cls, "requires", ()))
    described["options"] = [
        {
            "name": option,
            "type": type_name(field),
            "default": json.loads(
                json.dumps(field.get_default(call_default_factory=True), default=str)
            ),
            "doc": field.description or "",
        }
        for option, field in cls.Options.model_fields.items()
    ]
    return described


def _describe_method(name: str, target: str, as_json: bool) -> None:
    import json

    from clirbench.cli.output import TableData, print_json, print_table

    described = method_description(name, target)
    if as_json:
        print_json({"kind": "method", **described})
        return
    print(f"{name}: {described['description']}")
    print(
        f"class {described['class']}; needs {', '.join(described['requires']) or 'nothing extra'}"
    )
    print(
        f"status: {described['status']}" + (f" ({described['note']})" if described["note"] else "")
    )
    table = TableData(
        ("option", "type", "default", "doc"), title=f"Options of {name} (--set {name}.OPTION=VALUE)"
    )
    for option in described["options"]:
        default = json.dumps(option["default"], ensure_ascii=False)
        table.rows.append((option["name"], option["type"], default, option["doc"] or "-"))
    print_table(table)


def _describe_task(spec: str, split: str | None, as_json: bool, methods: dict[str, str]) -> None:
    from pathlib import Path

    from clirbench.cli.output import TableData, print_json, print_table
    from clirbench.errors import UnknownNameError
    from clirbench.tasks import BUILTIN_TASKS, SOURCES, is_builtin_task, load_task

    looks_like_task = (
        is_builtin_task(spec)
        or Path(spec).exists()
        or SOURCES.pattern(spec) is not None
        or spec in SOURCES.names()
    )
    if not looks_like_task:
        raise UnknownNameError("task or method", spec, [*BUILTIN_TASKS, *methods])
    loaded = load_task(spec, split)
    card = loaded.card.model_dump(mode="json")
    judgements = sum(len(j) for j in loaded.qrels.values())
    sizes = {
        "queries": len(loaded.queries),
        "documents": len(loaded.corpus),
        "judgements": judgements,
    }
    languages = _languages(loaded.card.query_lang, loaded.card.doc_lang)
    if as_json:
        print_json({"kind": "task", "card": card, "languages": languages, **sizes})
        return
    table = TableData(("field", "value"), title=f"Task card: {loaded.card.name}")
    for field, value in card.items():
        table.rows.append(
            (field, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
        )
    for side, language in languages.items():
        table.rows.append(
            (
                f"{side} language",
                (
                    f"{language['name']}; family {language['family']}; "
                    f"script {language['script']}; "
                    f"resource class {language['resource']} (Joshi et al. 2020)"
                ),
            )
        )
    table.rows.append(("queries", str(sizes["queries"])))
    table.rows.append(("documents", str(sizes["documents"])))
    table.rows.append(
        ("judgements", f"{judgements} ({judgements / max(len(loaded.qrels), 1):.2f} per query)")
    )
    print_table(table, show_header=False)


def _languages(query_lang: str, doc_lang: str) -> dict[str, dict[str, Any]]:
    """Family, script and resource class of each side's language, where they are known."""
    import dataclasses

    from clirbench.tasks.languages import LANGUAGES

    sides = {"query": LANGUAGES.get(query_lang), "document": LANGUAGES.get(doc_lang)}
    return {
        side: dataclasses.asdict(language)
        for side, language in sides.items()
        if language is not None
    }
