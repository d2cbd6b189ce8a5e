"""The one schema of a behaviour check's `details`, part of the JSON the README calls stable.

    {"series": [{"name": "π(y_l)", "param": {"β": 0.1}, "x": "step", "values": [0.029, ...]}, ...],
     "judged": {"final_pi_rejected_beta_0.1": 0.00024, ...}}

`series` are the curves a behaviour run recorded (sampled to at most 40 points, the last one
always kept); `param` holds what distinguishes one curve from another of the same name;
`judged` are the numbers the verdict was decided on, under names a program can rely on.
The renderer titles curves from `name` and `param` and never parses keys.
"""
from __future__ import annotations

import math
from typing import Any, Iterable


def sample(xs: list[float], points: int = 40) -> list[float]:
    """Evenly spaced values for a curve, always including the last."""
    if len(xs) <= points:
        return [round(x, 6) for x in xs]
    idx = [round(i * (len(xs) - 1) / (points - 1)) for i in range(points)]
    return [round(xs[i], 6) for i in idx]


def series(name: str, values: Iterable[float], x: str = "step", **param: Any) -> dict[str, Any]:
    """One curve: what is plotted (`name`), against what (`x`), for which setting (`param`)."""
    return {"name": name, "param": dict(param), "x": x, "values": sample([float(v) for v in values])}


def details(curves: Iterable[dict[str, Any]] = (), **judged: Any) -> dict[str, Any]:
    """A behaviour check's `details`: its curves and the numbers it judged (non-finite as strings)."""
    return {"series": list(curves), "judged": {k: _plain(v) for k, v in judged.items()}}


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)  # strict JSON has no NaN or Infinity
    return v


def curves_of(found: Any) -> list[dict[str, Any]]:
    """The well-formed curves of a check's `details` (a reader never trusts a shape it did not check)."""
    listed = found.get("series") if isinstance(found, dict) else None
    return [c for c in listed or () if isinstance(c, dict) and isinstance(c.get("name"), str)
            and isinstance(c.get("param"), dict) and isinstance(c.get("values"), list)
            and all(isinstance(v, (int, float)) for v in c["values"])] if isinstance(listed, list) else []


def curve(found: dict[str, Any], name: str, **param: Any) -> list[float]:
    """The values of the curve called `name` with exactly `param`; KeyError when there is none."""
    for c in curves_of(found):
        if c["name"] == name and c["param"] == param:
            return c["values"]
    raise KeyError(f"no curve {name!r} with {param} in {[(c['name'], c['param']) for c in curves_of(found)]}")


def label(c: dict[str, Any]) -> str:
    """How a person reads a curve: its name, then its parameters ("π(y_l) β=0.1")."""
    said = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in c.get("param", {}).items()]
    return " ".join([c["name"], *said])
