"""Metric loggers: every ``metrics.jsonl`` record also goes to CSV (always) and, on request, to
TensorBoard, MLflow or Weights & Biases (offline by default).

Chosen per run with ``--set loggers=tensorboard,mlflow`` (any recipe: ``loggers`` is a run
option handled by the runner, not a recipe field) or ``qtrain.recipes.run(..., overrides=["loggers=wandb"])``.
Each logger is a :class:`~qtrain.train.context.RecordObserver` of the run's
:class:`~qtrain.train.context.RunContext`, so it sees exactly the records of ``metrics.jsonl``.
A record's numeric fields become the series ``<model>/<field>`` (``qt/train_loss``) at step
``epoch``; a recipe's own records (``kind: final`` lines) become ``<model>/<kind>/<field>``.

=============  ==================================  ==============================================
logger         where                               install
=============  ==================================  ==============================================
csv            ``<run>/metrics.csv``               always on (no extra)
tensorboard    ``<run>/tensorboard/``              ``pip install "qtrain[tensorboard]"``
mlflow         ``$MLFLOW_TRACKING_URI``, else      ``pip install "qtrain[mlflow]"``
               ``sqlite:///<run>/mlflow.db``
wandb          ``<run>/wandb/`` (``WANDB_MODE``,    ``pip install "qtrain[wandb]"``
               default ``offline``)
=============  ==================================  ==============================================

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> (log,) = open_loggers([], folder, {"lr": 0.01}, name="demo")
    >>> log.log({"model": "qt", "epoch": 1, "train_loss": 0.5}); log.log({"model": "qt", "epoch": 2, "test_acc": 0.75})
    >>> log.close()
    >>> print((folder / "metrics.csv").read_text(), end="")
    model,epoch,train_loss,test_acc
    qt,1,0.5,
    qt,2,,0.75
"""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from qtrain._optional import require
from qtrain.choices import ChoiceEnum, argument
from qtrain.train.checkpoint import atomic_write_text

__all__ = ["LoggerName", "CSVLogger", "TensorBoardLogger", "MLflowLogger", "WandbLogger", "open_loggers",
           "require_loggers", "scalars"]


@argument("loggers", "is not a metric logger")
class LoggerName(ChoiceEnum):
    """The loggers ``--set loggers=...`` accepts."""

    CSV = "csv"
    TENSORBOARD = "tensorboard"
    MLFLOW = "mlflow"
    WANDB = "wandb"


def scalars(record: Mapping[str, Any]) -> tuple[int, dict[str, float]]:
    """``(step, {series name: value})`` of one record's finite numbers (see the module docstring).

    Example:
        >>> scalars({"model": "qt", "epoch": 3, "step": 90, "train_loss": 0.25, "lr": 0.01})
        (3, {'qt/step': 90.0, 'qt/train_loss': 0.25, 'qt/lr': 0.01})
        >>> scalars({"model": "qt", "kind": "final", "test_acc": 0.9})
        (0, {'qt/final/test_acc': 0.9})
    """
    prefix = str(record.get("model", "run"))
    if "kind" in record:  # a recipe's own record (final evaluation): its own series, at its epoch
        prefix += f"/{record['kind']}"
    out = {f"{prefix}/{k}": float(v) for k, v in record.items()
           if k not in ("epoch", "model") and isinstance(v, (int, float)) and not isinstance(v, bool)
           and math.isfinite(v)}
    epoch = record.get("epoch", 0)
    return (int(epoch) if isinstance(epoch, (int, float)) else 0), out


class CSVLogger:
    """``metrics.csv``: one row per record, columns the union of the records' keys (first-seen order).

    A record with a new key rewrites the file with the wider header; a resume that drops records
    rewrites it from what ``metrics.jsonl`` still holds.
    """

    def __init__(self, folder: str | Path, records: Iterable[dict[str, Any]] = ()) -> None:
        self.path = Path(folder) / "metrics.csv"
        self._rows: list[dict[str, Any]] = []
        self._columns: list[str] = []
        self.rewrite(list(records))

    def log(self, record: dict[str, Any]) -> None:
        """Append a row (rewrite the file if the record brings a new column)."""
        self._rows.append({k: _cell(v) for k, v in record.items()})
        new = [k for k in record if k not in self._columns]
        if new or not self.path.is_file():
            self._columns += new
            atomic_write_text(self.path, self._text(self._rows, header=True))
        else:
            with self.path.open("a", newline="") as fh:
                fh.write(self._text(self._rows[-1:], header=False))

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """Replace every row with ``records``."""
        self._rows = [{k: _cell(v) for k, v in r.items()} for r in records]
        self._columns = list(dict.fromkeys(k for r in records for k in r))
        if self._rows or self.path.is_file():
            atomic_write_text(self.path, self._text(self._rows, header=True))

    def close(self) -> None:
        """Nothing buffered: every row is on disk when :meth:`log` returns."""

    def _text(self, rows: Sequence[dict[str, Any]], header: bool) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self._columns, lineterminator="\n")
        if header:
            writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()


def _cell(v: Any) -> Any:
    """Lists and dicts as JSON, so a CSV cell holds what ``metrics.jsonl`` holds."""
    return json.dumps(v) if isinstance(v, (list, dict)) else v


