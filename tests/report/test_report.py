"""``qtrain report`` on a tiny run, the paper table as the one source of the presets' numbers, preset counts."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from helpers import cli

from qtrain import recipes
from qtrain.cli import main
from qtrain.config import yaml_header
from qtrain.qt import count_parameters
from qtrain.recipes.quantum_train.qt_image import build_model
from qtrain.report import PAPER_TABLES, dataset_key, paper_row
from qtrain.report.collect import entries_of, find_runs, load_run, ours_vs_paper

torch.set_num_threads(1)

TINY = ["max_steps=2", "n_train=64", "n_test=32", "batch_size=16", "num_threads=1", "n_eval_train=32",
        "models=all", "qcml_blocks=2"]
FIGS = ["fig2_loss_curves.png", "fig3_weights.png", "fig5_accuracy_vs_blocks.png", "fig6_generalization_gap.png"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    rc, _ = cli("run", "qt_image", "--preset", "fashion_qt16", "--out", str(out), "--quiet",
                "--set", f"data_dir={_fashion_dir(out)}", *[a for s in TINY for a in ("--set", s)])
    assert rc == 0
    (run,) = out.glob("qt_image__*")
    return run


def _fashion_dir(out: Path) -> Path:
    """Tiny IDX files in the Fashion-MNIST format (the test does not depend on the Debian package)."""
    import gzip
    import struct

    import numpy as np

    folder = out / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for stem, n in (("train", 100), ("t10k", 50)):
        img = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (folder / f"{stem}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">IIII", 2051, n, 28, 28) + img.tobytes()))
        (folder / f"{stem}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">II", 2049, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()))
    return folder


def test_report_writes_the_figures_and_a_page_with_the_table(tiny_run: Path) -> None:
    rc, text = cli("report", str(tiny_run))
    out = tiny_run / "report"
    assert rc == 0 and text.strip() == f"wrote {out / 'report.html'} (4 PNG files)"
    for name in FIGS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    page = (out / "report.html").read_text()
    assert '<table class="ours-vs-paper">' in page and all(f'src="{n}"' in page for n in FIGS)
    table = re.search(r'<table class="ours-vs-paper">.*?</table>', page, re.S).group(0)  # type: ignore[union-attr]
    cells = re.findall(r"<tr>(.*?)</tr>", table)
    rows = [re.findall(r"<td>(.*?)</td>", c) for c in cells if "<td>" in c]
    assert [r[2] for r in rows] == ["Classical CNN", "QT-16", "QCML"]
    assert [r[4] for r in rows] == ["6,690", "457", "4,859"]  # ours: QCML with 2 blocks (26 QNN weights)
    assert [r[5] for r in rows] == ["6,690", "457", "5,002"]  # the paper's, 13 blocks
    assert [r[9] for r in rows] == ["88.14", "65.69", "-"]  # Table II


def test_report_numbers_come_from_the_runs(tiny_run: Path) -> None:
    run = load_run(tiny_run)
    rows = ours_vs_paper(entries_of([run]))
    qt = run.summary["models"]["qt"]  # type: ignore[index]
    assert rows[1]["test acc %"] == f"{100 * qt['test_acc']:.2f} ± 0.00"
    assert rows[1]["gap (pts)"] == f"{100 * (qt['train_acc'] - qt['test_acc']):.2f} ± 0.00"
    assert rows[1]["ours - paper"] == f"{100 * qt['test_acc'] - 65.69:+.2f}"
    assert find_runs(tiny_run.parent) == [tiny_run]


def test_report_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert f"no run folders (with run.json) in '{tmp_path}'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "is not a folder; pass a run folder (qtrain run) or a sweep folder" in capsys.readouterr().err


# ----------------------------------------------------------------------------- presets vs the paper table
PRESETS = recipes.list_presets("qt_image")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_headers_quote_the_paper_table_and_models_have_its_counts(name: str) -> None:
    cfg = recipes.load_config("qt_image", name)
    header = yaml_header(PRESETS[name])[0]
    key = dataset_key(cfg.dataset, cfg.data_dir)
    checked = 0
    for tag in cfg.train_models:
        ref = paper_row(key, tag, cfg.blocks, cfg.ansatz)
        if ref is None or name == "mnist5k_demo" or cfg.dataset == "cifar10_synthetic":
            continue
        assert f"Table {ref.table}" in header or ref.table.startswith("Fig"), header
        if ref.test_acc is not None:
            assert f"{ref.test_acc:.2f}%" in header, (ref, header)
        assert str(ref.params) in header or f"{ref.params:,}" in header, (ref, header)
        assert count_parameters(build_model(cfg, tag)).trainable == ref.params
        checked += 1
    assert checked or name in {"mnist5k_demo", "cifar_synthetic_smoke", "mnist_official_l16",
                               "fashion_official_l16", "cifar_official_l38"}


def test_every_table_row_has_a_preset() -> None:
    prefix = {"mnist": "mnist", "fashion": "fashion", "cifar10": "cifar"}
    for key, table in PAPER_TABLES.items():
        for row in table:
            assert (f"{prefix[key]}_classical" if row == "classical" else f"{prefix[key]}_qt{row}") in PRESETS
    assert {"mnist_qcml", "fashion_qcml", "cifar_qcml", "mnist_official_l16", "fashion_official_l16",
            "cifar_official_l38"} <= set(PRESETS)
    counts = {p: count_parameters(build_model(recipes.load_config("qt_image", p), "qt")).trainable
              for p in ("mnist_official_l16", "fashion_official_l16", "cifar_official_l38")}
    assert counts == {"mnist_official_l16": 1497, "fashion_official_l16": 1497, "cifar_official_l38": 21453}
