"""torch's process-wide settings that a loss must leave as it found them, each read, compared
and put back around a call in the child (grader.checks.as_trained).

A training step calls the loss thousands of times: a setting changed inside it changes
everything that runs after it in the trainer. Threads set to one slow every later matmul;
anomaly detection left on slows backward several times over; a default device or dtype,
deterministic algorithms, a float32 matmul precision, TF32 or flushed denormals change the
numbers or the speed of code that never asked. Grad mode is judged by the caller, which knows
whether the call was made under no_grad.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch


_DENORMAL = torch.tensor([5e-324], dtype=torch.float64)  # the smallest float64 denormal, made once


def _flushes_denormals() -> bool:
    """True when denormal floats are flushed to zero (torch.set_flush_denormal(True)), which
    torch can set but not report: the smallest denormal times one then reads back as zero."""
    return _DENORMAL.mul(1.0).item() == 0.0


TRAINING_THREADS = 2  # a trainer's thread count: the child's own is 1, which `set_num_threads(1)` would not change
_REAL_GET_THREADS, _REAL_SET_THREADS = torch.get_num_threads, torch.set_num_threads
_virtual_threads: list[int] = []  # the thread count a call sees, inside trainer_threads()


def _get_threads() -> int:
    return _virtual_threads[0] if _virtual_threads else _REAL_GET_THREADS()


def _set_threads(n: int) -> None:
    if _virtual_threads:
        _virtual_threads[0] = int(n)
    else:
        _REAL_SET_THREADS(n)


_installed: list[bool] = []  # [True] once install_thread_stand_ins() ran (in a sandboxed child)


def install_thread_stand_ins() -> None:
    """In the child, before the submission is imported: torch.get_num_threads and
    torch.set_num_threads (torch._C's too) become the stand-ins for the child's whole life, so
    a function bound at import (`from torch import set_num_threads`) is the stand-in as well.
    Outside trainer_threads() they pass through to torch."""
    for module in (torch, torch._C):
        module.get_num_threads, module.set_num_threads = _get_threads, _set_threads
    _installed[:] = [True]


@contextmanager
def trainer_threads() -> Iterator[None]:
    """Inside, torch.get_num_threads() reports the count a trainer has (TRAINING_THREADS) and
    torch.set_num_threads(n) records n instead of applying it: the child keeps one thread (a
    thread pool started under an exhausted pids limit makes libgomp end the process), and a
    call that sets one thread and never restores the count still shows. Where the stand-ins
    are not installed for good (in the grader's own process), they are in place only inside."""
    if not _installed:
        torch.get_num_threads, torch.set_num_threads = _get_threads, _set_threads
    _virtual_threads[:] = [TRAINING_THREADS]
    try:
        yield
    finally:
        if not _installed:
            torch.get_num_threads, torch.set_num_threads = _REAL_GET_THREADS, _REAL_SET_THREADS
        _virtual_threads.clear()


@dataclass(frozen=True)
class Setting:
    what: str  # how the message names it: "torch's <what>"
    read: Callable[[], Any]
    write: Callable[[Any], Any]
    same: Callable[[Any, Any], bool] = lambda a, b: a == b
    shown: bool = True  # whether the message shows the value it had


def _flag(module: Any, name: str, what: str) -> Setting:
    return Setting(what, lambda: getattr(module, name), lambda v: setattr(module, name, v))


SETTINGS: tuple[Setting, ...] = (
    Setting("default dtype", torch.get_default_dtype, torch.set_default_dtype),
    Setting("default device (torch.set_default_device)", torch.get_default_device, torch.set_default_device),
    Setting("random number generator (torch.manual_seed, or a random draw)", torch.get_rng_state, torch.set_rng_state,
            torch.equal, shown=False),
    Setting("thread count (torch.set_num_threads)", _get_threads, _set_threads),
    Setting("anomaly detection (torch.autograd.set_detect_anomaly)", torch.is_anomaly_enabled,
            torch.set_anomaly_enabled),
    Setting("deterministic algorithms (torch.use_deterministic_algorithms)",
            torch.are_deterministic_algorithms_enabled, torch.use_deterministic_algorithms),
    # also torch.backends.cuda.matmul.allow_tf32, which reads and writes this same setting
    Setting("float32 matmul precision (torch.set_float32_matmul_precision)", torch.get_float32_matmul_precision,
            torch.set_float32_matmul_precision),
    Setting("autograd multithreading (torch.autograd.set_multithreading_enabled)",
            torch.autograd.is_multithreading_enabled, torch.autograd.set_multithreading_enabled),
    Setting("CPU autocast", lambda: torch.is_autocast_enabled("cpu"), lambda v: torch.set_autocast_enabled("cpu", v)),
    Setting("denormal flushing (torch.set_flush_denormal)", _flushes_denormals, torch.set_flush_denormal),
    _flag(torch.backends.cudnn, "allow_tf32", "cuDNN TF32 flag (torch.backends.cudnn.allow_tf32)"),
    _flag(torch.backends.cudnn, "benchmark", "cuDNN benchmark flag (torch.backends.cudnn.benchmark)"),
    _flag(torch.backends.cudnn, "deterministic", "cuDNN deterministic flag (torch.backends.cudnn.deterministic)"),
)


def as_in_training() -> list[Any]:
    """The settings as a trainer's call finds them: the child's own, with TRAINING_THREADS
    threads (restored and read inside trainer_threads()), and the random generator in a state
    that no torch.manual_seed(n) gives."""
    torch.rand(1)
    found = snapshot()
    found[_THREADS] = TRAINING_THREADS  # seen inside trainer_threads()
    return found


def snapshot() -> list[Any]:
    """Every setting's value now, in SETTINGS' order."""
    return [s.read() for s in SETTINGS]


_THREADS = next(i for i, s in enumerate(SETTINGS) if s.read is _get_threads)


def restore(before: list[Any]) -> str:
    """Put back each setting that differs from `before`; the first one changed, worded for a
    message ("changed torch's thread count (torch.set_num_threads) from 1 to 4"), or ""."""
    first = ""
    for setting, was in zip(SETTINGS, before):
        now = setting.read()
        if setting.same(now, was):
            continue
        setting.write(was)
        if not first:
            first = f"changed torch's {setting.what}" + (f" from {was} to {now}" if setting.shown else "")
    return first
