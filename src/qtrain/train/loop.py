"""The book-keeping of one model's training, so that a recipe's loop stays short and visible.

A recipe writes the loop itself::

    loop = TrainLoop(ctx, "qt", model, opt, ShuffledBatches(train, 128, seed), epochs=10)
    for epoch in loop.epochs():
        for x, y in loop.batches():
            logits = model(x); loss = F.cross_entropy(logits, y)
            opt.zero_grad(); loss.backward(); opt.step()
            loop.step_done(loss, (logits.argmax(1) == y).sum(), len(y))
        loop.end_epoch(evaluate(model, test))

and :class:`TrainLoop` does the rest: checkpoints every ``ckpt_every`` steps and at every epoch
end (model, optimizer, scheduler, RNG states, the loader's generator, epoch/step, partial-epoch
sums), ``metrics.jsonl``, early stopping with a kept best checkpoint, ``max_steps``, the
progress bar, an optional EMA of the weights (evaluated and kept as the best checkpoint), and
resuming: a run killed anywhere and resumed ends with bit-identical weights. A non-finite loss, or
non-finite weights about to be checkpointed, stop the run with
:class:`~qtrain.train.guards.NonFiniteLossError` before anything is saved from them, so the last
finite checkpoint survives.

Data-parallel (``ctx.dist`` set: ``qtrain run --nproc N`` or ``torchrun``): the loop shards every
batch of ``loader`` across the ranks, starts every rank from rank 0's weights, all-reduces the
trainable parameters' gradients after each backward (:class:`~qtrain.train.distributed.GradientSync`:
for Quantum-Train only the QNN and mapping), averages the step's loss and accuracy over the ranks,
and reports ``allreduce_bytes_per_step`` in each epoch's record. The recipe's loop is unchanged;
its steps equal one process's steps on the whole global batch, to rounding.
"""
from __future__ import annotations

import math
import time
from typing import Any, Iterator

import torch
from torch import Tensor, nn

from qtrain.train.batches import ShuffledBatches
from qtrain.train.checkpoint import load_checkpoint, save_checkpoint
from qtrain.train.context import RunContext
from qtrain.train.distributed import GradientSync, all_reduce_sums, broadcast_module
from qtrain.train.early_stopping import EarlyStopping
from qtrain.train.ema import EMA
from qtrain.train.guards import DEFAULT_HINT, NonFiniteLossError, first_nonfinite
from qtrain.train.progress import ProgressBar
from qtrain.train.seed import capture_rng_state, restore_rng_state

__all__ = ["TrainLoop"]


def _zero_sums() -> dict[str, float]:
    return {"loss": 0.0, "correct": 0.0, "count": 0.0, "time": 0.0}


