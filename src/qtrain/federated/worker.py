"""Federated training as real processes: one Flower server and N clients over gRPC on 127.0.0.1.

:func:`run_grpc` starts ``python -m qtrain.federated.worker server ...`` and one ``... client ...``
process per client, waits for all of them (killing every one past ``timeout_s``) and returns the
server's record: per-round traffic and metrics (from the strategy, measured on the messages the
server actually received over gRPC) and the final global tensors.

A process builds its side from a *task*: ``"package.module:function"`` called with the JSON
config, returning an object with ``make_client(cid) -> TorchClient``, ``make_strategy() ->
ByteCountingFedAvg``, ``rounds`` and ``round_timeout``. The server uses Flower's gRPC transport
(``flwr.server.start_server`` / ``flwr.client.start_client``, deprecated in Flower 1.13+ in favour
of the SuperLink but still shipped and working in 1.42).

Example:
    >>> rec = run_grpc("qtrain.recipes.v2x.v2x_federated:grpc_task", {"n_clients": 2}, 2, "/tmp/fl")  # doctest: +SKIP
    >>> rec["rounds"][0]["bytes_up"]                                                              # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

__all__ = ["load_task", "run_grpc", "main"]


def load_task(spec: str, config: dict[str, Any]) -> Any:
    """Import ``"module:function"`` and call it with ``config``."""
    module, sep, fn = spec.partition(":")
    if not sep or not module or not fn:
        raise ValueError(f"task={spec!r} must look like 'package.module:function'")
    return getattr(importlib.import_module(module), fn)(config)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(args: Sequence[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "qtrain.federated.worker", *args], stdout=fh,
                                stderr=subprocess.STDOUT, env=env)


def run_grpc(task: str, config: dict[str, Any], n_clients: int, workdir: str | Path,
             timeout_s: float = 600.0) -> dict[str, Any]:
    """Run the server and ``n_clients`` client processes; return the server's record.

    Raises:
        RuntimeError: a process failed or the run exceeded ``timeout_s`` (all processes are killed);
            the message names the log file of the first failure.
    """
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    cfg_path, out = work / "config.json", work / "server_result.json"
    cfg_path.write_text(json.dumps(config))
    address = f"127.0.0.1:{_free_port()}"
    common = {"task": task, "config": str(cfg_path), "address": address}
    procs = {"server": _spawn([json.dumps({"role": "server", **common, "out": str(out)})], work / "server.log")}
    for cid in range(n_clients):
        spec = json.dumps({"role": "client", **common, "cid": cid})
        procs[f"client{cid}"] = _spawn([spec], work / f"client{cid}.log")
    deadline = time.monotonic() + timeout_s
    try:
        for name, proc in procs.items():
            rc = proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            if rc != 0:
                raise RuntimeError(f"federated {name} process exited with code {rc}; see {work / (name + '.log')}")
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"federated gRPC run exceeded timeout_s={timeout_s}; logs in {work}") from None
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return json.loads(out.read_text())


def _serve(task: Any, address: str, out: Path) -> None:
    from qtrain.federated.flower import fl, quiet_flower

    strategy = task.make_strategy()
    with quiet_flower():
        fl.server.start_server(server_address=address, strategy=strategy,
                               config=fl.server.ServerConfig(num_rounds=task.rounds, round_timeout=task.round_timeout))
    final = [t.detach().flatten().tolist() for t in (strategy.final or [])]
    out.write_text(json.dumps({"rounds": strategy.rounds, "final": final}))


def _client(task: Any, address: str, cid: int) -> None:
    from qtrain.federated.flower import fl, quiet_flower

    with quiet_flower():
        fl.client.start_client(server_address=address, client=task.make_client(cid), insecure=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m qtrain.federated.worker SPEC``: one process of :func:`run_grpc`.

    ``SPEC`` is the JSON object :func:`run_grpc` writes (``role`` "server" or "client", ``task``,
    ``config`` path, ``address``, and ``out`` or ``cid``): a private protocol between processes of
    one run, not a user interface, so it is not parsed as command-line options.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        raise ValueError(f"qtrain.federated.worker takes one JSON argument (from run_grpc), got {len(args)}")
    spec = json.loads(args[0])
    task = load_task(spec["task"], json.loads(Path(spec["config"]).read_text()))
    if spec["role"] == "server":
        _serve(task, spec["address"], Path(spec["out"]))
    else:
        _client(task, spec["address"], int(spec["cid"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
