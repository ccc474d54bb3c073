"""Recipe ``v2x_federated``: federated Quantum-Train on Flower vs classical FedAvg (V2X paper, Sec. VI).

Paper: V2X paper (arXiv 003), Sec. VI: low-overhead federated aggregation of a compressed
("quantum tensor decomposition") model. Here the compression is Quantum-Train: every client
trains a Quantum-Train model whose target is :class:`~qtrain.models.v2x.DigitsCNN` (8,986
weights, no activation: max-pooling is its non-linearity) and exchanges only the generator
(14-qubit Ry+CNOT QNN + mapping MLP); classical FedAvg exchanges the whole CNN. Same data,
shards, rounds, local epochs and evaluation for both.

Protocol: Digits 6:2:2; the 1,078 training images are split over ``n_clients`` clients by a
per-class Dirichlet(``alpha``) draw (non-IID). Each round every client is sampled
(``fraction_fit``), loads the global values, runs ``local_epochs`` epochs of Adam on its shard
(its optimizer state and batch order persist across rounds), and returns its values; FedAvg
averages the updates that arrive, weighted by shard size. Client dropout: each client fails a
round with probability ``dropout``; stragglers: the last ``stragglers`` clients are
``straggler_slowdown`` x slower and miss the ``round_timeout`` deadline, so their updates are
dropped. The server evaluates the global model on the test set after every round. Bytes per round
are measured from Flower's messages (payload = exchanged values x 4 bytes per client and direction).
``transport=grpc`` runs the server and the clients as separate processes over gRPC on 127.0.0.1
(dropout and stragglers are simulated only in-process).

    qtrain run v2x_federated --preset noniid_5clients
    qtrain run v2x_federated --preset grpc_3clients          # real processes on 127.0.0.1
"""
from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from qtrain.config import build_config, option
from qtrain.data.digits import digits_splits
from qtrain.federated.partition import dirichlet_split
from qtrain.models.v2x import DigitsCNN
from qtrain.qt import MLPMapping, QuantumTrain
from qtrain.recipes.registry import Recipe, RecipeOutput
from qtrain.recipes.v2x.common import evaluate_classifier, param_count, save_export
from qtrain.train import RunContext, RunDir, seed_everything

__all__ = ["FederatedConfig", "RECIPE", "build_model", "exchanged_parameters", "FederatedTask", "grpc_task", "train"]

MODEL_SETS = {"both": ["quantum", "classical"], "quantum": ["quantum"], "classical": ["classical"]}


# ----------------------------------------------------------------------------- config
@dataclass
class FederatedConfig:
    """Config of ``v2x_federated``; defaults: 5 non-IID clients (alpha 0.5), 30 rounds, 1 local epoch."""

    seed: int = option(0, "seed of the split, the shards, the initialisation, the batches and the dropout", min=0)
    models: Literal["both", "quantum", "classical"] = option("both", "federated QT, classical FedAvg, or both")
    transport: Literal["inprocess", "grpc"] = option("inprocess", "Flower server in this process, or processes "
                                                                  "over gRPC on 127.0.0.1")
    n_clients: int = option(5, "clients", min=1)
    alpha: float = option(0.5, "Dirichlet concentration of the non-IID split (large: IID)", gt=0)
    rounds: int = option(30, "federated rounds", min=1)
    local_epochs: int = option(1, "local epochs per round", min=1)
    fraction_fit: float = option(1.0, "fraction of clients sampled per round", gt=0, max=1)
    batch_size: int = option(32, "local batch size", min=1)
    lr: float = option(0.003, "local Adam learning rate of the classical CNN", gt=0)
    qt_lr: float = option(0.01, "local Adam learning rate of the Quantum-Train generator", gt=0)
    qt_blocks: int = option(16, "Quantum-Train Ry+CNOT blocks", min=1)
    act: Literal["none", "relu", "tanh"] = option("none", "DigitsCNN activation (none: max-pooling only; "
                                                          "QT collapsed to chance with relu/tanh here)")
    dropout: float = option(0.1, "probability that a client fails a round (in-process)", min=0, max=1)
    stragglers: int = option(1, "clients (the last ones) that are slow and miss the deadline (in-process)", min=0)
    straggler_slowdown: float = option(100.0, "slowdown factor of a straggler", min=1)
    compute_s: float = option(0.001, "simulated seconds per example and local epoch", gt=0)
    round_timeout: float = option(5.0, "round deadline in seconds (simulated in-process, real over gRPC)", gt=0)
    grpc_timeout_s: float = option(900.0, "gRPC transport: kill every process after this many seconds", gt=0)
    plots: bool = option(True, "write curves.png (needs matplotlib: qtrain[plot])")
    num_threads: int | None = option(1, "torch CPU threads", min=1)

    @property
    def train_models(self) -> list[str]:
        """Model tags trained by this run, in order."""
        return MODEL_SETS[self.models]

    def problems(self) -> list[str]:
        """Cross-field checks."""
        out = []
        if self.stragglers >= self.n_clients and self.n_clients > 0:
            out.append(f"stragglers={self.stragglers} must be < n_clients={self.n_clients} (someone must arrive)")
        return out


