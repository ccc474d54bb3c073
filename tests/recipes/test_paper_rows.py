"""Each paper's rows live in ``recipes/<paper>/paper.py``: preset headers quote them, models have their counts."""
from __future__ import annotations

import re

import pytest

from qtrain import recipes
from qtrain.config import yaml_header
from qtrain.qt import count_parameters
from qtrain.recipes.qet.paper import PAPER_PRESETS, PAPER_TABLE_2, paper_te_ratio
from qtrain.recipes.qet.qet_amc import build_model as build_qet_model
from qtrain.recipes.quantum_train.paper import PAPER_TABLES, dataset_key, paper_row
from qtrain.recipes.quantum_train.qt_image import build_model

QT_PRESETS = recipes.list_presets("qt_image")


@pytest.mark.parametrize("name", sorted(QT_PRESETS))
def test_qt_image_headers_quote_the_paper_table_and_models_have_its_counts(name: str) -> None:
    cfg = recipes.load_config("qt_image", name)
    header = yaml_header(QT_PRESETS[name])[0]
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


def test_every_qt_table_row_has_a_preset() -> None:
    prefix = {"mnist": "mnist", "fashion": "fashion", "cifar10": "cifar"}
    for key, table in PAPER_TABLES.items():
        for row in table:
            assert (f"{prefix[key]}_classical" if row == "classical" else f"{prefix[key]}_qt{row}") in QT_PRESETS
    assert {"mnist_qcml", "fashion_qcml", "cifar_qcml", "mnist_official_l16", "fashion_official_l16",
            "cifar_official_l38"} <= set(QT_PRESETS)
    counts = {p: count_parameters(build_model(recipes.load_config("qt_image", p), "qt")).trainable
              for p in ("mnist_official_l16", "fashion_official_l16", "cifar_official_l38")}
    assert counts == {"mnist_official_l16": 1497, "fashion_official_l16": 1497, "cifar_official_l38": 21453}


@pytest.mark.parametrize("row", list(PAPER_TABLE_2))
def test_qet_headers_quote_table_2(row: str) -> None:
    p = PAPER_TABLE_2[row]
    path = recipes.list_presets("qet_amc")[PAPER_PRESETS[row]]
    header = yaml_header(path)[0]
    assert f"Table 2, row {row}:" in header and f"{p.trainable:,}" in header
    assert f"acc. {p.acc}%" in header and f"T_e {p.t_e_s} s" in header
    if p.delta_c_pct is not None:
        assert f"dC {p.delta_c_pct:.2f}%" in header and f"(acc. loss {p.acc_loss}%)" in header
    cfg = recipes.load_config("qet_amc", PAPER_PRESETS[row])
    trainable = count_parameters(build_qet_model(cfg, "qet" if row != "MC-Net" else "classical")).trainable
    assert trainable == p.trainable or (row, trainable) == ("QET-9", 10_528)  # QET-9: not reachable by a CU3 chain
    m = re.search(r"QET-(\d)", row)
    assert m is None or cfg.n_qubits in (None, int(m.group(1)))


def test_qet_paper_ratio_and_the_fig5_preset() -> None:
    assert paper_te_ratio("QET-6") == pytest.approx(126.5 / 17.1) and paper_te_ratio("QT-MLP-17") is None
    assert "Fig. 5" in yaml_header(recipes.list_presets("qet_amc")[PAPER_PRESETS["QT-MLP-17"]])[0]
