from __future__ import annotations

import pytest

from clirbench.config import merge_options, parse_assignments, read_options_file
from clirbench.errors import InputError, OptionsError, UnknownNameError
from clirbench.registry import build_options, get_method_class


def test_builtin_methods_resolve():
    assert get_method_class("bm25").name == "bm25"
    assert get_method_class("me5").Options().batch_size == 64


def test_unknown_method_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean 'bm25'"):
        get_method_class("bm52")


def test_options_are_typed_and_checked():
    assert build_options("bm25", {"k1": "0.9"}).k1 == 0.9
    with pytest.raises(OptionsError, match="k1: Input should be a valid number"):
        build_options("bm25", {"k1": "high"})
    with pytest.raises(
        OptionsError, match=r"k2: Extra inputs are not permitted \(options: k1, b, variant\)"
    ):
        build_options("bm25", {"k2": 1})


def test_set_flags_and_yaml(tmp_path):
    assert parse_assignments(["me5.batch_size=8", "bm25.variant=bm25+", "bm25.k1=1.2"]) == {
        "me5": {"batch_size": 8},
        "bm25": {"variant": "bm25+", "k1": 1.2},
    }
    with pytest.raises(OptionsError, match=r"METHOD.OPTION=VALUE"):
        parse_assignments(["batch_size=8"])
    path = tmp_path / "options.yaml"
    path.write_text("bm25:\n  k1: 0.8\n  b: 0.4\n")
    assert merge_options(read_options_file(path), parse_assignments(["bm25.k1=1.0"])) == {
        "bm25": {"k1": 1.0, "b": 0.4}
    }
    path.write_text("bm25: [unclosed\n")
    with pytest.raises(InputError, match=r"options.yaml:"):
        read_options_file(path)


def test_a_registry_loads_lazily_registers_and_matches_prefix_patterns():
    from clirbench.errors import ClirbenchError, UnknownNameError
    from clirbench.registry import Registry

    kinds: Registry = Registry(
        "widget", "clirbench.no-such-group", {"json": "json:dumps", "path:": "os.path:basename"}
    )
    assert kinds.names() == {"json": "json:dumps"}  # patterns are not names
    import json
    import os.path

    assert kinds.get("json") is json.dumps
    found = kinds.pattern("path:/a/b/c.txt")
    assert found is not None and found[0] is os.path.basename and found[0](found[1]) == "c.txt"
    assert kinds.pattern("other:x") is None

    @kinds.register("double")
    def double(x):
        return 2 * x

    assert kinds.get("double")(2) == 4 and "double" in kinds.names()
    with pytest.raises(ClirbenchError, match="widget name 'double' is taken"):
        kinds.register("double")(lambda x: x)
    with pytest.raises(UnknownNameError, match=r"unknown widget 'jsn'. Did you mean 'json'"):
        kinds.get("jsn")


def test_a_registry_matches_name_patterns_whole_and_lists_prefixes():
    from clirbench.registry import Registry

    patterns = {r"(?P<stem>\w+)\.txt": "os.path:splitext", r".+": "os.path:dirname"}
    kinds: Registry = Registry(
        "widget", "clirbench.no-such-group", {"path:": "os.path:basename"}, patterns
    )
    import os.path

    found = kinds.match("notes.txt")
    assert found is not None and found[0] is os.path.splitext and found[1]["stem"] == "notes"
    first = kinds.match("a/notes.txt.bak")  # the first pattern must match the whole name
    assert first is not None and first[0] is os.path.dirname
    assert kinds.prefixes() == ["path:"] and kinds.names() == {}  # patterns are not names
    assert Registry("widget", "clirbench.no-such-group", {}).match("x") is None


def test_task_sources_resolve_in_one_order(tmp_path):
    from clirbench.tasks import SOURCES, is_builtin_task
    from clirbench.tasks.irds import irds_task
    from clirbench.tasks.noise import noisy_variant

    assert SOURCES.prefixes()[:3] == ["irds:", "hf:", "mteb:"]
    assert SOURCES.pattern("irds:neuclir/1/fa") == (irds_task, "neuclir/1/fa")
    assert "bible-en-ny/verse" in SOURCES.names()
    noisy = SOURCES.match("bible-en-ny/verse/noisy-rate0.1")
    assert noisy is not None and noisy[0] is noisy_variant and noisy[1]["rate"] == "0.1"
    assert is_builtin_task("udhr-en-zul/paragraph") and is_builtin_task("bible-ny-en/passage/noisy")
    folder = tmp_path / "x" / "noisy"
    folder.mkdir(parents=True)
    assert not is_builtin_task(str(folder))  # an existing folder is a BEIR task, never a pattern
