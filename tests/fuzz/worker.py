"""Fuzz worker: reads one JSON case per line on stdin, runs it in this process, answers one JSON line.

Started by :mod:`tests.fuzz.harness` under a memory limit (``RLIMIT_AS``), with its own working
directory, ``HOME`` and ``TMPDIR``. A case names an operation:

* ``cli``: ``qtrain.cli.main(argv)`` with stdout/stderr captured; the answer holds the exit code
  and stderr.
* ``config``: ``qtrain.recipes.registry.load_config(recipe, preset, overrides)`` (what
  ``qtrain run`` validates before creating a run folder).
* ``load``: one data/checkpoint loader on a file.

Answer: ``{"id", "status", "rc", "type", "message", "pwned"}`` where ``status`` is ``ok``, ``error``
(a ``ValueError``/``FileNotFoundError``, or a CLI exit code 2 with its stderr) or ``traceback`` (any
other exception escaping, with its formatted traceback). ``pwned`` is true if the canary
environment variable appeared (a payload ran code in this process).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import traceback
from typing import Any, Callable

CANARY_ENV = "QTRAIN_FUZZ_PWNED"


def _limit_memory() -> None:
    limit = int(os.environ.get("QTRAIN_FUZZ_MEMORY", str(3 << 30)))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _loaders() -> dict[str, Callable[[str], Any]]:
    from qtrain.data.cifar import read_cifar_binary_batch, read_cifar_python_batch
    from qtrain.data.idx import load_idx_split, read_idx_images, read_idx_labels
    from qtrain.data.radioml import load_radioml
    from qtrain.data.rml_generator import load_npz
    from qtrain.train.checkpoint import load_checkpoint

    return {"cifar_python": read_cifar_python_batch, "cifar_binary": read_cifar_binary_batch,
            "radioml": load_radioml, "idx_images": read_idx_images, "idx_labels": read_idx_labels,
            "idx_split": lambda p: load_idx_split(p, "train"), "rml_npz": load_npz, "checkpoint": load_checkpoint}


def _run_cli(argv: list[str]) -> dict[str, Any]:
    from qtrain.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return {"status": "ok" if rc == 0 else "error", "rc": rc, "message": err.getvalue()[-4000:]}


def _run_config(case: dict[str, Any]) -> dict[str, Any]:
    from qtrain.recipes.registry import load_config

    load_config(case["recipe"], case.get("preset"), case["overrides"])
    return {"status": "ok"}


def run_case(case: dict[str, Any], loaders: dict[str, Callable[[str], Any]]) -> dict[str, Any]:
    """Run one case; classify the outcome (never raises)."""
    try:
        if case["op"] == "cli":
            res = _run_cli(case["argv"])
        elif case["op"] == "config":
            res = _run_config(case)
        else:
            loaders[case["loader"]](case["path"])
            res = {"status": "ok"}
    except (ValueError, FileNotFoundError) as exc:
        res = {"status": "error", "type": type(exc).__name__, "message": str(exc)[:4000]}
    except BaseException as exc:  # noqa: BLE001 - everything else is a finding, reported with its traceback
        tb = "".join(traceback.format_exception(exc))
        res = {"status": "traceback", "type": type(exc).__name__, "message": tb[-4000:]}
    res["id"] = case["id"]
    res["pwned"] = CANARY_ENV in os.environ
    return res


def main() -> None:
    # answers go to a private copy of stdout; fd 1 itself is pointed at stderr, so that nothing a
    # library (or C code) prints can corrupt the answer stream
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    _limit_memory()
    import torch

    torch.set_num_threads(1)
    loaders = _loaders()
    answers.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if line.strip():
            answers.write(json.dumps(run_case(json.loads(line), loaders)) + "\n")


if __name__ == "__main__":
    main()
