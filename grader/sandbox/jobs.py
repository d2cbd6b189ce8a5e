"""The records the grader and the sandbox exchange: a run's limits, a job, and how its child ended.

Plain data, no processes: grader.sandbox.pool runs jobs and returns outcomes; the engine and
the experiments build jobs and read outcomes. Importing this module does not import torch.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Limits:
    timeout: float = 10.0  # wall-clock seconds per kata, from the moment its child starts
    memory_mb: int = 2048  # memory a child may add on top of what the zygote (torch) already holds
    output_cap: int = 1 << 20  # bytes of printed output written to the log; the rest keeps only a tail
    file_cap: int = 64 << 20  # largest file a child may write (its results, its log)
    confine: bool = True  # Landlock, where the kernel has it (capabilities and seccomp apply regardless: sandbox.confine)
    source_cap: int = 1 << 20  # largest kata file or helper module the grader reads from a workspace
    disk_cap: int = 256 << 20  # what a child may leave in its folder (any number of files) before it is an error

    @property
    def cpu_seconds(self) -> int:
        """RLIMIT_CPU: the timeout, in CPU time of all the child's threads together."""
        return max(1, math.ceil(self.timeout))


@dataclass
class Job:
    id: str
    kata: str
    dir: str
    file: str
    cases: str
    result: str
    log: str
    seed: int
    cuda: str
    limits: Limits
    experiment: dict[str, Any] | None = None  # an experiment job (grader.practice.experiment): train, do not probe
    modules: tuple[str, ...] = ()  # folders on the child's import path after its own (the workspace's helpers)

    def to_wire(self, run: str = "") -> str:
        """The job as the zygote reads it; `run` prefixes the id, so that events are matched to this run."""
        wire = {"id": run + self.id, "kata": self.kata, "dir": self.dir, "file": self.file,
                "cases": self.cases, "result": self.result, "log": self.log, "seed": self.seed,
                "cuda": self.cuda, "memory_mb": self.limits.memory_mb,
                "output_cap": self.limits.output_cap, "file_cap": self.limits.file_cap,
                "confine": self.limits.confine, "cpu_s": self.limits.cpu_seconds, "modules": list(self.modules)}
        if self.experiment is not None:
            wire["experiment"] = self.experiment
        return json.dumps(wire)


@dataclass
class Outcome:
    """How a child ended. `code` and `signal` are the zygote's report; `timed_out` is the grader's own observation."""

    job: Job
    code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    lost: str = ""  # the sandbox itself failed
    refused: str = ""  # the system refused the child's process twice (fork failed: the zygote's report)
    cpu: float | None = None  # CPU seconds the child used (the zygote's report)
    disk: int = 0  # bytes it left in its folder (measured by the engine)
    filled_disk: bool = False  # it left the most when the disk ran out under others (decided by the engine)
    room_left: bool = False  # it exited "disk full" again when rerun, with room on the disk (decided by the engine)