# ----------------------------------------------------------------------------- builders
def build_model(cfg: FederatedConfig, tag: str) -> nn.Module:
    """``"classical"``: :class:`DigitsCNN`; ``"quantum"``: its Quantum-Train version (calibrated at build).

    Every process and client builds the same model from ``cfg.seed``, so the frozen template and
    the generator's calibration buffers agree everywhere and only the trainable values travel.
    """
    seed_everything(cfg.seed)
    target = DigitsCNN(act=cfg.act)
    if tag == "classical":
        return target
    qt = QuantumTrain(target, ansatz="ry_cnot", blocks=cfg.qt_blocks, mapping=MLPMapping((4, 20, 4)),
                      bits="pm1", transform="scaled")
    with torch.no_grad():
        qt.generate()  # fixes the calibration buffers from the shared initialisation
    return qt


def exchanged_parameters(model: nn.Module) -> list[nn.Parameter]:
    """What travels: every trainable parameter (for Quantum-Train: the generator's QNN + mapping)."""
    return [p for p in model.parameters() if p.requires_grad]


def client_seed(cfg: FederatedConfig, cid: int) -> int:
    """Seed of client ``cid``'s batch order."""
    return 100 * cfg.seed + cid


class FederatedTask:
    """Builds clients and the strategy of one model from the config (same in every process)."""

    def __init__(self, cfg: FederatedConfig, tag: str) -> None:
        self.cfg, self.tag = cfg, tag
        self.rounds, self.round_timeout = cfg.rounds, cfg.round_timeout
        self.splits = digits_splits(cfg.seed)
        self.shards = dirichlet_split(self.splits.train.tensors[1], cfg.n_clients, cfg.alpha, cfg.seed,
                                      min_size=cfg.batch_size // 2 or 1)

    def make_client(self, cid: int) -> Any:
        from qtrain.federated.flower import LocalTrainer, TorchClient

        model = build_model(self.cfg, self.tag)
        x, y = self.splits.train.tensors
        shard = torch.utils.data.TensorDataset(x[self.shards[cid]], y[self.shards[cid]])
        lr = self.cfg.qt_lr if self.tag == "quantum" else self.cfg.lr
        trainer = LocalTrainer(model, exchanged_parameters(model), shard, self.cfg.batch_size, lr,
                               client_seed(self.cfg, cid))
        return TorchClient(cid, trainer)

    def make_strategy(self) -> Any:
        from qtrain.federated.flower import ByteCountingFedAvg

        server_model = build_model(self.cfg, self.tag)
        params = exchanged_parameters(server_model)

        def evaluate(rnd: int, tensors: list[Tensor]) -> dict[str, float]:
            with torch.no_grad():
                for p, t in zip(params, tensors):
                    p.copy_(t)
            return {**evaluate_classifier(server_model, self.splits.test, "test"),
                    **evaluate_classifier(server_model, self.splits.val, "val")}

        n = self.cfg.n_clients
        sampled = max(1, int(n * self.cfg.fraction_fit))  # gRPC: wait for all clients before sizing a round
        return ByteCountingFedAvg(params, [p.detach().clone() for p in params], evaluate, self.cfg.local_epochs,
                                  fraction_fit=self.cfg.fraction_fit, min_fit_clients=sampled, min_available_clients=n)


def grpc_task(config: dict[str, Any]) -> FederatedTask:
    """Entry point of :mod:`qtrain.federated.worker` processes: ``config`` = the recipe config + ``tag``."""
    config = dict(config)
    tag = config.pop("tag")
    return FederatedTask(build_config(FederatedConfig, config, source="federated worker"), tag)


# ----------------------------------------------------------------------------- run one model
def run_federated(cfg: FederatedConfig, tag: str, workdir: Path | None = None) -> dict[str, Any]:
    """All rounds of one model; returns ``{"rounds": [...], "final": [tensors]}``."""
    task = FederatedTask(cfg, tag)
    if cfg.transport == "grpc":
        from qtrain.federated.worker import run_grpc

        with tempfile.TemporaryDirectory() as tmp:
            work = Path(workdir or tmp) / f"grpc_{tag}"
            rec = run_grpc(f"{__name__}:grpc_task", {**dataclasses.asdict(cfg), "tag": tag}, cfg.n_clients, work,
                           cfg.grpc_timeout_s)
        like = exchanged_parameters(build_model(cfg, tag))
        return {"rounds": rec["rounds"], "final": [torch.tensor(v).view(p.shape) for v, p in zip(rec["final"], like)]}
    from qtrain.federated.flower import InProcessProxy, run_inprocess

    strategy = task.make_strategy()
    proxies = [InProcessProxy(task.make_client(cid), cfg.dropout,
                              cfg.straggler_slowdown if cid >= cfg.n_clients - cfg.stragglers else 1.0,
                              cfg.compute_s, cfg.seed) for cid in range(cfg.n_clients)]
    rounds = run_inprocess(strategy, proxies, cfg.rounds, cfg.round_timeout)
    return {"rounds": rounds, "final": strategy.final}


# ----------------------------------------------------------------------------- setup -> train -> save
def _summarize(tag: str, res: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    rounds = res["rounds"]
    per_round = [r["bytes_down"] + r.get("bytes_up", 0) for r in rounds]
    accs = [r["test_acc"] for r in rounds if "test_acc" in r]
    return {"params": params, "rounds": rounds, "bytes_per_round": sum(per_round) / len(per_round),
            "bytes_up_per_client": max(r["bytes_up"] / r["results"] for r in rounds if r.get("results")),
            "final_test_acc": accs[-1], "best_test_acc": max(accs),
            "failures": sum(r.get("failures", 0) for r in rounds)}


def train(cfg: FederatedConfig, ctx: RunContext) -> RecipeOutput:
    """Run each model's federation; per-round metrics, traffic and the QT / classical comparison."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    results: dict[str, dict[str, Any]] = {}
    for tag in cfg.train_models:
        res = run_federated(cfg, tag, ctx.run_dir.path)
        model = build_model(cfg, tag)
        with torch.no_grad():
            for p, t in zip(exchanged_parameters(model), res["final"]):
                p.copy_(t)
        for r in res["rounds"]:
            ctx.run_dir.append_metrics({"model": tag, "epoch": r["round"], **{k: v for k, v in r.items()
                                                                           if k not in ("round", "clients")}})
        results[tag] = {"model": model, **_summarize(tag, res, param_count(model))}
    save_export(results[cfg.train_models[0]]["model"], ctx.run_dir)
    ref = results.get("classical")
    names = {"quantum": f"federated Quantum-Train (QT-{cfg.qt_blocks})", "classical": "classical FedAvg"}
    table = [{"model": names[tag], "exchanged params": res["params"]["trainable"],
              "bytes/round": round(res["bytes_per_round"]),
              "x classical bytes": round(res["bytes_per_round"] / ref["bytes_per_round"], 4) if ref else None,
              "final test %": round(100 * res["final_test_acc"], 2),
              "best test %": round(100 * res["best_test_acc"], 2),
              "gap to classical": round(100 * (ref["final_test_acc"] - res["final_test_acc"]), 2) if ref else None,
              "failed updates": res["failures"]} for tag, res in results.items()]
    models = {tag: {k: v for k, v in res.items() if k != "model"} for tag, res in results.items()}
    return RecipeOutput(summary={"models": models, "table": table}, table=table)


def export(cfg: FederatedConfig, run_dir: RunDir) -> Path:
    """Federated runs keep no checkpoints; re-running the (deterministic) run is the export."""
    raise ValueError("v2x_federated keeps no checkpoints; its run folder already holds model.safetensors "
                     "(re-run `qtrain run v2x_federated ...` to regenerate it)")


RECIPE = Recipe(name="v2x_federated", config_cls=FederatedConfig, train=train, export=export,
                description="federated Quantum-Train on Flower (in-process or gRPC) vs classical FedAvg: bytes per "
                            "round and accuracy (V2X paper, Sec. VI)",
                limits={"device": "its Flower clients train on the CPU (transport=grpc: in separate processes)",
                        "precision": "its Flower clients train in float32",
                        "nproc": "its parallelism is its federated clients (n_clients, transport=grpc)"})
