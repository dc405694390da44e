"""One vocabulary across commands: --store, --measures, -h, --version, --json, describe METHOD,
options files with other methods' sections, exit codes, plain output when piped."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clirbench.cli import app
from clirbench.errors import MethodUnavailableError
from clirbench.method import MethodBase, MethodOptions
from clirbench.registry import register_method
from tests.conftest import TINY

runner = CliRunner()
LONG_NAME = "a-method-with-a-name-much-longer-than-any-terminal-column-would-allow-for-it"


@register_method("unavailable-here")
class Unavailable(MethodBase):
    """Always reports that it cannot run on this machine."""

    def retrieve(self, task, k):
        raise MethodUnavailableError("unavailable-here: weights absent on this machine")


@register_method(LONG_NAME)
class LongName(MethodBase):
    """Ranks every document equally (by id)."""

    Options = MethodOptions

    def retrieve(self, task, k):
        return {qid: dict.fromkeys(sorted(task.corpus)[:k], 1.0) for qid in task.queries}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bm25 with two settings of k1 and the long-named method, on the tiny task."""
    root = tmp_path_factory.mktemp("store")
    for args in (["-m", "bm25"], ["-m", "bm25", "--set", "bm25.k1=0.5"], ["-m", LONG_NAME]):
        result = runner.invoke(app, ["run", *args, "-t", str(TINY), "--store", str(root)])
        assert result.exit_code == 0, result.output
    return root


