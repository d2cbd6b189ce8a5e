"""A cohort gathered from JSON reports that people's CI jobs wrote (`kata report --from-json`). No torch.

Nobody's code runs again: each file is a `kata grade --json` document (downloaded artifacts).
The person is the file's name without `.json`, or, for the name the generated workflows use
(`kata-results.json`, one per downloaded artifact folder), the folder's name. The grader
version and the seed of every document are compared: results of different versions or
seeds were judged on different terms, and the report says so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__, registry
from grader.core.results import Report
from grader.practice.cohort import Cohort, Member
from grader.sandbox.untrusted import encodable

GENERIC_NAMES = {"kata-results", "results", "kata", "report"}
MAX_BYTES = 64 << 20  # a report of 13 katas is tens of kB; anything near this is not one


class GatherError(ValueError):
    """A file that is not a `kata grade --json` report; the message names it and says why."""


@dataclass
class Gathered:
    cohort: Cohort
    warnings: list[str] = field(default_factory=list)


def person_of(path: Path) -> str:
    stem = path.name[:-5] if path.name.endswith(".json") else path.name
    return encodable(path.resolve().parent.name if stem in GENERIC_NAMES else stem)  # a name with byte \xff


def load_report(path: Path) -> Report:
    try:
        if not path.is_file():
            raise GatherError(f"'{path}' is not a regular file")
        if path.stat().st_size > MAX_BYTES:
            raise GatherError(f"'{path}' is larger than {MAX_BYTES >> 20} MB; not a kata report")
        doc = json.loads(path.read_text())
        report = Report.from_dict(doc)
    except GatherError:
        raise
    except OSError as exc:
        raise GatherError(f"cannot read '{path}': {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise GatherError(f"'{path}' is not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:  # nesting past the parser's stack
        raise GatherError(f"'{path}' is not the JSON of `kata grade --json` (nested too deeply)") from None
    except (LookupError, TypeError, ValueError, ArithmeticError, AssertionError) as exc:  # 1e400 as a seed: inf
        raise GatherError(f"'{path}' is not the JSON of `kata grade --json` ({type(exc).__name__}: "
                          f"{str(exc)[:200]})") from None
    return report


def gather(paths: list[Path]) -> Gathered:
    """Every file as one person's report; raises GatherError on the first file that is not one."""
    reports = [load_report(p) for p in paths]
    people = [person_of(p) for p in paths]
    people = [n if people.count(n) == 1 else encodable(str(p)) for n, p in zip(people, paths)]  # two alices: paths
    seen = {k.name for r in reports for k in r.katas}
    kata_names = [n for n in registry.names() if n in seen] + sorted(seen - set(registry.names()))
    seeds = sorted({r.seed for r in reports})
    warnings = []
    versions: dict[str, list[str]] = {}
    for person, r in zip(people, reports):
        versions.setdefault(r.version, []).append(person)
    if len(versions) > 1 or (versions and next(iter(versions)) != __version__):
        listed = "; ".join(f"{v}: {', '.join(who)}" for v, who in sorted(versions.items()))
        warnings.append(f"these results come from grader versions other than this one ({__version__}): {listed}. "
                        "Checks and cases may differ between versions.")
    if len(seeds) > 1:
        warnings.append(f"the results were graded with different seeds ({', '.join(map(str, seeds))}): each person's "
                        "inputs differed. Give `kata ci --seed N` to grade everyone on the same inputs.")
    cohort = Cohort([Member(p, r) for p, r in zip(people, reports)], kata_names, seeds[0] if seeds else 0)
    return Gathered(cohort, warnings)
