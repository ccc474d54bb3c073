"""qt_image's two protocols (paper / fast): resolution of the options, the best-validation model, EMA export."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from qtrain import recipes
from qtrain.cli import main
from qtrain.config import ConfigError
from qtrain.models import MnistCNN
from qtrain.recipes.quantum_train.qt_image import evaluate, load_data
from qtrain.recipes.quantum_train.qt_protocols import PROTOCOLS, protocol_values
from qtrain.train import RunDir, load_checkpoint

PROTOCOL_KEYS = ("epochs", "batch_size", "lr", "bits", "transform", "calibrate", "scheduler", "warmup_epochs",
                 "min_lr_ratio", "mapping_lr_factor", "grad_clip", "ema_decay", "select", "n_train", "n_val", "n_test")


def _values(cfg: object) -> tuple:
    return tuple(getattr(cfg, k) for k in PROTOCOL_KEYS)


def test_paper_protocol_is_the_papers_text_and_fast_is_the_default() -> None:
    paper = recipes.load_config("qt_image", "fashion_qt121", ["protocol=paper"])
    assert _values(paper) == (50, 128, 1e-4, "01", "raw", False, "constant", 0.0, 0.0, 1.0, 0.0, 0.0, "last",
                              60000, 0, 10000)
    fast = recipes.load_config("qt_image", "fashion_qt121")
    assert fast.protocol == "fast"
    assert _values(fast) == (10, 128, 1e-2, "pm1", "scaled", True, "cosine", 0.5, 0.01, 1.0, 1.0, 0.998,
                             "best_val", 54000, 6000, 10000)
    mnist = recipes.load_config("qt_image", "mnist_qt61")
    assert (mnist.epochs, mnist.n_train, mnist.n_val, mnist.n_test) == (40, 3600, 400, 1000)
    cifar = recipes.load_config("qt_image", "cifar_qt95", ["protocol=paper"])
    assert (cifar.epochs, cifar.batch_size, cifar.n_train, cifar.n_test) == (1000, 1000, 50000, 10000)


def test_explicit_options_win_over_the_protocol() -> None:
    cfg = recipes.load_config("qt_image", "fashion_qt121", ["lr=3e-3", "n_train=18000", "ema_decay=0"])
    assert (cfg.lr, cfg.ema_decay, cfg.n_train, cfg.n_val, cfg.scheduler) == (3e-3, 0.0, 18000, 2000, "cosine")
    constant = recipes.load_config("qt_image", "fashion_qt121", ["scheduler=constant"])
    assert (constant.scheduler, recipes.load_config("qt_image", "fashion_qt121", ["scheduler=none"]).scheduler) == (
        "constant", "cosine")  # YAML's none/null is "unset": the protocol's schedule
    full = recipes.load_config("qt_image", "mnist_qt16", ["n_train=4000"])  # nothing left for validation
    assert (full.n_val, full.select) == (0, "last")
    official = recipes.load_config("qt_image", "fashion_official_l16")  # the notebook's settings, pinned
    assert (official.protocol, official.scheduler, official.bits, official.transform) == (
        "paper", "plateau", "pm1", "tanh_power")
    assert set(protocol_values("fast", "mnist5k")) == set(PROTOCOLS["paper"])


def test_both_protocols_test_on_the_same_images() -> None:
    paper = load_data(recipes.load_config("qt_image", "mnist_qt16", ["protocol=paper"]))
    fast = load_data(recipes.load_config("qt_image", "mnist_qt16"))
    assert (len(paper.train), len(paper.val), len(fast.train), len(fast.val)) == (4000, 0, 3600, 400)
    assert torch.equal(paper.test.tensors[0], fast.test.tensors[0])
    # the fast protocol's training + validation images are the paper protocol's training images
    assert torch.equal(torch.cat([fast.train.tensors[0], fast.val.tensors[0]]), paper.train.tensors[0])


def test_protocol_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as exc:
        recipes.load_config("qt_image", "mnist_qt16", ["protocol=fastest", "select=best_val", "n_val=0",
                                                       "ema_decay=1"])
    assert exc.value.problems == [
        "protocol='fastest': allowed values are ['paper', 'fast'] (type 'paper' | 'fast'); help: "
        + recipes.get_recipe("qt_image").config_cls.__dataclass_fields__["protocol"].metadata["help"],
        "select='best_val' needs a validation split; set n_val > 0 (e.g. n_val=500) or select=last",
        "ema_decay=1.0 must be < 1 (e.g. 0.998: an average over ~500 steps; 0: off)",
    ]


# ----------------------------------------------------------------------------- a tiny fast run
TINY_FAST = ["models=qt", "blocks=2", "n_train=256", "n_val=200", "n_test=200", "batch_size=64", "epochs=4",
             "plots=false", "num_threads=1"]


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    losses: list[float] = []
    res = recipes.run("qt_image", "mnist_qt16", TINY_FAST, out=tmp_path_factory.mktemp("fast"), quiet=True,
                      on_step=lambda tag, step, loss: losses.append(loss))
    (res.run_dir / "losses.json").write_text(json.dumps(losses))
    return res.run_dir


def test_fast_run_reports_the_best_validation_epoch_and_the_last(fast_run: Path) -> None:
    summary = json.loads((fast_run / "summary.json").read_text())["models"]["qt"]
    records = RunDir(fast_run).read_metrics()
    vals = [r["val_acc"] for r in records]
    best = vals.index(max(vals)) + 1  # the first epoch with the highest validation accuracy
    assert (summary["select"], summary["selected_epoch"], summary["best_val_epoch"]) == ("best_val", best, best)
    assert summary["best_val_acc"] == max(vals) and summary["last_test_acc"] == records[-1]["test_acc"]
    # the reported model is the averaged weights of that epoch: re-evaluating it gives the logged number
    assert summary["test_acc"] == records[best - 1]["test_acc"]
    assert load_checkpoint(fast_run / "checkpoints" / "qt" / "best.pt")["epoch"] == best


def test_fast_run_schedule_and_exported_model(fast_run: Path) -> None:
    records = RunDir(fast_run).read_metrics()
    # lr at each epoch start: warmup over 0.5 epoch = 2 steps (1e-2 / 2 at step 0), then cosine to 1e-4 over 14 steps
    cosine = [1e-4 + (1e-2 - 1e-4) * 0.5 * (1 + math.cos(math.pi * k / 14)) for k in (2, 6, 10)]
    assert [r["lr"] for r in records] == pytest.approx([5e-3] + cosine, rel=1e-6)
    cfg = recipes.load_config("qt_image", "mnist_qt16", TINY_FAST)
    plain = MnistCNN()
    plain.load_state_dict(load_file(fast_run / "model.safetensors"))
    summary = json.loads((fast_run / "summary.json").read_text())["models"]["qt"]
    assert evaluate(plain, load_data(cfg).test, 1000, "test")["test_acc"] == summary["test_acc"]


GOLDEN_FAST = [3.3903, 2.4171, 2.2930, 2.3077, 2.2970, 2.3036]  # recorded, seed 0: the first 6 QT losses


def test_fast_run_golden_losses(fast_run: Path) -> None:
    losses = json.loads((fast_run / "losses.json").read_text())
    assert len(losses) == 16
    torch.testing.assert_close(torch.tensor(losses[:6]), torch.tensor(GOLDEN_FAST), rtol=0, atol=1e-4)


# ----------------------------------------------------------------------------- the README's commands (slow)
README_TEXT = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "qt_image_readme.md"
#: (the README's command, --set of a reduced budget, {model: the label before the number the README states for it})
README_COMMANDS = [
    ("qtrain run qt_image --preset mnist5k_demo", [], {"classical": "Classical CNN", "qt": "QT-106"}),
    ("qtrain run qt_image --preset fashion_qt121", [], {"qt": "QT-121"}),
    ("qtrain run qt_image --preset fashion_qt121 --set protocol=paper", ["epochs=10"], {"qt": "--set epochs=10:"}),
    ("qtrain run qt_image --preset mnist_qt61", [], {"qt": "QT-61"}),
]


def readme_claims(command: str, labels: dict[str, str]) -> dict[str, float]:
    """The test accuracy (%) the README section states for ``command``, per model tag."""
    line = next(x for x in README_TEXT.read_text().splitlines() if x.partition("#")[0].strip() == command)
    said = line.partition("#")[2]
    found = {tag: re.search(re.escape(label) + r" (\d+\.\d\d) %", said) for tag, label in labels.items()}
    missing = [labels[t] for t, f in found.items() if f is None]
    assert not missing, f"the README line states no number for {missing}: {line}"
    return {tag: float(f.group(1)) for tag, f in found.items()}


def test_readme_claims_are_read_from_the_readme_text() -> None:
    claims = {cmd: readme_claims(cmd, labels) for cmd, _, labels in README_COMMANDS}
    assert all(0.0 < acc < 100.0 for c in claims.values() for acc in c.values()), claims


@pytest.mark.slow  # minutes each: the README's own commands (the 50-epoch paper protocol on its first 10 epochs)
@pytest.mark.parametrize("command,budget,labels", README_COMMANDS, ids=["demo", "fast", "paper", "mnist"])
def test_readme_command_gives_what_the_readme_says(command: str, budget: list[str], labels: dict[str, str],
                                                   tmp_path: Path) -> None:
    want = readme_claims(command, labels)
    argv = command.split()[1:] + [a for s in budget for a in ("--set", s)] + ["--out", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    (summary,) = [json.loads(p.read_text()) for p in tmp_path.glob("*/summary.json")]
    for tag, acc in want.items():
        assert 100 * summary["models"][tag]["test_acc"] == pytest.approx(acc, abs=1.0), tag
