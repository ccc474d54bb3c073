"""Asynchronous advantage actor-critic (A3C, Mnih et al. 2016) with worker processes and one shared model.

Each worker (a ``torch.multiprocessing`` process, spawn start method: safe with threads and CUDA)
keeps a local copy of the shared :class:`~qtrain.rl.ActorCritic`, plays ``n_steps`` environment
steps, computes the n-step actor-critic loss, copies its gradients onto the shared model, steps
the shared :class:`~qtrain.rl.SharedAdam` and pulls the shared weights back (the public PyTorch
A3C pattern of the DiffQAS-QT RL experiments). A Quantum-Train network generates its weights once
per update segment: the same generated weights choose the actions and carry the gradient.

The main process collects episode returns, checkpoints (shared weights, optimizer state, returns)
every ``ckpt_every`` episodes and at the end; a run killed at any point resumes from its last
checkpoint (episodes reserved by workers but not finished are played again). Workers exit when
the episode budget is spent, when asked to stop, or when their parent process has died.

Example:
    >>> discounted_returns([0.0, 0.0, 1.0], bootstrap=0.0, gamma=0.9).tolist()
    [0.8100000023841858, 0.8999999761581421, 1.0]
"""
from __future__ import annotations

import copy
import os
import queue as queue_mod
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.multiprocessing as mp
from torch import Tensor, nn

from qtrain.rl.actor_critic import ActorCritic
from qtrain.rl.envs import encode_observation, make_env
from qtrain.rl.shared_adam import SharedAdam
from qtrain.train.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["A3CSettings", "A3CTrainer", "discounted_returns", "a3c_loss", "push_and_pull"]


@dataclass(frozen=True)
class A3CSettings:
    """Hyper-parameters of one A3C run (DiffQAS-QT: gamma 0.9, n-step 5, Adam 1e-4, betas (0.92, 0.999), 16 workers)."""

    env_id: str = "MiniGrid-Empty-5x5-v0"
    episodes: int = 1000
    workers: int = 2
    gamma: float = 0.9
    n_steps: int = 5
    lr: float = 1e-4
    betas: tuple[float, float] = (0.92, 0.999)
    entropy_beta: float = 0.0
    seed: int = 0
    threads_per_worker: int = 1
    ckpt_every: int = 50
    device: str = "cpu"


def discounted_returns(rewards: Sequence[float], bootstrap: float, gamma: float) -> Tensor:
    """n-step targets ``R_t = r_t + gamma R_{t+1}`` from ``R_T = bootstrap``: ``(T,)`` float32."""
    out, acc = [], float(bootstrap)
    for r in reversed(list(rewards)):
        acc = float(r) + gamma * acc
        out.append(acc)
    return torch.tensor(out[::-1], dtype=torch.float32)


def a3c_loss(logits: Tensor, values: Tensor, actions: Tensor, targets: Tensor, entropy_beta: float = 0.0) -> Tensor:
    """Mean over the segment of ``(R - V)^2 - log pi(a) (R - V).detach() - beta H(pi)``.

    Shapes: logits ``(T, A)``, values ``(T, 1)`` or ``(T,)``, actions ``(T,)`` int64, targets ``(T,)``.
    """
    adv = targets - values.reshape(-1)
    logp = torch.log_softmax(logits, 1)
    chosen = logp.gather(1, actions[:, None])[:, 0]
    entropy = -(logp.exp() * logp).sum(1)
    return (adv.pow(2) - chosen * adv.detach() - entropy_beta * entropy).mean()


def push_and_pull(optimizer: torch.optim.Optimizer, local: nn.Module, shared: nn.Module, loss: Tensor) -> None:
    """Backpropagate ``loss`` in ``local``, step the shared optimizer with those gradients, copy the result back."""
    optimizer.zero_grad(set_to_none=True)
    local.zero_grad(set_to_none=True)
    loss.backward()
    for lp, sp in zip(local.parameters(), shared.parameters()):
        if lp.grad is not None:
            sp.grad = lp.grad.detach().to(sp.device)
    optimizer.step()
    local.load_state_dict(shared.state_dict())


def _play_segment(env: Any, obs: Any, policy: Callable[[Tensor], Tensor], n_steps: int, device: torch.device,
                  gen: torch.Generator) -> tuple[list[Tensor], list[int], list[float], Any, bool, bool]:
    """Up to ``n_steps`` steps; returns observations, actions, rewards, next observation, terminated, truncated."""
    xs, acts, rews = [], [], []
    terminated = truncated = False
    for _ in range(n_steps):
        x = encode_observation(obs).to(device)
        with torch.no_grad():
            probs = torch.softmax(policy(x[None]), 1)[0].cpu()
        a = int(torch.multinomial(probs, 1, generator=gen))
        obs, r, terminated, truncated, _ = env.step(a)
        xs.append(x)
        acts.append(a)
        rews.append(float(r))
        if terminated or truncated:
            break
    return xs, acts, rews, obs, terminated, truncated


