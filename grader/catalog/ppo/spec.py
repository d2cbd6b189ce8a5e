"""ppo: the catalogued mistakes' models, row combination and the spec; the cases are in
`cases.py`, the behaviour run in `behaviour.py`."""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.catalog.ppo.behaviour import PPOBehaviour
from grader.catalog.ppo.conventions import CONVENTIONS
from grader.catalog.ppo.cases import NAMES, check_margins, make_cases  # noqa: F401 (check_margins: tests)
from grader.checks.cases import Case
from grader.checks.function import FunctionSpec, Param

F64 = torch.float64


# ---------------------------------------------------------------- the contract, in pieces
def token_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """[B, T] -> []: the masked sum over the batch divided by max(count, 1)."""
    m = m.to(x.dtype)
    return (x * m).sum() / m.sum().clamp(min=1)


def padded_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (x * m.to(x.dtype)).sum() / x.numel()


def sequence_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    m = m.to(x.dtype)
    return ((x * m).sum(-1) / m.sum(-1).clamp(min=1)).mean()


def policy_terms(ratio, a, eps):
    return -a * ratio, -a * ratio.clamp(1 - eps, 1 + eps)  # unclipped, clipped: [B, T] each


def value_terms(v, ov, ret, eps_v, centre=None):
    centre = ov if centre is None else centre
    v_clip = centre + (v - centre).clamp(-eps_v, eps_v)
    return (v - ret) ** 2, (v_clip - ret) ** 2


def outputs(lp, olp, a, v, ov, ret, m, clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1, *, ratio=None,
            policy=None, value=None, reduce=token_mean, half=0.5, clipped_if=None) -> dict[str, torch.Tensor]:
    """The four outputs, with any piece replaced: the ratio, the per-token policy or value term
    (functions of the two terms), the reduction, the ½, the clip_fraction's test."""
    ratio = torch.exp(lp - olp) if ratio is None else ratio
    u, c = policy_terms(ratio, a, clip_eps)
    pl = reduce((policy or torch.maximum)(u, c), m)
    vl = half * reduce((value or torch.maximum)(*value_terms(v, ov, ret, value_clip_eps)), m)
    clipped = (clipped_if or torch.gt)(c, u)
    return {"loss": pl + vf_coef * vl, "policy_loss": pl, "value_loss": vl,
            "clip_fraction": reduce(clipped.to(lp.dtype), m)}


def pick(out: dict[str, torch.Tensor], *names: str) -> dict[str, torch.Tensor]:
    return {k: out[k] for k in names}


POLICY = ("loss", "policy_loss")
VALUE = ("loss", "value_loss")


def _with_ratio(ratio_of: Callable[..., torch.Tensor]) -> Callable[..., Any]:
    """A wrong ratio, with the clip_fraction computed from it or (a separate computation) right."""
    def model(*a, **o):
        out = outputs(*a, **o, ratio=ratio_of(a[0], a[1]))
        return [pick(out, *POLICY, "clip_fraction"), pick(out, *POLICY)]
    return model


def _advantage_clipped(lp, olp, a, *rest, clip_eps=0.2, **o):
    ratio = torch.exp(lp - olp)
    variants = []
    for a_clip in (a.clamp(1 - clip_eps, 1 + clip_eps), a.clamp(-clip_eps, clip_eps)):
        u, c = -a * ratio, -a_clip * ratio
        pl = token_mean(torch.maximum(u, c), rest[-1])
        out = outputs(lp, olp, a, *rest, clip_eps=clip_eps, **o)
        loss = out["loss"] - out["policy_loss"] + pl
        variants.append({"loss": loss, "policy_loss": pl})
        variants.append({"loss": loss, "policy_loss": pl, "clip_fraction": token_mean((c > u).to(lp.dtype), rest[-1])})
    return variants


def _reduced(reduce):
    def model(*a, **o):
        out = outputs(*a, **o, reduce=reduce)
        return [pick(out, *POLICY, "value_loss", "clip_fraction"), pick(out, *POLICY, "value_loss")]
    return model


def _around_returns(lp, olp, a, v, ov, ret, m, **o):
    return pick(outputs(lp, olp, a, v, ret, ret, m, **o), *VALUE)  # old_values replaced by the returns


def _vf_wrong(*a, vf_coef=0.1, **o):
    out = outputs(*a, vf_coef=vf_coef, **o)
    return {"loss": vf_coef * out["policy_loss"] + out["value_loss"]}


def _outside_band(lp, olp, a, v, ov, ret, m, clip_eps=0.2, **o):
    ratio = torch.exp(lp - olp)
    return {"clip_fraction": token_mean(((ratio - 1).abs() > clip_eps).to(lp.dtype), m)}


def _unmasked(*a, **o):
    out = outputs(*a, **o, reduce=lambda x, m: x.mean())
    return [pick(out, *POLICY, "value_loss", "clip_fraction"), pick(out, *POLICY, "value_loss")]


