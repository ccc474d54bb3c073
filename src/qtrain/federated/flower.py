"""Flower pieces: a torch client, a byte-counting FedAvg, an in-process engine and client dropout/stragglers.

Messages. Exchanged tensors travel as Flower ``Parameters`` whose ``tensors`` are the raw
little-endian float32 bytes of each tensor (``tensor_type = "qtrain.raw.float32-le"``), so a
message's payload is exactly ``(number of exchanged values) x 4`` bytes. The strategy records, per
round, the payload bytes it sends (``FitIns``) and receives (``FitRes``) -- measured from the
messages themselves -- and their protobuf wire sizes (Flower's ``serde``).

Engines. :func:`run_inprocess` runs Flower's own ``Server`` (rounds, client sampling, failures,
``round_timeout``) over :class:`InProcessProxy` objects that serialise every message through
Flower's protobuf ``serde`` both ways, as a transport would. Sequential (one worker): results are
reproducible. Client dropout: each sampled client fails a round with probability ``dropout``
(seeded per round and client). Stragglers: a proxy reports a simulated latency
``examples x epochs x compute_s x slowdown``; past ``round_timeout`` the update is dropped, as a
real deadline would drop it. FedAvg accepts failures and averages the updates that arrived.
:mod:`qtrain.federated.worker` runs the same client and strategy as real processes over gRPC.

Example:
    >>> import torch
    >>> p = encode([torch.ones(3), torch.zeros(2, 2)])
    >>> payload_bytes(p), [t.shape for t in decode(p, [torch.empty(3), torch.empty(2, 2)])]
    (28, [torch.Size([3]), torch.Size([2, 2])])
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from qtrain._optional import require

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")  # no network calls from a library run
fl = require("flwr", "fl", "federated training")
from flwr.common import (Code, DisconnectRes, EvaluateIns, EvaluateRes, FitIns, FitRes,  # noqa: E402
                         GetParametersIns, GetParametersRes, GetPropertiesIns, GetPropertiesRes, Parameters,
                         ReconnectIns, Status, serde)
from flwr.server import Server, SimpleClientManager  # noqa: E402
from flwr.server.client_proxy import ClientProxy  # noqa: E402
from flwr.server.strategy import FedAvg  # noqa: E402

__all__ = ["TENSOR_TYPE", "encode", "decode", "payload_bytes", "LocalTrainer", "TorchClient", "ByteCountingFedAvg",
           "InProcessProxy", "run_inprocess", "quiet_flower"]

TENSOR_TYPE = "qtrain.raw.float32-le"
_OK = Status(code=Code.OK, message="ok")


def encode(tensors: Sequence[Tensor]) -> Parameters:
    """Tensors -> Flower ``Parameters`` of raw float32 little-endian bytes (4 bytes per value, no header)."""
    blobs = [t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4", copy=False).tobytes()
             for t in tensors]
    return Parameters(tensors=blobs, tensor_type=TENSOR_TYPE)


def decode(params: Parameters, like: Sequence[Tensor]) -> list[Tensor]:
    """Flower ``Parameters`` -> tensors shaped, typed and placed like ``like``."""
    if params.tensor_type != TENSOR_TYPE:
        raise ValueError(f"parameters have tensor_type={params.tensor_type!r}; expected {TENSOR_TYPE!r} "
                         "(both ends must run qtrain.federated)")
    if len(params.tensors) != len(like):
        raise ValueError(f"message holds {len(params.tensors)} tensors but the model exchanges {len(like)}")
    out = []
    for blob, ref in zip(params.tensors, like):
        if len(blob) != 4 * ref.numel():
            raise ValueError(f"a tensor of {len(blob)} bytes cannot fill shape {tuple(ref.shape)} "
                             f"({4 * ref.numel()} bytes)")
        arr = np.frombuffer(blob, dtype="<f4").reshape(ref.shape)
        out.append(torch.from_numpy(arr.copy()).to(device=ref.device, dtype=ref.dtype))
    return out


def payload_bytes(params: Parameters) -> int:
    """Bytes of tensor payload in a ``Parameters`` message."""
    return sum(len(b) for b in params.tensors)


class LocalTrainer:
    """A client's local training: persistent optimizer (Adam) and seeded batch order across rounds.

    Args:
        model: the client's model (a ``QuantumTrain`` or a plain module).
        exchanged: the parameters that travel (the rest stay local and fixed).
        data: ``TensorDataset (x, y)`` shard.
        batch_size, lr, seed: local SGD settings; ``seed`` seeds the batch order.
        loss_fn: ``loss_fn(model(x), y)`` (default cross-entropy).
    """

    def __init__(self, model: nn.Module, exchanged: Sequence[nn.Parameter], data: Any, batch_size: int, lr: float,
                 seed: int, loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None) -> None:
        from qtrain.train import ShuffledBatches

        self.model, self.exchanged, self.data = model, list(exchanged), data
        self.optimizer = torch.optim.Adam(self.exchanged, lr=lr)
        self.loader = ShuffledBatches(data, batch_size, seed=seed)
        self.loss_fn = loss_fn or torch.nn.functional.cross_entropy

    def set(self, tensors: Sequence[Tensor]) -> None:
        """Load the received global values into the exchanged parameters."""
        with torch.no_grad():
            for p, t in zip(self.exchanged, tensors):
                p.copy_(t)

    def fit(self, epochs: int) -> float:
        """``epochs`` passes over the shard; returns the mean training loss."""
        total, count = 0.0, 0
        self.model.train()
        for _ in range(epochs):
            for x, y in self.loader.epoch():
                loss = self.loss_fn(self.model(x), y)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                total, count = total + float(loss.detach()) * len(y), count + len(y)
        return total / max(count, 1)


class TorchClient(fl.client.Client):  # type: ignore[misc]
    """A Flower client around a :class:`LocalTrainer`; ``delay_s`` makes it a real (sleeping) straggler."""

    def __init__(self, cid: int, trainer: LocalTrainer, delay_s: float = 0.0) -> None:
        self.cid, self.trainer, self.delay_s = cid, trainer, delay_s

    def get_properties(self, ins: GetPropertiesIns) -> GetPropertiesRes:
        return GetPropertiesRes(status=_OK, properties={"cid": self.cid})

    def get_parameters(self, ins: GetParametersIns) -> GetParametersRes:
        return GetParametersRes(status=_OK, parameters=encode(self.trainer.exchanged))

    def fit(self, ins: FitIns) -> FitRes:
        self.trainer.set(decode(ins.parameters, self.trainer.exchanged))
        loss = self.trainer.fit(int(ins.config.get("local_epochs", 1)))
        if self.delay_s:
            time.sleep(self.delay_s)
        return FitRes(status=_OK, parameters=encode(self.trainer.exchanged), num_examples=len(self.trainer.data),
                      metrics={"loss": loss, "cid": self.cid})

    def evaluate(self, ins: EvaluateIns) -> EvaluateRes:
        return EvaluateRes(status=_OK, loss=0.0, num_examples=0, metrics={})


class ByteCountingFedAvg(FedAvg):  # type: ignore[misc]
    """FedAvg on raw-float32 messages that records each round's traffic and server-side evaluation.

    Args:
        like: tensors shaped like the exchanged parameters (for decoding).
        initial: the initial global values.
        evaluate_fn: ``(round, tensors) -> metrics`` on the server (e.g. test accuracy), or None.
        local_epochs: sent to the clients in every ``FitIns`` config.
        **kwargs: :class:`flwr.server.strategy.FedAvg` options (``fraction_fit``, ``min_fit_clients``, ...).

    Attributes:
        rounds: one dict per round: ``bytes_down``/``bytes_up`` (payload), ``wire_down``/``wire_up``
            (protobuf sizes), ``sampled``, ``results``, ``failures``, ``clients`` (cids that arrived),
            and the evaluation metrics.
    """

    def __init__(self, like: Sequence[Tensor], initial: Sequence[Tensor],
                 evaluate_fn: Callable[[int, list[Tensor]], dict[str, float]] | None = None,
                 local_epochs: int = 1, **kwargs: Any) -> None:
        kwargs.setdefault("fraction_evaluate", 0.0)
        kwargs.setdefault("min_evaluate_clients", 0)
        super().__init__(initial_parameters=encode(initial), accept_failures=True,
                         on_fit_config_fn=lambda r: {"server_round": r, "local_epochs": local_epochs}, **kwargs)
        self.like, self.evaluate_fn_, self.rounds = [t.detach().clone() for t in like], evaluate_fn, []
        self.final: list[Tensor] | None = None

    def configure_fit(self, server_round: int, parameters: Parameters, client_manager: Any) -> list:
        pairs = super().configure_fit(server_round, parameters, client_manager)
        down = sum(payload_bytes(ins.parameters) for _, ins in pairs)
        wire = sum(serde.fit_ins_to_proto(ins).ByteSize() for _, ins in pairs)
        self.rounds.append({"round": server_round, "sampled": len(pairs), "bytes_down": down, "wire_down": wire})
        return pairs

    def aggregate_fit(self, server_round: int, results: list, failures: list) -> tuple[Parameters | None, dict]:
        rec = self.rounds[-1]
        results = sorted(results, key=lambda pr: int(pr[1].metrics.get("cid", 0)))  # order-independent sums
        rec.update(results=len(results), failures=len(failures),
                   clients=[int(r.metrics.get("cid", -1)) for _, r in results],
                   bytes_up=sum(payload_bytes(r.parameters) for _, r in results),
                   wire_up=sum(serde.fit_res_to_proto(r).ByteSize() for _, r in results))
        if not results:
            return None, {}
        total = sum(r.num_examples for _, r in results)
        acc = [torch.zeros_like(t, dtype=torch.float64) for t in self.like]
        for _, r in results:  # float64 sums: one client's update comes back bit-exact
            for a, t in zip(acc, decode(r.parameters, self.like)):
                a += t.double() * r.num_examples
        avg = [(a / total).to(t.dtype) for a, t in zip(acc, self.like)]
        rec["train_loss"] = sum(float(r.metrics["loss"]) * r.num_examples for _, r in results) / total
        return encode(avg), {"train_loss": rec["train_loss"]}

    def evaluate(self, server_round: int, parameters: Parameters) -> tuple[float, dict] | None:
        tensors = decode(parameters, self.like)
        self.final = tensors
        if self.evaluate_fn_ is None:
            return None
        metrics = self.evaluate_fn_(server_round, tensors)
        if server_round > 0 and self.rounds and self.rounds[-1]["round"] == server_round:
            self.rounds[-1].update(metrics)
        return float(metrics.get("loss", 0.0)), metrics


class InProcessProxy(ClientProxy):  # type: ignore[misc]
    """A client proxy calling a :class:`TorchClient` in this process, through Flower's protobuf serde.

    Args:
        client: the client.
        dropout: probability of failing a round (seeded by ``(seed, round, cid)``).
        slowdown: straggler factor on the simulated compute time.
        compute_s: simulated seconds per example and epoch.
        seed: seed of the dropout draws.
    """

    def __init__(self, client: TorchClient, dropout: float = 0.0, slowdown: float = 1.0, compute_s: float = 1e-3,
                 seed: int = 0) -> None:
        super().__init__(str(client.cid))
        self.client, self.dropout, self.slowdown, self.compute_s, self.seed = client, dropout, slowdown, compute_s, seed
        self.last_latency_s = 0.0

    def fit(self, ins: FitIns, timeout: float | None, group_id: int | None) -> FitRes:
        rnd = int(ins.config.get("server_round", 0))
        if np.random.default_rng((self.seed, rnd, self.client.cid)).random() < self.dropout:
            raise ConnectionError(f"client {self.cid} dropped out of round {rnd}")
        res = self.client.fit(serde.fit_ins_from_proto(serde.fit_ins_to_proto(ins)))
        epochs = int(ins.config.get("local_epochs", 1))
        self.last_latency_s = res.num_examples * epochs * self.compute_s * self.slowdown
        if timeout is not None and self.last_latency_s > timeout:
            raise TimeoutError(f"client {self.cid} needed {self.last_latency_s:.2f} s > round_timeout {timeout} s")
        return serde.fit_res_from_proto(serde.fit_res_to_proto(res))

    def get_properties(self, ins: GetPropertiesIns, timeout: float | None, group_id: int | None) -> GetPropertiesRes:
        return self.client.get_properties(ins)

    def get_parameters(self, ins: GetParametersIns, timeout: float | None, group_id: int | None) -> GetParametersRes:
        return self.client.get_parameters(ins)

    def evaluate(self, ins: EvaluateIns, timeout: float | None, group_id: int | None) -> EvaluateRes:
        return self.client.evaluate(ins)

    def reconnect(self, ins: ReconnectIns, timeout: float | None, group_id: int | None) -> DisconnectRes:
        return DisconnectRes(reason="")


@contextlib.contextmanager
def quiet_flower(level: int = logging.ERROR) -> Iterator[None]:
    """Raise the ``flwr`` logger's level for the block (Flower logs every round at INFO)."""
    logger = logging.getLogger("flwr")
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def run_inprocess(strategy: ByteCountingFedAvg, proxies: Sequence[InProcessProxy], rounds: int,
                  round_timeout: float | None = None) -> list[dict[str, Any]]:
    """Run ``rounds`` Flower rounds with ``strategy`` over ``proxies`` (sequentially); returns ``strategy.rounds``."""
    manager = SimpleClientManager()
    for proxy in proxies:
        manager.register(proxy)
    server = Server(client_manager=manager, strategy=strategy)
    server.set_max_workers(1)
    with quiet_flower():
        server.fit(rounds, timeout=round_timeout)
    return strategy.rounds