def _worker(rank: int, shared: ActorCritic, optimizer: SharedAdam, counter: Any, lock: Any, results: Any,
            stop: Any, s: A3CSettings, start: int) -> None:
    """One A3C worker: play episodes until the shared counter reaches ``s.episodes``."""
    torch.set_num_threads(s.threads_per_worker)
    parent = os.getppid()
    device = torch.device(s.device)
    seed = s.seed * 100_003 + start * 31 + rank  # a resumed run does not replay the same environment seeds
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = make_env(s.env_id)
    local = copy.deepcopy(shared).to(device)
    while not stop.is_set() and os.getppid() == parent:
        with lock:
            if counter.value >= s.episodes:
                break
            counter.value += 1
        obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
        ep_return, steps, done, losses = 0.0, 0, False, []
        while not done:
            policy, value = local.bind()  # Quantum-Train: one weight generation per update segment
            xs, acts, rews, obs, terminated, truncated = _play_segment(env, obs, policy, s.n_steps, device, gen)
            done = terminated or truncated
            ep_return += sum(rews)
            steps += len(rews)
            with torch.no_grad():  # bootstrap from V(s_T) unless the episode terminated
                boot = 0.0 if terminated else float(value(encode_observation(obs).to(device)[None]).reshape(()))
            batch = torch.stack(xs)
            loss = a3c_loss(policy(batch), value(batch), torch.tensor(acts, device=device),
                            discounted_returns(rews, boot, s.gamma).to(device), s.entropy_beta)
            push_and_pull(optimizer, local, shared, loss)
            losses.append(float(loss))
        results.put((rank, ep_return, steps, sum(losses) / len(losses)))


class A3CTrainer:
    """Run (or resume) A3C for one shared model, checkpointing into ``ckpt_path``.

    Args:
        model: the shared :class:`ActorCritic` (moved to shared memory here; must live on CPU).
        settings: hyper-parameters.
        ckpt_path: the checkpoint file (``.pt``); resumed from when it exists.
        on_episode: called in the main process after every recorded episode with
            ``(episode count, return)``; raising from it simulates a crash (the checkpoint stays).

    Example:
        >>> trainer = A3CTrainer(model, A3CSettings(episodes=200), "runs/x/a3c.pt")   # doctest: +SKIP
        >>> returns = trainer.run()                                                    # doctest: +SKIP
    """

    def __init__(self, model: ActorCritic, settings: A3CSettings, ckpt_path: str | Path,
                 on_episode: Callable[[int, float], None] | None = None) -> None:
        if settings.workers < 1 or settings.episodes < 1 or settings.n_steps < 1:
            raise ValueError(f"workers={settings.workers}, episodes={settings.episodes} and n_steps={settings.n_steps} "
                             "must all be >= 1")
        with torch.no_grad():  # a Quantum-Train network calibrates its generated tensors on the first generation:
            model.bind()  # do it once here, or every worker would recalibrate after each pull of the shared buffers
        self.model, self.s, self.on_episode = model.share_memory(), settings, on_episode
        self.ckpt_path = Path(ckpt_path)
        self.optimizer = SharedAdam(model.parameters(), lr=settings.lr, betas=settings.betas)
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.losses: list[float] = []  # mean A3C loss of each episode's updates
        self.workers_of: list[int] = []
        self.train_time_s = 0.0
        if self.ckpt_path.is_file():
            self._load(load_checkpoint(self.ckpt_path))

    @property
    def finished(self) -> bool:
        return len(self.returns) >= self.s.episodes

    def run(self) -> list[float]:
        """Train until ``settings.episodes`` episodes are recorded; returns every episode's return, in order."""
        if self.finished:
            return self.returns
        ctx = mp.get_context("spawn")
        counter, lock, stop, results = ctx.Value("i", len(self.returns)), ctx.Lock(), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_worker, daemon=True,
                             args=(r, self.model, self.optimizer, counter, lock, results, stop, self.s,
                                   len(self.returns)))
                 for r in range(self.s.workers)]
        t0 = time.perf_counter()
        try:
            for p in procs:
                p.start()
            self._collect(results, procs)
        finally:
            stop.set()
            self.train_time_s += time.perf_counter() - t0
            for p in procs:
                p.join(timeout=10)
                if p.is_alive():
                    p.terminate()
                    p.join()
            self.save()  # also on the way out of an exception (a SIGKILL keeps the last periodic one)
        return self.returns

    def _collect(self, results: Any, procs: list[Any]) -> None:
        while not self.finished:
            try:
                rank, ret, steps, loss = results.get(timeout=1.0)
            except queue_mod.Empty:
                if not any(p.is_alive() for p in procs):
                    codes = [p.exitcode for p in procs]
                    raise RuntimeError(f"every A3C worker exited (exit codes {codes}) after {len(self.returns)} of "
                                       f"{self.s.episodes} episodes; see the worker tracebacks above") from None
                continue
            self.returns.append(float(ret))
            self.lengths.append(int(steps))
            self.losses.append(float(loss))
            self.workers_of.append(int(rank))
            if len(self.returns) % self.s.ckpt_every == 0:
                self.save()
            if self.on_episode is not None:
                self.on_episode(len(self.returns), float(ret))

    def save(self) -> None:
        """Checkpoint the shared weights, the optimizer state and the episode record (atomic write)."""
        state = {"model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
                 "optimizer": self.optimizer.state_dict(), "returns": list(self.returns),
                 "lengths": list(self.lengths), "losses": list(self.losses), "workers": list(self.workers_of),
                 "train_time_s": self.train_time_s, "settings": asdict(self.s)}
        save_checkpoint(self.ckpt_path, state)

    def _load(self, ckpt: dict[str, Any]) -> None:
        with torch.no_grad():
            self.model.load_state_dict(ckpt["model"])
        self.model.share_memory()
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.returns, self.lengths, self.losses = list(ckpt["returns"]), list(ckpt["lengths"]), list(ckpt["losses"])
        self.workers_of, self.train_time_s = list(ckpt["workers"]), float(ckpt["train_time_s"])
