"""Typed configs: whole-config validation, overrides, presets, ``qtrain validate``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from qtrain.cli import main
from qtrain.config import (ConfigError, apply_overrides, build_config, config_fields, dump_config, load_config_file,
                           option, parse_override, read_yaml, yaml_header)
from qtrain.recipes import get_recipe, list_presets, load_config, preset_path, recipe_names
from qtrain.recipes.registry import RECIPES_ROOT


@dataclass
class Toy:
    """A small config for the machinery tests."""

    lr: float = option(1e-3, "learning rate", gt=0)
    epochs: int = option(10, "epochs", min=1, max=1000)
    hidden: tuple[int, ...] = option((4, 20, 4), "hidden widths", min=1)
    ansatz: Literal["ry_cnot", "u3_cu3"] = option("ry_cnot", "QNN block")
    n_qubits: int | None = option(None, "qubits", min=1)
    relu: bool = option(False, "ReLU")
    name: str = option("x", "a name")

    def problems(self) -> list[str]:
        return ["relu=true needs epochs >= 2"] if self.relu and self.epochs < 2 else []


def test_fields_have_help_types_and_defaults() -> None:
    infos = {f.name: f for f in config_fields(Toy)}
    assert infos["lr"].help == "learning rate" and infos["lr"].gt == 0
    assert infos["hidden"].type_name == "tuple[int, ...]"
    assert infos["ansatz"].type_name == "'ry_cnot' | 'u3_cu3'"
    assert infos["n_qubits"].type_name == "int | None"
    assert infos["hidden"].default == (4, 20, 4)


def test_values_are_typed() -> None:
    cfg = build_config(Toy, {"lr": "3e-3", "epochs": 5, "hidden": [8, 8], "n_qubits": None, "relu": "yes"})
    assert (cfg.lr, cfg.epochs, cfg.hidden, cfg.n_qubits, cfg.relu) == (0.003, 5, (8, 8), None, True)
    assert build_config(Toy, {"lr": 1}).lr == 1.0 and isinstance(build_config(Toy, {"lr": 1}).lr, float)


def test_unknown_key_suggests_close_match() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'epoch'; did you mean 'epochs'\?"):
        build_config(Toy, {"epoch": 3})
    with pytest.raises(ConfigError, match=r"unknown key 'zzz'; valid keys: lr, epochs, hidden"):
        build_config(Toy, {"zzz": 3})


def test_wrong_type_names_value_type_and_help() -> None:
    with pytest.raises(ConfigError) as exc:
        build_config(Toy, {"epochs": "ten"})
    assert exc.value.problems == ["epochs='ten': expected an integer (type int); help: epochs"]


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as exc:
        build_config(Toy, {"epoch": 3, "lr": -1, "hidden": [0, 4], "ansatz": "ry", "n_qubits": 1.5,
                           "relu": 1, "name": 3}, source="bad.yaml")
    msg = str(exc.value)
    assert msg.startswith("invalid Toy config (from bad.yaml), 7 problems:\n")
    assert exc.value.problems == [
        "unknown key 'epoch'; did you mean 'epochs'?",
        "lr=-1.0 is out of range; must be > 0",
        "hidden=(0, 4) is out of range; must be >= 1",
        "ansatz='ry': allowed values are ['ry_cnot', 'u3_cu3'] (type 'ry_cnot' | 'u3_cu3'); help: QNN block",
        "n_qubits=1.5: expected an integer or null (type int | None); help: qubits",
        "relu=1: expected true or false (type bool); help: ReLU",
        "name=3: expected a string (type str); help: a name",
    ]
    assert all(f"  - {p}" in msg for p in exc.value.problems)


def test_cross_field_problems_join_the_list() -> None:
    with pytest.raises(ConfigError) as exc:
        build_config(Toy, {"relu": True, "epochs": 1, "lr": 0})
    assert exc.value.problems == ["lr=0.0 is out of range; must be > 0", "relu=true needs epochs >= 2"]


def test_overrides_are_parsed_with_the_field_type() -> None:
    merged = apply_overrides({"epochs": 3}, ["epochs=7", "lr=1e-2", "hidden=8,16", "n_qubits=none", "name=abc"])
    cfg = build_config(Toy, merged)
    assert (cfg.epochs, cfg.lr, cfg.hidden, cfg.n_qubits, cfg.name) == (7, 0.01, (8, 16), None, "abc")
    assert parse_override(" lr = 0.1 ") == ("lr", "0.1")
    with pytest.raises(ValueError, match=r"--set 'lr' is not of the form key=value \(e.g. --set lr=1e-3\)"):
        parse_override("lr")


def test_yaml_round_trip_and_header(tmp_path: Path) -> None:
    cfg = build_config(Toy, {"hidden": [2, 3], "epochs": 4})
    path = tmp_path / "c.yaml"
    dump_config(cfg, path, header="line one\nline two")
    assert yaml_header(path) == ["line one", "line two"]
    assert load_config_file(Toy, path) == cfg
    path.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match=r"holds a list; expected a mapping of key: value"):
        read_yaml(path)


# ----------------------------------------------------------------------------- shipped presets
PRESET_FILES = sorted(RECIPES_ROOT.glob("**/presets/**/*.yaml"))


def test_presets_exist_for_every_recipe_folder() -> None:
    assert len(PRESET_FILES) >= 12
    assert {p.parent.name for p in PRESET_FILES} <= set(recipe_names())


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_shipped_preset_parses(path: Path) -> None:
    recipe = path.parent.name
    cfg = load_config_file(get_recipe(recipe).config_cls, path)
    header = yaml_header(path)
    assert len(header) >= 2, "a preset starts with a header: paper/row/number, then the command"
    assert f"qtrain run {recipe} --preset {path.stem}" in "\n".join(header)
    assert any(c.isdigit() for c in header[0]), "the first header line quotes the paper's number (or row)"
    assert load_config(recipe, path.stem) == cfg


def test_table_i_presets_match_the_paper_parameter_counts() -> None:
    blocks = {"mnist_qt16": 16, "mnist_qt31": 31, "mnist_qt106": 106, "mnist_qt121": 121}
    for preset, b in blocks.items():
        cfg = load_config("qt_image", preset)
        assert (cfg.blocks, cfg.ansatz, cfg.mapping_hidden) == (b, "ry_cnot", (4, 20, 4))
        assert f"{13 * b + 249} trainable" in yaml_header(preset_path("qt_image", preset))[0] or b == 16
    official = load_config("qt_image", "mnist_official_l16")
    assert (official.ansatz, official.transform, official.bits, official.lr) == ("u3_cu3", "tanh_power", "pm1", 1e-4)


def test_recipe_config_cross_checks() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config("qt_image", "mnist_qt16", ["patience=3", "n_train=4500", "n_test=1000", "lr=0"])
    assert exc.value.problems == [
        "lr=0.0 is out of range; must be > 0",
        "patience=3 needs a validation split; set n_val > 0 (e.g. n_val=500)",
        "n_train + n_val + n_test = 5500 > 5000 images in MNIST-5k; lower them",
    ]
    with pytest.raises(ValueError, match=r"preset='mnist_qt17' is not a preset of recipe 'qt_image'; did you mean"):
        load_config("qt_image", "mnist_qt17")
    with pytest.raises(ValueError, match=r"recipe='qt_imag' is unknown; did you mean 'qt_image'\?"):
        load_config("qt_imag")


# ----------------------------------------------------------------------------- qtrain validate
def test_validate_cli_ok_and_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = list_presets("qt_image")["mnist_qt16"]
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"OK {good}"
    bad = tmp_path / "bad.yaml"
    bad.write_text("# a broken preset\nlearning_rate: 0.1\nepochs: many\nansatz: ry\n")
    assert main(["validate", str(bad), "--recipe", "qt_image"]) == 2
    err = capsys.readouterr().err
    assert "invalid QTImageConfig config (from " in err and "3 problems:" in err
    assert "unknown key 'learning_rate'; did you mean 'lr' or 'learn_scale'?" in err
    assert "epochs='many': expected an integer" in err
    assert "ansatz='ry': allowed values are ['ry_cnot', 'u3_cu3']" in err
    assert main(["validate", str(bad)]) == 2
    assert "cannot tell the recipe of" in capsys.readouterr().err


# ----------------------------------------------------------------------------- hostile values and YAML (issue 13)
@pytest.mark.parametrize("raw,shown", [("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), (".nan", "nan"),
                                       ("1e400", "inf")])
def test_float_options_refuse_nan_and_infinity(raw: str, shown: str) -> None:
    with pytest.raises(ConfigError) as exc:
        build_config(Toy, apply_overrides({}, [f"lr={raw}"]))
    assert exc.value.problems == [f"lr={shown} is not finite; allowed: a finite number > 0"]


def test_nan_in_every_recipe_float_option_is_refused() -> None:
    for recipe in recipe_names():
        floats = [f for f in config_fields(get_recipe(recipe).config_cls) if "float" in f.type_name]
        assert floats, recipe
        for f in floats:
            with pytest.raises(ConfigError, match=rf"  - {f.name}=\(?nan,?\)? is not finite; allowed: a finite number"):
                load_config(recipe, None, [f"{f.name}=nan"])
    with pytest.raises(ConfigError, match=r"noise_p=nan is not finite; allowed: a finite number >= 0 and <= 1"):
        load_config("pilot_assignment", None, ["noise_p=nan"])


def test_nonfinite_allowed_only_when_declared_and_ints_fit_int64() -> None:
    @dataclass
    class Inf:
        tol: float = option(1.0, "a tolerance", min=0, finite=False)
        n: int = option(1, "a count")

    assert build_config(Inf, {"tol": "inf"}).tol == float("inf")
    with pytest.raises(ConfigError) as exc:
        build_config(Inf, {"n": 2**63})
    assert exc.value.problems == ["n=9223372036854775808 is out of range; integers must lie strictly within +-2**63"]
    with pytest.raises(ConfigError, match=r"lr=99999...+\.\.\. \(400 chars\): the number is too large for a float"):
        build_config(Toy, {"lr": 10**400 - 1})


def test_yaml_alias_bomb_is_refused_fast_and_short(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                    + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                              for p, c in zip("abcdefgh", "bcdefghi")))
    with pytest.raises(ValueError) as exc:
        read_yaml(bomb)
    assert str(exc.value) == (f"config file {str(bomb)!r} is not a valid qtrain YAML document: aliases (*name) are not "
                              "allowed in qtrain configs; write the value out (line 2, column 8)")


def test_yaml_null_key_deep_nesting_size_and_encoding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {"null.yaml": ("~: 1\n", "has non-string keys None (a bare `~:` is the null key); keys must be config "
                                     "field names"),
             "deep.yaml": ("a: " + "[" * 5000 + "]" * 5000 + "\n",
                           "is not a valid qtrain YAML document: collections are nested more than 16 levels deep "
                           "(line 1, column 19)"),
             "big.yaml": ("# " + "x" * (1 << 20) + "\n", "is larger than 1,048,576 bytes; a config is a short "
                                                          "key: value file, check that you passed the right file"),
             "latin1.yaml": (b"data_dir: caf\xe9\n", "is not UTF-8 text (byte 13); pass a YAML file")}
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        assert main(["validate", str(path), "--recipe", "qt_image"]) == 2
        err = capsys.readouterr().err
        assert err == f"qtrain validate: error: config file {str(path)!r} {message}\n", name


def test_set_values_are_read_with_the_bounded_loader() -> None:
    assert apply_overrides({}, ["hidden=[&a 1, *a]"]) == {"hidden": "[&a 1, *a]"}  # an alias: kept as text
    with pytest.raises(ConfigError) as exc:
        build_config(Toy, apply_overrides({}, ["hidden=[&a 1, *a]", "name=" + "x" * 5000]))
    assert exc.value.problems == ["hidden='[&a 1, *a]': expected a list (tuple[int, ...]) (type tuple[int, ...]); "
                                  "help: hidden widths"]


def test_problem_lines_of_recipes_are_cut_to_a_readable_length() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config("pilot_assignment", None, ["system=" + "x" * 5000])
    (line,) = exc.value.problems
    assert line.startswith("system='xxx") and line.endswith("... (5153 chars)") and len(line) < 430


def test_dump_config_is_atomic_alias_free_and_returns_its_text(tmp_path: Path) -> None:
    cfg = build_config(Toy, {"hidden": [3, 3]})
    text = dump_config(cfg, tmp_path / "c.yaml", header="h")
    assert (tmp_path / "c.yaml").read_text() == text and "&" not in text and "*" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]
    assert load_config_file(Toy, tmp_path / "c.yaml").hidden == (3, 3)
