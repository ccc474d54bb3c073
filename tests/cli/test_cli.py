"""The ``qtrain`` command table: help of every subcommand, recipe fields in ``run --help``, errors, cheap import."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from helpers import cli

import qtrain
from qtrain.cli import COMMANDS, main
from qtrain.config import ConfigError, config_fields
from qtrain.recipes import list_presets, ls, recipe_names
from qtrain.recipes.quantum_train.qt_image import QTImageConfig

SRC = Path(qtrain.__file__).resolve().parent

OPTIONS = {
    "ls": ["[recipe]"],
    "run": ["[recipe]", "--preset PRESET", "--set KEY=VALUE", "--seed SEED", "--resume RUN_DIR", "--out OUT",
            "--quiet"],
    "sweep": ["recipe", "--presets PRESETS", "--seeds SEEDS", "--set KEY=VALUE", "--out OUT", "--ray",
              "--address ADDRESS", "--cpus-per-run CPUS_PER_RUN"],
    "bench": ["{sim}", "--quick", "--cases ANSATZ:N:BLOCKS,...", "--threads THREADS", "--repeats REPEATS", "--peers",
              "--repo DIR", "--out OUT"],
    "report": ["path", "--out OUT"],
    "export": ["run_dir"],
    "validate": ["path", "--recipe RECIPE"],
}


def test_the_table_lists_every_subcommand_in_order() -> None:
    assert list(COMMANDS) == ["ls", "run", "sweep", "bench", "report", "export", "validate"]
    assert list(OPTIONS) == list(COMMANDS)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_every_subcommand_help_exits_0_and_lists_its_options(name: str) -> None:
    rc, text = cli(name, "--help")
    assert rc == 0
    assert text.startswith(f"usage: qtrain {name} [-h]")
    assert " ".join(COMMANDS[name].HELP.split()) in " ".join(text.split())
    for option in OPTIONS[name]:
        assert option in text, option


def test_run_recipe_help_lists_the_config_fields_of_the_dataclass() -> None:
    rc, text = cli("run", "qt_image", "--help")
    assert rc == 0 and text.startswith("usage: qtrain run [-h]")
    blocks = re.search(r"^  blocks +(.*)$", text, re.M)
    assert blocks is not None and blocks.group(1).split()[:4] == ["=", "16", "QNN", "blocks"]
    assert blocks.group(1).endswith("[int]")
    for f in config_fields(QTImageConfig):  # every field, in the dataclass's order
        assert re.search(rf"^  {f.name} +=", text, re.M), f.name
    names = re.findall(r"^  (\w+) +=", text, re.M)
    assert names == [f.name for f in config_fields(QTImageConfig)] + ["loggers", "device", "precision"]  # run options
    assert "\nrun options of every recipe (--set KEY=VALUE):\n  loggers " in text
    assert f"presets (--preset NAME): {', '.join(list_presets('qt_image'))}" in text


def test_run_help_without_a_recipe_says_how_to_list_fields() -> None:
    rc, text = cli("run", "--help")
    assert rc == 0 and text.rstrip().endswith(
        "`qtrain run RECIPE --help` lists the config fields of RECIPE (recipes: `qtrain ls`).")


def test_unknown_subcommand_and_recipe_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "qtrain: error: argument COMMAND: invalid choice: 'nope' (choose from 'ls', 'run', 'sweep', 'bench', "
        "'report', 'export', 'validate')")
    assert main(["run", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qtrain run: error: recipe='nope' is unknown") and str(recipe_names()) in err
    assert err.count("\n") == 1
    assert main(["run", "qt_imag", "--help"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines()[-1].startswith(
        "qtrain run: error: recipe='qt_imag' is unknown; did you mean 'qt_image'?")
    assert main(["ls", "nope"]) == 2 and "recipe='nope' is unknown" in capsys.readouterr().err
    assert main([]) == 2 and capsys.readouterr().out.startswith("usage: qtrain [-h] [--version] COMMAND ...")


def _raising(exc: BaseException) -> types.SimpleNamespace:
    def run(args: object) -> int:
        raise exc
    return types.SimpleNamespace(HELP="a test command", configure=lambda p: None, run=run)


@pytest.mark.parametrize("exc,line", [
    (ValueError("n=3 must be >= 4"), "qtrain validate: error: n=3 must be >= 4"),
    (ConfigError("Cfg", ["unknown key 'x'"]), "qtrain validate: error: invalid Cfg config, 1 problem:"),
    (FileNotFoundError("no run.json in 'x'"), "qtrain validate: error: no run.json in 'x'"),
    (ImportError('plots=true needs matplotlib: pip install "qtrain[plot]"'),
     'qtrain validate: error: plots=true needs matplotlib: pip install "qtrain[plot]"'),
])
def test_user_errors_are_one_line_and_exit_2(exc: Exception, line: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(COMMANDS, "validate", _raising(exc))
    assert main(["validate"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines()[0] == line and "Traceback" not in captured.err


def test_bugs_are_not_hidden_and_interrupts_exit_130(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(COMMANDS, "validate", _raising(ImportError("No module named 'qtrain.gone'")))
    with pytest.raises(ImportError, match=r"^No module named 'qtrain.gone'$"):
        main(["validate"])
    monkeypatch.setitem(COMMANDS, "validate", _raising(KeyError("train_loss")))
    with pytest.raises(KeyError, match="train_loss"):
        main(["validate"])
    monkeypatch.setitem(COMMANDS, "validate", _raising(KeyboardInterrupt()))
    assert main(["validate"]) == 130 and capsys.readouterr().err == "qtrain validate: interrupted\n"


def test_missing_extra_through_the_real_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["sweep", "qt_image", "--presets", "mnist_qt16", "--ray", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == 'qtrain sweep: error: --ray needs Ray: pip install "qtrain[dist]"\n'
    assert list(tmp_path.iterdir()) == []


def test_help_and_version_do_not_import_torch(repo_root: Path) -> None:
    code = ("import contextlib, io, json, sys\nfrom qtrain.cli import COMMANDS, main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    codes = [main(['--help'])] + [main([c, '--help']) for c in COMMANDS]\n"
            "print(json.dumps([codes, sorted(m for m in ('torch', 'numpy', 'yaml') if m in sys.modules)]))")
    env = {**os.environ, "PYTHONPATH": str(SRC.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == [[0] * 8, []]
    version = subprocess.run([sys.executable, "-m", "qtrain.cli", "--version"], capture_output=True, text=True,
                             env=env, check=False)
    assert (version.returncode, version.stdout) == (0, f"qtrain {qtrain.__version__}\n")


def test_ls_is_a_library_function_returning_data() -> None:
    (entry,) = ls("qt_image")
    assert entry["recipe"] == "qt_image" and list(entry["presets"]) == list(list_presets("qt_image"))
    assert {f.name: f.default for f in entry["fields"]}["blocks"] == 16
    assert [e["recipe"] for e in ls()] == recipe_names() and all("fields" not in e for e in ls())


def _library_violations(path: Path) -> list[str]:
    """Prints, sys.exit, argparse, sys.path edits and imports of benchmarks/tests in one library module."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            bad.append(f"{path.name}:{node.lineno} print()")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys" \
                and node.attr in ("exit", "path"):
            bad.append(f"{path.name}:{node.lineno} sys.{node.attr}")
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        bad += [f"{path.name}:{node.lineno} import {n}" for n in names
                if n.split(".")[0] in ("argparse", "benchmarks", "tests", "helpers")]
    return bad


def test_library_modules_neither_parse_arguments_nor_print() -> None:
    files = [p for p in sorted(SRC.rglob("*.py")) if "cli" not in p.relative_to(SRC).parts]
    assert len(files) > 40 and SRC / "bench.py" in files and SRC / "sweep.py" in files
    assert [v for p in files for v in _library_violations(p)] == []
    assert not (SRC / "recipes" / "commands.py").exists() and not (SRC / "report" / "cli.py").exists()


def test_result_tables_print_a_dash_for_missing_values(capsys: pytest.CaptureFixture[str]) -> None:
    from qtrain.cli._output import print_table

    print_table([{"method": "hqcnn", "sum-rate": 18.1, "paper": None}, {"method": "random", "sum-rate": 15.7,
                                                                         "paper": 15.75, "noisy": 1}])
    lines = [line for line in capsys.readouterr().out.splitlines() if "hqcnn" in line or "random" in line]
    assert [line.replace("│", "|").split("|")[1:-1] for line in lines] == [
        [" hqcnn  ", "     18.1 ", "     - ", "     - "], [" random ", "     15.7 ", " 15.75 ", "     1 "]]
