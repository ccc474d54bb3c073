"""What a run folder records about where and how it ran: commit, versions, host, threads, device, command.

:func:`run_environment` is written into ``run.json`` (key ``environment``) by the runner, and its
``git`` part into the metadata of the exported ``model.safetensors``.

Example:
    >>> env = run_environment(argv=["qtrain", "run", "qt_image"])
    >>> env["command"], sorted(env["versions"])
    ('qtrain run qt_image', ['numpy', 'python', 'qtrain', 'torch'])
    >>> sorted(env["git"])
    ['commit', 'dirty', 'root']
"""
from __future__ import annotations

import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

__all__ = ["git_state", "library_versions", "device_info", "run_environment"]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _git(args: Sequence[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(path: str | Path | None = None) -> dict[str, Any]:
    """Commit, dirty flag and root of the git checkout holding ``path`` (default: qtrain's sources).

    All three are ``None`` outside a checkout (qtrain installed from a wheel) or without git.
    ``dirty`` counts changes to tracked files only: untracked run folders do not make it dirty.
    """
    cwd = Path(path) if path is not None else _PACKAGE_DIR
    root = _git(["rev-parse", "--show-toplevel"], cwd)
    if root is None:
        return {"commit": None, "dirty": None, "root": None}
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {"commit": _git(["rev-parse", "HEAD"], cwd), "dirty": bool(status) if status is not None else None,
            "root": root}


def library_versions() -> dict[str, str]:
    """Versions of qtrain, torch, numpy and python."""
    import numpy
    import torch

    from qtrain._version import __version__

    return {"qtrain": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def device_info(device: str | None = None) -> dict[str, Any]:
    """The run's device (from its config, default ``"cpu"``), CUDA availability and the GPU's name."""
    import torch

    info: dict[str, Any] = {"device": str(device or "cpu"), "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info.update(cuda_device=torch.cuda.get_device_name(), cuda_version=torch.version.cuda,
                    cuda_devices=torch.cuda.device_count())
    return info


def run_environment(argv: Sequence[str] | None = None, device: str | None = None) -> dict[str, Any]:
    """Everything :mod:`qtrain.train.environment` records (see the module docstring).

    Args:
        argv: the command line (default ``sys.argv``, with a ``python -m qtrain.cli`` call shown as ``qtrain``).
        device: the run's device as its config names it.
    """
    from qtrain.threads import thread_info

    args = list(sys.argv if argv is None else argv)
    if args and Path(args[0]).name in ("__main__.py", "qtrain"):
        args[0] = "qtrain"
    return {"command": shlex.join(args), "cwd": os.getcwd(), "host": socket.gethostname(),
            "platform": platform.platform(), "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "git": git_state(), "versions": library_versions(), "threads": thread_info(), **device_info(device)}