def _nonzero_count(*a, **o):
    """The count of non-zero per-token terms as the denominator, for the policy term or for both."""
    nonzero = lambda x, m: (x * m.to(x.dtype)).sum() / ((x * m.to(x.dtype)) != 0).sum().clamp(min=1)
    both, policy = outputs(*a, **o, reduce=nonzero), outputs(*a, **o)
    pl = nonzero(torch.maximum(*policy_terms(torch.exp(a[0] - a[1]), a[2], o.get("clip_eps", 0.2))), a[6])
    return [pick(both, *POLICY, "value_loss"),
            {"loss": policy["loss"] - policy["policy_loss"] + pl, "policy_loss": pl}]


def _log_ratio_clipped(lp, olp, a, *rest, clip_eps=0.2, **o):
    m = rest[-1]
    u, c = -a * torch.exp(lp - olp), -a * torch.exp((lp - olp).clamp(-clip_eps, clip_eps))
    pl = token_mean(torch.maximum(u, c), m)
    out = outputs(lp, olp, a, *rest, clip_eps=clip_eps, **o)
    policy = {"loss": out["loss"] - out["policy_loss"] + pl, "policy_loss": pl}
    return [dict(policy, clip_fraction=token_mean((c > u).to(lp.dtype), m)), policy]


def _whitened(lp, olp, a, v, ov, ret, m, **o):
    mf = m.to(a.dtype)
    mean = token_mean(a, m)
    var = token_mean((a - mean) ** 2, m)
    count = mf.sum().clamp(min=1)
    variants = []
    for a_w in ((a - mean) / (var.sqrt() + 1e-8), (a - mean) / ((var * count / (count - 1).clamp(min=1)).sqrt() + 1e-8),
                (a - a.mean()) / (((a - a.mean()) ** 2).sum() / (a.numel() - 1)).sqrt().add(1e-8)):  # torch.std
        out = outputs(lp, olp, a_w, v, ov, ret, m, **o)
        variants += [pick(out, *POLICY, "clip_fraction"), pick(out, *POLICY)]
    return variants


MODELS: dict[str, Callable[..., Any]] = {
    "min of the negated terms": lambda *a, **o: pick(outputs(*a, **o, policy=torch.minimum), *POLICY),
    "clipping the advantage instead of the ratio": _advantage_clipped,
    "ratio = logps / old_logps": _with_ratio(lambda lp, olp: lp / olp),
    "ratio inverted": _with_ratio(lambda lp, olp: torch.exp(olp - lp)),
    "mean over the padded length": _reduced(padded_mean),
    "per-sequence mean then batch mean": _reduced(sequence_mean),
    "value clipping around returns instead of old_values": _around_returns,
    "the ½ missing": lambda *a, **o: pick(outputs(*a, **o, half=1.0), *VALUE),
    "clip_fraction counting ties": lambda *a, **o: pick(outputs(*a, **o, clipped_if=torch.ge), "clip_fraction"),
    "clip_fraction counting every ratio outside the band": _outside_band,
    "vf_coef on the wrong term": _vf_wrong,
    "min of the two value terms": lambda *a, **o: pick(outputs(*a, **o, value=torch.minimum), *VALUE),
    "mask not applied": _unmasked,
    "non-zero terms counted as tokens": _nonzero_count,
    "token count not clamped to 1": _reduced(lambda x, m: (x * m.to(x.dtype)).sum() / m.to(x.dtype).sum()),
    "log-ratio clipped to ±ε": _log_ratio_clipped,
    "advantages whitened inside the loss": _whitened,
    "ratio from probabilities": _with_ratio(lambda lp, olp: torch.exp(lp) / torch.exp(olp)),
}


# ---------------------------------------------------------------- checks of this kata
def combine_rows(rows: list[list[torch.Tensor]], case: Case) -> list[torch.Tensor]:
    """Every output is a token mean over the batch, so the batch's is each row's weighted by its
    response tokens (an empty row weighs 0), over max(total, 1)."""
    counts = case.inputs["mask"].to(F64).sum(-1)  # [B]
    total = counts.sum().clamp(min=1)
    out = []
    for j in range(4):
        per_row = torch.stack([r[j].to(F64) for r in rows])  # [B]
        out.append(((per_row * counts).sum() / total).to(case.dtype))
    return out


SPEC = FunctionSpec(
    function="ppo_loss",
    params=tuple(Param(n) for n in NAMES) + (Param("clip_eps", 0.2), Param("value_clip_eps", 0.2),
                                             Param("vf_coef", 0.1)),
    outputs=("loss", "policy_loss", "value_loss", "clip_fraction"),
    grad_inputs=("logps", "values"),
    make_cases=make_cases,
    loss="loss",
    masks={"logps": "mask", "values": "mask"},
    detached=("clip_fraction",),
    constants=("old_logps", "advantages", "old_values", "returns"),
    models=MODELS,
    behaviour=PPOBehaviour(),
    combine_rows=combine_rows,
    conventions=CONVENTIONS,
    # The statement: policy_loss and value_loss keep their graph too (with vf_coef = 0 the critic
    # is trained elsewhere, from value_loss's own graph, which a shortcut may cut).
    graph_outputs_extra=("policy_loss", "value_loss"),
)
