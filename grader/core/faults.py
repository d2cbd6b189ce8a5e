"""Whose fault it is: the submission's data, or the grader's own code.

Two kinds of exception cross the grading core, and they must never be confused:

- `MalformedResults`: what the sandboxed child wrote is not what an honest child writes
  (missing runs, wrong types, a forged record). The child runs the submission, so this is
  the submission's doing: the kata is an `error` and the submission is charged.
- `GraderFault`: the grader's own code raised (generating cases, running the reference,
  a check, rendering). The submission is not judged and not charged: the kata's status is
  `grader_error`, the report says which stage or check failed with which exception and asks
  for a bug report, and `kata grade` exits with `EXIT_GRADER_FAULT`.

Code that reads the child's data raises `MalformedResults` for what it refuses; every other
exception inside a `stage(...)` block becomes a `GraderFault`. No torch.
"""
from __future__ import annotations

import traceback
from contextlib import contextmanager
from typing import Any, Iterator

EXIT_GRADER_FAULT = 3  # `kata grade` and `kata report`: the grader failed; no verdict on that kata


class MalformedResults(ValueError):
    """The child's results are not what an honest child writes (the submission's fault)."""


class GraderFault(Exception):
    """The grader's own code raised while `stage` (and, when known, while running `check`)."""

    def __init__(self, stage: str, cause: BaseException, check: str | None = None) -> None:
        self.stage, self.cause, self.check = stage, cause, check
        super().__init__(self.summary)

    @property
    def where(self) -> str:
        return f"check '{self.check}'" if self.check else self.stage

    @property
    def exception(self) -> str:
        said = str(self.cause).strip().splitlines()
        return f"{type(self.cause).__name__}: {said[0][:300]}" if said else type(self.cause).__name__

    @property
    def summary(self) -> str:
        return f"the grader failed in {self.where} ({self.exception})"

    @property
    def message(self) -> str:
        """What the report says: the grader's fault, not the submission's, and what to do."""
        return (f"{self.summary}. This is a bug in the grader, not in the submission, which was not judged. "
                "Please report it with this message, the command and its seed.")

    @property
    def frame(self) -> str:
        """The grader's line that raised, for the bug report."""
        tb = traceback.extract_tb(self.cause.__traceback__)
        return f"{tb[-1].filename}:{tb[-1].lineno}" if tb else ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage, "exception": self.exception, "at": self.frame}
        if self.check:
            out["check"] = self.check
        return out


@contextmanager
def stage(name: str, check: str | None = None) -> Iterator[None]:
    """Turn an exception raised by the grader's own code in this block into a `GraderFault`.

    `MalformedResults` (the submission's) and a `GraderFault` already raised pass through
    unchanged; so do KeyboardInterrupt and SystemExit (not `Exception`s).
    """
    try:
        yield
    except (GraderFault, MalformedResults):
        raise
    except Exception as exc:
        raise GraderFault(name, exc, check) from exc
