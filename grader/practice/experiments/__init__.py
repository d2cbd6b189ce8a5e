"""The experiment records, one module each; `EXPERIMENTS` maps every record's name to it.

A module here defines `EXPERIMENT` (a grader.practice.experiments.record.Experiment); this package
finds it, so adding an experiment is adding a file. The records never import torch at import
time (their training functions import it when a child calls them).
"""
from __future__ import annotations

import importlib
import pkgutil

from grader.practice.experiments.record import Experiment


def _records() -> dict[str, Experiment]:
    found: dict[str, Experiment] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        record = getattr(importlib.import_module(f"{__name__}.{info.name}"), "EXPERIMENT", None)
        if isinstance(record, Experiment):
            assert record.name not in found, f"two experiments are named {record.name!r}"
            found[record.name] = record
    return found


EXPERIMENTS: dict[str, Experiment] = _records()