class TrainLoop:
    """Epoch/step book-keeping, checkpoints, metrics and early stopping for one model (``tag``).

    Args:
        ctx: the run context (folder, resume flag, quietness, step hook).
        tag: the model's name in metrics and checkpoint paths (``"classical"``, ``"qt"``).
        model: the trained module (its ``state_dict`` is checkpointed).
        optimizer: its optimizer.
        loader: the training batches.
        epochs: number of epochs.
        scheduler: optional LR scheduler (stepped by the recipe, checkpointed here).
        ckpt_every: also checkpoint every this many optimizer steps (0: epoch ends only).
        max_steps: stop after this many optimizer steps (``None``: no limit).
        patience: early-stopping patience in epochs on ``monitor`` (0: off).
        monitor: the metric of :meth:`end_epoch` watched by early stopping and the best checkpoint.
        mode: ``"max"`` or ``"min"`` for ``monitor``.
        min_delta: smallest improvement of ``monitor``.
        ema: optional :class:`~qtrain.train.ema.EMA`, updated after every step, checkpointed; the best
            checkpoint then holds the averaged weights (evaluate them with ``ema.applied(model)``).
        nonfinite_hint: the fix named when the loss turns non-finite (e.g. which option lowers the lr).
    """

    def __init__(self, ctx: RunContext, tag: str, model: nn.Module, optimizer: torch.optim.Optimizer,
                 loader: ShuffledBatches, epochs: int, *, scheduler: Any = None, ckpt_every: int = 0,
                 max_steps: int | None = None, patience: int = 0, monitor: str = "val_acc",
                 mode: str = "max", min_delta: float = 0.0, ema: EMA | None = None,
                 nonfinite_hint: str = DEFAULT_HINT) -> None:
        if epochs < 1:
            raise ValueError(f"epochs={epochs!r} must be >= 1")
        if ckpt_every < 0:
            raise ValueError(f"ckpt_every={ckpt_every!r} must be >= 0 (0: checkpoint at epoch ends only)")
        self.ctx, self.tag, self.model, self.optimizer, self.loader = ctx, tag, model, optimizer, loader
        self.n_epochs, self.scheduler, self.ckpt_every, self.max_steps = epochs, scheduler, ckpt_every, max_steps
        self.monitor, self.patience, self.ema, self.nonfinite_hint = monitor, patience, ema, nonfinite_hint
        self._saved_step: int | None = None  # global step of the last.pt on disk
        self.stopper = EarlyStopping(patience, mode, min_delta)  # type: ignore[arg-type]
        self.epoch = self.step_in_epoch = self.global_step = 0
        self.finished = False
        self.history: list[dict[str, Any]] = []
        self.train_time_s = 0.0
        self._sums = _zero_sums()
        self._loader_state: Tensor | None = None
        self._tick = time.perf_counter()
        self._lr = self._step_lr = float(optimizer.param_groups[0]["lr"])
        self._bar: ProgressBar | None = None
        self.ckpt_dir = ctx.run_dir.checkpoint_dir(tag)
        self.resumed = ctx.resume and (self.ckpt_dir / "last.pt").is_file()
        if self.resumed:
            self._load(load_checkpoint(self.ckpt_dir / "last.pt"))
        self._sync: GradientSync | None = None
        self._step_bytes = 0
        if ctx.dist is not None:
            self._join_ranks(ctx.dist.rank, ctx.dist.world_size)

    def _join_ranks(self, rank: int, world: int) -> None:
        """Shard the batches, start from rank 0's weights, hook the gradient all-reduce."""
        if self.loader.smallest_batch < world:
            raise ValueError(f"nproc={world} splits every batch across {world} processes but the smallest batch of "
                             f"{self.tag!r} has {self.loader.smallest_batch} sample(s) (batch_size="
                             f"{self.loader.batch_size}, {self.loader.n} samples); use a batch size and a training "
                             f"set whose every batch has >= {world} samples, or fewer processes")
        self.loader.shard(rank, world)
        broadcast_module(self.model)
        self._sync = GradientSync(self.model.parameters())

    # ----------------------------------------------------------------- the recipe's loop
    def epochs(self) -> Iterator[int]:
        """Epoch indices still to run (none if a resumed run had finished this model)."""
        total = self.n_epochs * len(self.loader)
        total = min(total, self.max_steps) if self.max_steps else total
        self._bar = ProgressBar(self.tag, total, enabled=not self.ctx.quiet, completed=self.global_step)
        try:
            while not self.finished:
                yield self.epoch
        finally:
            self._bar.close()
            if self._sync is not None and self.finished:
                self._sync.close()

    def batches(self) -> Iterator[tuple[Tensor, ...]]:
        """The batches of the current epoch not yet done (stops early at ``max_steps``)."""
        if self.step_in_epoch == 0:  # the epoch's starting lr (a resumed epoch keeps its checkpointed one)
            self._lr = float(self.optimizer.param_groups[0]["lr"])
        state, self._loader_state = self._loader_state, None
        for batch in self.loader.epoch(self.step_in_epoch, state):
            if self.max_steps is not None and self.global_step >= self.max_steps:
                return
            self._tick = time.perf_counter()
            self._step_lr = float(self.optimizer.param_groups[0]["lr"])  # before a per-step scheduler moves it
            if self._sync is not None:  # this rank's share of the global batch weights its gradient
                self._sync.weight = len(batch[0]) / self.loader.global_batch_size(self.step_in_epoch)
            yield batch

    def step_done(self, loss: Tensor | float, correct: Tensor | int, count: int) -> None:
        """Record one optimizer step (mean batch ``loss``, ``correct`` predictions out of ``count``)."""
        self._sums["time"] += time.perf_counter() - self._tick
        loss = float(loss)
        if self._sync is not None:  # the global batch's mean loss and accuracy, the same on every rank
            self._step_bytes = self._sync.take_bytes()
            total, correct, n = all_reduce_sums([loss * count, float(correct), float(count)])
            loss, count = total / n, int(n)
        if not math.isfinite(loss):
            raise self._nonfinite(loss, "the training loss", self.global_step + 1, self.epoch + 1)
        if self.ema is not None:
            self.ema.update(self.model)
        self._sums["loss"] += loss * count
        self._sums["correct"] += float(correct)
        self._sums["count"] += count
        self.step_in_epoch += 1
        self.global_step += 1
        if self.ckpt_every and self.global_step % self.ckpt_every == 0:
            self._save(mid_epoch=True)
        if self._bar is not None:
            self._bar.advance(f"loss {loss:.4f}")
        if self.ctx.on_step is not None:
            self.ctx.on_step(self.tag, self.global_step, loss)

    def train_metrics(self) -> dict[str, float]:
        """Mean training loss and accuracy of the current epoch so far."""
        n = max(self._sums["count"], 1.0)
        return {"train_loss": self._sums["loss"] / n, "train_acc": self._sums["correct"] / n}

    def end_epoch(self, metrics: dict[str, float] | None = None) -> dict[str, Any]:
        """Close the epoch: metrics line, early stopping, best and last checkpoints. Returns the record."""
        metrics = dict(metrics or {})
        record = {"model": self.tag, "epoch": self.epoch + 1, "step": self.global_step, **self.train_metrics(),
                  "epoch_time_s": self._sums["time"], "lr": self._lr, **self._dist_metrics(), **metrics}
        self.history.append(record)
        self.ctx.run_dir.append_metrics(record)
        self.train_time_s += self._sums["time"]
        self.epoch, self.step_in_epoch, self._sums = self.epoch + 1, 0, _zero_sums()
        self._track_best(metrics)
        hit_max = self.max_steps is not None and self.global_step >= self.max_steps
        self.finished = self.epoch >= self.n_epochs or self.stopper.should_stop or hit_max
        self._save(mid_epoch=False)
        return record

    def _dist_metrics(self) -> dict[str, int]:
        if self._sync is None or self.ctx.dist is None:
            return {}
        return {"world_size": self.ctx.dist.world_size, "allreduce_bytes_per_step": self._step_bytes}

    def load_best(self) -> bool:
        """Load the best checkpoint's weights into the model; ``False`` if there is none."""
        path = self.ckpt_dir / "best.pt"
        if not path.is_file():
            return False
        self.model.load_state_dict(load_checkpoint(path)["model"])
        return True

    @property
    def seconds_per_epoch(self) -> float:
        """Mean training time per finished epoch (evaluation and checkpoint writes excluded)."""
        times = [r["epoch_time_s"] for r in self.history]
        return sum(times) / len(times) if times else float("nan")

    # ----------------------------------------------------------------- checkpoints
    def _track_best(self, metrics: dict[str, float]) -> None:
        if self.monitor not in metrics:
            if self.patience:
                raise ValueError(f"early stopping (patience={self.patience}) monitors {self.monitor!r} but the "
                                 f"epoch metrics are {sorted(metrics)}; evaluate a validation split")
            return
        if self.stopper.update(float(metrics[self.monitor])):
            self._check_weights()
            weights = self.ema.model_state_dict(self.model) if self.ema is not None else self.model.state_dict()
            save_checkpoint(self.ckpt_dir / "best.pt", {"model": weights, "epoch": self.epoch,
                                                        self.monitor: float(metrics[self.monitor])})

    def _nonfinite(self, value: float, what: str, step: int, epoch: int) -> NonFiniteLossError:
        path = self.ckpt_dir / "last.pt"
        kept = path if self._saved_step is not None and path.is_file() else None
        return NonFiniteLossError(self.tag, step, epoch, value, self._step_lr, kept, self._saved_step,
                                  self.nonfinite_hint, what)

    def _check_weights(self) -> None:
        """Refuse to checkpoint weights a finite loss let through as ``nan``/``inf`` (an overflowing step)."""
        named = list(self.model.named_parameters())
        if self.ema is not None:
            named += [(f"ema.{n}", s) for n, s in zip(self.ema.names, self.ema.shadow)]
        bad = first_nonfinite(named)
        if bad is not None:
            epoch = self.epoch if self.step_in_epoch == 0 else self.epoch + 1  # the epoch of the last step
            raise self._nonfinite(float("nan"), f"weight {bad!r}", self.global_step, epoch)

    def _save(self, mid_epoch: bool) -> None:
        self._check_weights()
        loader_state = self.loader.epoch_start_state if mid_epoch else self.loader.generator.get_state()
        save_checkpoint(self.ckpt_dir / "last.pt", {
            "tag": self.tag, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": capture_rng_state(), "loader": loader_state, "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch, "global_step": self.global_step, "sums": dict(self._sums),
            "early_stopping": self.stopper.state_dict(), "history": self.history, "finished": self.finished,
            "train_time_s": self.train_time_s, "lr": self._lr,
            "ema": self.ema.state_dict() if self.ema is not None else None,
        })
        self._saved_step = self.global_step

    def _load(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        restore_rng_state(ckpt["rng"])
        self.epoch, self.step_in_epoch = int(ckpt["epoch"]), int(ckpt["step_in_epoch"])
        self.global_step, self.finished = int(ckpt["global_step"]), bool(ckpt["finished"])
        self._sums, self.history = dict(ckpt["sums"]), list(ckpt["history"])
        self.stopper.load_state_dict(ckpt["early_stopping"])
        self.train_time_s, self._lr = float(ckpt["train_time_s"]), float(ckpt["lr"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
        self._saved_step = self.global_step
        if self.step_in_epoch:
            self._loader_state = ckpt["loader"]
        else:
            self.loader.generator.set_state(ckpt["loader"])
        done = self.epoch
        self.ctx.run_dir.filter_metrics(lambda r: r.get("model") != self.tag or r.get("epoch", 0) <= done)