class TensorBoardLogger:
    """Event files under ``<run>/tensorboard/`` (``tensorboard --logdir runs/``)."""

    def __init__(self, folder: str | Path, config: Mapping[str, Any]) -> None:
        require("tensorboard", "tensorboard", "the tensorboard logger (--set loggers=tensorboard)")
        from torch.utils.tensorboard import SummaryWriter

        self.path = Path(folder) / "tensorboard"
        self._writer = SummaryWriter(log_dir=str(self.path))
        self._writer.add_text("config", "```\n" + json.dumps(dict(config), indent=1, default=str) + "\n```")

    def log(self, record: dict[str, Any]) -> None:
        """One scalar per numeric field at step ``epoch``."""
        step, values = scalars(record)
        for key, value in values.items():
            self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """Event files are append-only: redone epochs appear again at the same step."""

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()


class MLflowLogger:
    """One MLflow run (experiment ``qtrain``) with the config as params and every series as metrics."""

    def __init__(self, folder: str | Path, config: Mapping[str, Any], name: str) -> None:
        mlflow = require("mlflow", "mlflow", "the MLflow logger (--set loggers=mlflow)")
        from mlflow.entities import Param

        folder = Path(folder).resolve()
        self.tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{folder / 'mlflow.db'}"
        self._client = mlflow.tracking.MlflowClient(tracking_uri=self.tracking_uri)
        exp = self._client.get_experiment_by_name("qtrain")
        exp_id = exp.experiment_id if exp else self._client.create_experiment(
            "qtrain", artifact_location=(folder / "mlflow-artifacts").as_uri())
        self.run_id = self._client.create_run(exp_id, run_name=name, tags={"qtrain.run_dir": str(folder)}).info.run_id
        params = [Param(k, str(v)[:500]) for k, v in config.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self._client.log_batch(self.run_id, params=params[i:i + 100])

    def log(self, record: dict[str, Any]) -> None:
        """Every numeric field as a metric at step ``epoch``."""
        from mlflow.entities import Metric

        step, values = scalars(record)
        now = int(time.time() * 1000)
        self._client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """MLflow keeps every logged value: redone epochs add values at the same step."""

    def close(self) -> None:
        """Mark the MLflow run finished."""
        self._client.set_terminated(self.run_id)


class WandbLogger:
    """A Weights & Biases run under ``<run>/wandb/``; offline unless ``WANDB_MODE`` says otherwise."""

    def __init__(self, folder: str | Path, config: Mapping[str, Any], name: str) -> None:
        wandb = require("wandb", "wandb", "the W&B logger (--set loggers=wandb)")
        self.path = Path(folder)
        self._run = wandb.init(project=os.environ.get("WANDB_PROJECT", "qtrain"), name=name, dir=str(self.path),
                               config=dict(config), mode=os.environ.get("WANDB_MODE", "offline"),
                               reinit="create_new")

    def log(self, record: dict[str, Any]) -> None:
        """Every numeric field, with ``<model>/epoch`` as the x-axis value."""
        step, values = scalars(record)
        values[f"{record.get('model', 'run')}/epoch"] = float(step)
        self._run.log(values)

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """W&B history is append-only: redone epochs are logged again."""

    def close(self) -> None:
        """Finish the run (offline: the files stay in ``<run>/wandb/`` for ``wandb sync``)."""
        self._run.finish()


_PACKAGES = {LoggerName.TENSORBOARD: "tensorboard", LoggerName.MLFLOW: "mlflow", LoggerName.WANDB: "wandb"}
"""Logger -> the package it needs (also the name of its qtrain extra)."""


def require_loggers(names: Iterable[str]) -> list[LoggerName]:
    """Check names and installed packages before a run starts (no folder is made for a run that cannot log).

    Raises:
        ValueError: an unknown name. ImportError: a missing package, naming its extra.

    Example:
        >>> require_loggers(["csv"])
        [<LoggerName.CSV: 'csv'>]
        >>> require_loggers(["tensorbord"])
        Traceback (most recent call last):
        ...
        ValueError: loggers='tensorbord' is not a metric logger; use one of ['csv', 'tensorboard', 'mlflow', 'wandb']
    """
    chosen = list(dict.fromkeys(LoggerName.parse(n) for n in names))
    for kind in chosen:
        package = _PACKAGES.get(kind)
        if package is not None and importlib.util.find_spec(package) is None:
            raise ImportError(f"loggers={kind.value!r} needs {package!r}, which is not installed; "
                              f'install it with: pip install "qtrain[{package}]"')
    return chosen


def open_loggers(names: Iterable[str], folder: str | Path, config: Mapping[str, Any], name: str = "",
                 records: Iterable[dict[str, Any]] = ()) -> list[Any]:
    """The CSV logger and the ones in ``names`` (duplicates and ``"csv"`` ignored), opened on ``folder``.

    Args:
        names: logger names (:class:`LoggerName` values).
        folder: the run folder.
        config: the run's config (MLflow params, W&B config, TensorBoard text).
        name: the run's name in MLflow and W&B (default: the folder's name).
        records: what ``metrics.jsonl`` already holds (a resumed run's CSV starts from it).

    Raises:
        ValueError: an unknown logger name. ImportError: a logger's package is missing (names the extra).
    """
    chosen = require_loggers(names)
    name = name or Path(folder).name
    out: list[Any] = [CSVLogger(folder, records)]
    try:
        for kind in chosen:
            if kind is LoggerName.TENSORBOARD:
                out.append(TensorBoardLogger(folder, config))
            elif kind is LoggerName.MLFLOW:
                out.append(MLflowLogger(folder, config, name))
            elif kind is LoggerName.WANDB:
                out.append(WandbLogger(folder, config, name))
    except BaseException:
        for logger in out:
            logger.close()
        raise
    return out
