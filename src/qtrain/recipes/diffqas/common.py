"""What the three DiffQAS-QT recipes share: model tags, the QT builder, architecture metrics.

A run trains some of: ``"diffqas"`` (the 12-candidate search), ``"config1"`` ... ``"config12"``
(Table I's fixed configurations, each trained alone), ``"classical"`` (the target trained directly)
and ``"derived"`` (the search's arg-max configuration retrained alone).

Example:
    >>> model_tags(True, (2, 7), False)
    ['diffqas', 'config2', 'config7']
    >>> candidates_of("config7"), candidates_of("diffqas")
    ((7,), None)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from torch import nn

from qtrain.qt import DiffQASTrain
from qtrain.qt.diffqas import DiffQASGenerator
from qtrain.train import RunDir, load_checkpoint, save_model_safetensors, seed_everything

__all__ = ["model_tags", "candidates_of", "model_label", "check_configs", "build_qt",
           "arch_metrics", "architecture_summary", "derive_model", "export_tag", "export_run"]


def model_tags(search: bool, configs: Sequence[int], classical: bool) -> list[str]:
    """Tags trained by a run, in order: the search, the fixed configurations, the classical target."""
    return (["diffqas"] if search else []) + [f"config{k}" for k in configs] + (["classical"] if classical else [])


def candidates_of(tag: str) -> tuple[int, ...] | None:
    """Table I numbers mixed by the model ``tag`` (None: all 12)."""
    return (int(tag[len("config"):]),) if tag.startswith("config") else None


def model_label(tag: str) -> str:
    """Row name in tables: ``"DiffQAS"``, ``"config 7"``, ``"classical"``, ``"derived"``."""
    if tag.startswith("config"):
        return f"config {tag[len('config'):]}"
    return {"diffqas": "DiffQAS"}.get(tag, tag)


def check_configs(configs: Sequence[int], search: bool, classical: bool) -> list[str]:
    """Problems of a recipe's model selection (reported with the config's other problems)."""
    out = []
    bad = [k for k in configs if not 1 <= k <= 12]
    if bad or len(set(configs)) != len(configs):
        out.append(f"configs={tuple(configs)!r} must be distinct Table I numbers in 1..12, e.g. (1, 2, 3)")
    if not search and not configs and not classical:
        out.append("nothing to train: set search=true, list configs=(1, ..., 12) or set classical=true")
    return out


def check_rows(center_rows: bool, calibrate: bool) -> list[str]:
    """Problems of ``center_rows`` (its offsets are set with the calibration)."""
    if center_rows and not calibrate:
        return ["center_rows=true needs calibrate=true (the row offsets are set with the calibration); "
                "set calibrate=true or center_rows=false"]
    return []


def build_qt(target: nn.Module, tag: str, *, n_qubits: int | None, depth: int, weighting: str, shared_angles: bool,
             engine: str, bits: str, transform: str, calibrate: bool, diff_method: str,
             center_rows: bool = False) -> DiffQASTrain:
    """The DiffQAS-QT wrapper of ``target`` for ``tag`` (``"diffqas"`` or ``"config<k>"``)."""
    return DiffQASTrain(target, n_qubits, depth, candidates_of(tag), weighting=weighting, shared_angles=shared_angles,
                        engine=engine, bits=bits, transform=transform, calibrate=calibrate, diff_method=diff_method,
                        center_rows=center_rows)


def arch_metrics(model: nn.Module) -> dict[str, float]:
    """The mixing weights as ``{"w1": ..., "w12": ...}`` for a search model's epoch record, else ``{}``."""
    gen = getattr(model, "generator", None)
    if not isinstance(gen, DiffQASGenerator) or len(gen.candidates) < 2:
        return {}
    report = gen.architecture()
    return {f"w{c.number}": round(w, 6) for c, w in zip(report.candidates, report.weights)}


def architecture_summary(model: nn.Module) -> dict[str, Any] | None:
    """``architecture().to_dict()`` of a search model (None for other models)."""
    gen = getattr(model, "generator", None)
    if isinstance(gen, DiffQASGenerator) and len(gen.candidates) > 1:
        return gen.architecture().to_dict()
    return None


def derive_model(seed: int, search: nn.Module) -> DiffQASTrain:
    """The search's arg-max configuration alone, warm-started from the search (seeded)."""
    if not isinstance(search, DiffQASTrain):
        raise ValueError(f"the derive step needs the DiffQAS search model, got {type(search).__name__}")
    seed_everything(seed)
    return search.derive()


def export_tag(cfg: Any) -> str:
    """The model a run exports: the derived one, else the search, else the last trained."""
    if cfg.derive_epochs:
        return "derived"
    return "diffqas" if cfg.search else cfg.model_tags[-1]


def export_run(cfg: Any, run_dir: RunDir, build_model: Callable[[Any, str], nn.Module]) -> Path:
    """Rebuild the exported model from its last checkpoint and write ``model.safetensors``."""
    tag = export_tag(cfg)
    if tag == "derived":
        search = build_model(cfg, "diffqas")
        search.load_state_dict(load_checkpoint(run_dir.checkpoint_dir("diffqas") / "last.pt")["model"])
        model = derive_model(cfg.seed, search)
    else:
        model = build_model(cfg, tag)
    model.load_state_dict(load_checkpoint(run_dir.checkpoint_dir(tag) / "last.pt")["model"])
    return save_model_safetensors(model, run_dir.path)