def test_help_short_flag_and_exit_codes_in_epilog():
    for args in (["-h"], ["run", "-h"], ["list", "methods", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output
    top = runner.invoke(app, ["-h"], env={"COLUMNS": "200"})
    assert "Exit codes: 0 ok; 1 a cell failed or did not run; 2 usage or input error" in top.output
    assert "--install-completion" in top.output and "--show-completion" in top.output


def test_version_is_the_installed_distribution():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"clirbench {version('clirbench')}"


def test_run_takes_store_and_an_old_out_is_a_usage_error(tmp_path: Path, cli):
    ended = cli("run", "-m", "bm25", "-t", str(TINY), "--out", str(tmp_path / "s"))
    assert ended.code == 2
    assert ended.err.strip() == (
        "Error: Invalid value for --out: the result store is now --store (--out names a folder of "
        f"written files): use --store {tmp_path / 's'}. Try 'clirbench run -h' for help."
    )
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("args", [["-m", ""], ["-t", ""], ["-m", " , "]])
def test_empty_names_are_usage_errors(args: list[str], tmp_path: Path, cli):
    base = {"-m": "bm25", "-t": str(TINY)}
    base[args[0]] = args[1]
    ended = cli("run", "-m", base["-m"], "-t", base["-t"], "--store", str(tmp_path))
    assert ended.code == 2
    assert "no name given" in ended.err and "give at least one" in ended.err
    assert len(ended.err.strip().splitlines()) == 1 and not any(tmp_path.iterdir())


def test_a_comma_inside_a_labels_brackets_does_not_split_it(tmp_path: Path, cli):
    store = str(tmp_path / "s")
    assert cli("run", "-m", "bm25", "-t", str(TINY), "--store", store).code == 0
    tuned = ("--set", "bm25.k1=0.9", "--set", "bm25.b=0.5")
    assert cli("run", "-m", "bm25", *tuned, "-t", str(TINY), "--store", store).code == 0
    compared = cli("compare", "-m", "bm25[b=0.5,k1=0.9], bm25", "--store", store, "--json")
    assert compared.code == 0, compared.err
    rows = json.loads(compared.out)["comparisons"]
    assert {(row["a"], row["b"]) for row in rows} == {("bm25[b=0.5,k1=0.9]", "bm25")}


def test_run_exits_1_when_a_cell_did_not_run(tmp_path: Path):
    result = runner.invoke(
        app, ["run", "-m", "bm25,unavailable-here", "-t", str(TINY), "--store", str(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    assert (
        "not run unavailable-here on tiny-en-ny: unavailable-here: weights absent" in result.output
    )
    assert "computed bm25 on tiny-en-ny" in result.output  # the other cell still ran
    again = runner.invoke(app, ["run", "-m", "bm25", "-t", str(TINY), "--store", str(tmp_path)])
    assert again.exit_code == 0 and "reused bm25 on tiny-en-ny" in again.output


def test_piped_output_is_tab_separated_and_never_truncated(store: Path):
    result = runner.invoke(
        app, ["run", "-m", LONG_NAME, "-t", str(TINY), "--store", str(store)], env={"COLUMNS": "40"}
    )
    assert result.exit_code == 0
    assert f"reused {LONG_NAME} on tiny-en-ny" in result.output
    header, row = [line for line in result.output.splitlines() if "\t" in line]
    assert header.split("\t") == ["method", "nDCG@10", "nDCG@20", "AP", "RR@10", "R@100"]
    assert row.split("\t")[0] == LONG_NAME and len(row.split("\t")) == 6
    listed = runner.invoke(app, ["list", "methods"], env={"COLUMNS": "40"})
    assert "clirbench.methods.optical.method:UntrainedStudent" in listed.output


def test_list_methods_json_says_what_is_ready_offline():
    result = runner.invoke(app, ["list", "methods", "--json"])
    assert result.exit_code == 0
    methods = {m["name"]: m for m in json.loads(result.output)}
    assert methods["bm25"]["ready"] and methods["bm25"]["status"] == "ready"
    assert methods["nmt"]["ready"] and "hf and ct2 need --set nmt.model" in methods["nmt"]["note"]
    assert methods["st"]["ready"] and methods["me5"]["ready"]
    assert {"name", "class", "description", "ready", "status", "note"} <= methods["mbert"].keys()
    if not methods["mbert"]["ready"]:  # no bert-base-multilingual-cased in the local hub cache
        assert (
            "absent offline" in methods["mbert"]["note"]
            and methods["mbert"]["status"] == "not ready"
        )


def test_list_tasks_json():
    result = runner.invoke(app, ["list", "tasks", "--json"])
    listed = json.loads(result.output)
    verse = next(t for t in listed["tasks"] if t["name"] == "bible-en-ny/verse")
    assert (verse["queries"], verse["documents"], verse["doc_lang"]) == (300, 3000, "nya_Latn")
    assert "bible-en-ny/verse" in listed["suites"]["lowres"]


def test_describe_method_lists_options_with_type_default_and_doc():
    result = runner.invoke(app, ["describe", "nmt"])
    assert result.exit_code == 0, result.output
    rows = {
        line.split("\t")[0]: line.split("\t")[1:]
        for line in result.output.splitlines()
        if "\t" in line
    }
    assert rows["mode"] == [
        "'query' | 'document' | 'both'",
        '"document"',
        "Translate the queries, the documents, or both (rankings fused by reciprocal rank).",
    ]
    assert rows["query_translations"][:2] == ["int, >= 1", "4"]
    assert rows["translators"][:2] == ["list[str], length >= 1", '["marian-local", "lexical"]']
    assert rows["model"][:2] == ["str | None", "null"]
    described = json.loads(runner.invoke(app, ["describe", "bm25", "--json"]).output)
    assert described["kind"] == "method" and described["requires"] == ["bm25s"]
    options = {o["name"]: o for o in described["options"]}
    assert options["k1"]["type"] == "float, >= 0" and options["k1"]["default"] == 1.5


def test_describe_shows_nested_option_types_as_values_are_written():
    from clirbench.cli.describe import readable_type
    from clirbench.report.model import Worst

    described = json.loads(runner.invoke(app, ["describe", "fuse", "--json"]).output)
    options = {o["name"]: o["type"] for o in described["options"]}
    # A tuple of pydantic records, once printed as tuple[clirbench.baselines.fuse.System, ...].
    assert options["systems"] == "list[{method: str, options: dict[str, Any]}]"
    assert options["rrf_k"] == "int, >= 1"
    assert readable_type(tuple[float, float] | None) == "[float, float] | None"
    assert readable_type(frozenset[str]) == "list[str]"
    assert readable_type(dict[str, list[Worst]]) == "dict[str, list[{label: str, value: float}]]"


def test_describe_task_json_and_neither_task_nor_method(tmp_path: Path, cli):
    described = json.loads(runner.invoke(app, ["describe", str(TINY), "--json"]).output)
    assert described["kind"] == "task" and described["card"]["name"] == "tiny-en-ny"
    assert (described["queries"], described["documents"], described["judgements"]) == (4, 6, 5)
    unknown = cli("describe", "bm52")
    assert unknown.code == 2
    assert unknown.err.startswith("Error: unknown task or method 'bm52'. Did you mean 'bm25'?")


def test_options_file_may_hold_sections_for_methods_not_run(tmp_path: Path):
    options = tmp_path / "options.yaml"
    options.write_text(
        "bm25:\n  k1: 0.9\nme5:\n  batch_size: 8\nnmt:\n  mode: query\n", encoding="utf-8"
    )
    result = runner.invoke(
        app,
        [
            "run",
            "-m",
            "bm25",
            "-t",
            str(TINY),
            "--store",
            str(tmp_path / "s"),
            "--options",
            str(options),
        ],
    )
    assert result.exit_code == 0, result.output
    (cell,) = (tmp_path / "s" / "tiny-en-ny" / "test").glob("bm25@*")
    assert json.loads((cell / "manifest.json").read_text())["method"]["options"]["k1"] == 0.9
    assert not list((tmp_path / "s" / "tiny-en-ny" / "test").glob("me5@*"))


@pytest.mark.parametrize(
    "section, message",
    [
        ("bm52:\n  k1: 1.0\n", "section 'bm52': unknown method 'bm52'. Did you mean 'bm25'?"),
        (
            "me5:\n  batch_size: many\n",
            "section 'me5': invalid options for method 'me5': batch_size",
        ),
        ("me5:\n  bacth_size: 8\n", "section 'me5': invalid options for method 'me5': bacth_size"),
    ],
)
def test_foreign_sections_are_still_checked(section: str, message: str, tmp_path: Path, cli):
    options = tmp_path / "options.yaml"
    options.write_text("bm25:\n  k1: 0.9\n" + section, encoding="utf-8")
    ended = cli(
        "run",
        "-m",
        "bm25",
        "-t",
        str(TINY),
        "--store",
        str(tmp_path / "s"),
        "--options",
        str(options),
    )
    assert ended.code == 2
    assert ended.err.startswith(f"Error: {options}: {message}")
    assert not (tmp_path / "s").exists()


def test_set_for_a_method_not_run_is_still_an_error(tmp_path: Path, cli):
    ended = cli("run", "-m", "bm25", "-t", str(TINY), "--set", "me5.batch_size=3")
    assert ended.code == 2 and "not among --methods" in ended.err


def test_compare_json_measures_and_method_pairs(store: Path):
    systems = ["bm25", "bm25[k1=0.5]", LONG_NAME]
    args = [
        "compare",
        "-m",
        ",".join(systems),
        "--store",
        str(store),
        "--measures",
        "nDCG@10,RR@10",
        "--resamples",
        "200",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    compared = json.loads(result.output)
    rows = compared["comparisons"]
    assert len(rows) == 3 * 2  # three pairs x two measures on the one task in the store
    assert {(r["a"], r["b"]) for r in rows} == {
        (systems[0], systems[1]),
        (systems[0], systems[2]),
        (systems[1], systems[2]),
    }
    assert {r["measure"] for r in rows} == {"nDCG@10", "RR@10"}
    same = next(r for r in rows if r["b"] == systems[1] and r["measure"] == "nDCG@10")
    assert (
        same["difference"] == 0.0 and same["p"] == 1.0 and same["d_z"] == 0.0
    )  # identical rankings
    assert all(r["p_adjusted"] >= r["p"] for r in rows)


def test_compare_filters_tasks_and_needs_two_systems(store: Path, cli):
    unknown = cli("compare", "bm25@x", LONG_NAME, "-t", "bible-en-ny/verse", "--store", str(store))
    assert unknown.code == 2 and "no result for task 'bible-en-ny/verse'" in unknown.err
    unknown = cli("compare", "bm25@x", LONG_NAME, "-t", "tiny-en-ny", "--store", str(store))
    assert unknown.code == 2 and "unknown system on task 'tiny-en-ny'" in unknown.err
    assert cli("compare", "bm25").code == 2
    assert cli("compare", "bm25", "me5", "-m", "bm25,me5").code == 2
    table = runner.invoke(
        app,
        [
            "compare",
            f"{LONG_NAME}",
            "bm25[k1=0.5]",
            "--store",
            str(store),
            "--resamples",
            "200",
        ],
    )
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split("\t")[:4] == ["A", "B", "task", "measure"]
    assert table.output.splitlines()[1].split("\t")[0] == LONG_NAME


def test_evaluate_json(tmp_path: Path):
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d1 1 2.0 x\nq2 Q0 d1 1 1.0 x\nq2 Q0 d4 2 0.5 x\n")
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(run),
            str(TINY / "qrels" / "test.tsv"),
            "--measures",
            "RR@10,R@1",
            "--json",
            "--per-query",
        ],
    )
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output)
    assert scored["measures"]["RR@10"] == {"mean": 0.375, "queries": 4}
    assert scored["per_query"]["RR@10"]["q2"] == 0.5


def test_report_takes_one_primary_measure(tmp_path: Path, cli):
    ended = cli("report", "--store", str(tmp_path), "--measures", "nDCG@10,AP")
    assert ended.code == 2 and "ranks by one primary measure" in ended.err
