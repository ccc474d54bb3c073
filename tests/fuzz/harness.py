"""Fuzz machinery: persistent worker subprocesses, crash/hang detection, verdicts, file snapshots.

Thousands of cases cannot each start a Python + torch process in a few minutes, so every family
of cases runs in one long-lived :mod:`worker <tests.fuzz.worker>` process. The harness sends a
case, waits (bounded) for its answer, and when the worker dies (a segfault is a negative return
code) or hangs, records that case as a failure and goes on with a fresh worker.

A case *passes* when it succeeds, or fails with one clear error: a ``ValueError`` /
``FileNotFoundError`` (or exit code 2 from the CLI) whose message has no traceback, is short,
has short lines (a ``ConfigError`` lists one problem per line) and names the input.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

WORKER = Path(__file__).with_name("worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"
MAX_MESSAGE = 3000
MAX_LINE = 700


@dataclass
class Outcome:
    """One case's answer and verdict."""

    case: dict[str, Any]
    status: str  # ok | error | traceback | crash | hang
    message: str = ""
    rc: int | None = None
    pwned: bool = False
    problem: str = ""  # why the case fails (empty: it passes)


@dataclass
class Report:
    """All outcomes of a run, with counts by status and the failures."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    worker_starts: int = 0

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.problem]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out

    def summary(self, limit: int = 8) -> str:
        lines = [f"{len(self.outcomes)} cases in {self.seconds:.1f} s, {self.worker_starts} worker(s): "
                 f"{self.counts()}; {len(self.failures)} failing"]
        for o in self.failures[:limit]:
            lines.append(f"  {o.case['id']}: {o.problem} | {o.status} | {o.message[-600:]!r}")
        return "\n".join(lines)


class Worker:
    """One worker process (see the module docstring); ``ask`` returns its answer or ``None`` on death/hang."""

    def __init__(self, home: Path, env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self.proc = subprocess.Popen([sys.executable, str(WORKER)], cwd=home / "cwd", env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        self._answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._next(120.0)
        if ready in (None, "timeout") or not json.loads(ready).get("ready"):
            raise RuntimeError(f"fuzz worker did not start (rc {self.proc.poll()}); see {log}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._answers.put(line)
        self._answers.put(None)

    def _next(self, timeout: float) -> str | None:
        try:
            return self._answers.get(timeout=timeout)
        except queue.Empty:
            return "timeout"

    def ask(self, case: dict[str, Any], timeout: float) -> tuple[dict[str, Any] | None, str]:
        """``(answer, "")``, or ``(None, "crash (exit N)")`` / ``(None, "hang")``."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(case) + "\n")
            self.proc.stdin.flush()
            line = self._next(timeout)
        except BrokenPipeError:
            line = None
        if line == "timeout":
            return None, "hang"
        if line is None:
            return None, f"crash (exit {self.stop()})"
        return json.loads(line), ""

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait()
        if not self._log.closed:
            self._log.close()
        return rc


def worker_env(home: Path, memory: int) -> dict[str, str]:
    """Environment of a worker: repository sources first, private HOME/TMPDIR, one thread, a memory limit."""
    for sub in ("cwd", "home", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QTRAIN_", "PYTEST"))}
    env.update(PYTHONPATH=str(SRC) + os.pathsep + env.get("PYTHONPATH", ""), HOME=str(home / "home"),
               TMPDIR=str(home / "tmp"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               QTRAIN_FUZZ_MEMORY=str(memory), PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
    return env


def verdict(case: dict[str, Any], answer: dict[str, Any] | None, died: str) -> Outcome:
    """Classify one answer (``None``: the worker died or hung, ``died`` says which)."""
    if answer is None:
        return Outcome(case, died, problem=f"worker {died}")
    out = Outcome(case, answer["status"], answer.get("message", ""), answer.get("rc"), answer.get("pwned", False))
    if out.pwned:
        out.problem = "code from the input ran (canary environment variable set)"
    elif out.status == "traceback":
        out.problem = f"uncaught {answer.get('type')}"
    elif out.status == "error":
        out.problem = _message_problem(case, out)
    elif case.get("expect") == "error":
        out.problem = "accepted an input that must be refused"
    return out


def _message_problem(case: dict[str, Any], out: Outcome) -> str:
    msg = out.message.strip()
    if out.rc not in (None, 2):
        return f"exit code {out.rc} (user errors exit 2)"
    if not msg or "Traceback" in msg:
        return "empty message or a traceback"
    if len(msg) > MAX_MESSAGE or max(len(line) for line in msg.splitlines()) > MAX_LINE:
        return f"message too long ({len(msg)} chars)"
    lines = msg.splitlines()
    if len(lines) > 1 and not all(line.startswith("  - ") for line in lines[1:]):
        return f"{len(lines)} lines that are not a problem list"
    names = case.get("names") or []
    if names and not any(n in msg for n in names):
        return f"the message does not name the input ({names[0]!r})"
    if case.get("expect") == "ok":
        return "refused an input that must be accepted"
    return ""


def run_cases(cases: Iterable[dict[str, Any]], home: Path, memory: int = 3 << 30,
              timeout: float = 60.0) -> Report:
    """Run ``cases`` in worker processes rooted at ``home``; a dead or hung worker is replaced."""
    env, report = worker_env(home, memory), Report()
    t0 = time.perf_counter()
    worker: Worker | None = None
    try:
        for case in cases:
            if worker is None:
                worker = Worker(home, env, home / "worker.log")
                report.worker_starts += 1
            answer, died = worker.ask(case, timeout)
            if answer is None:
                worker.stop()
                worker = None
            report.outcomes.append(verdict(case, answer, died))
    finally:
        if worker is not None:
            worker.stop()
    report.seconds = time.perf_counter() - t0
    return report


def snapshot(*roots: Path, skip: Iterable[Path] = ()) -> dict[str, tuple[int, int]]:
    """``{path: (size, mtime_ns)}`` of every file under ``roots``, except under ``skip``."""
    skipped = [p.resolve() for p in skip]
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            rp = p.resolve()
            if p.is_file() and not any(rp == s or s in rp.parents for s in skipped):
                st = p.stat()
                out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out
