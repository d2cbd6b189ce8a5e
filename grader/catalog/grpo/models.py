"""grpo: the catalogued mistakes' models, each one switch away from the contract's computation.

`_grpo` is the contract written with every switch off; a model turns on the switch of its
mistake and returns all three outputs, so the grader can tell which mistake an output matches.
The models are written the way the mistakes are usually written (a bare [B] advantage
broadcast as it comes, a reduction over T), so they also run where the mistake changes shapes.
"""
from __future__ import annotations

from typing import Any, Callable

import torch


def _grpo(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
          loss_type="grpo", max_completion_length=None, importance_sampling_level="token", *,
          inverted=False, swapped=False, clamp=None, kl="k3", kl_outside=None, adv_row=False, grpo_over_t=False,
          dr_over="constant", eps_high_ignored=None, seq_over_t=None, clip_any_sign=False, probabilities=None,
          length_ignored=False, clip_per_completion=None, longest=False, kl_minus=False, reduce_as=None,
          unclamped=None, kl_needs_beta=False, kl_in_advantage=False, clipped_detached=False):
    B, T = logps.shape
    m = mask.to(logps.dtype)
    count = m.sum(-1)
    total = m.sum() if unclamped else m.sum().clamp(min=1)
    at_least_one = (lambda x: x) if unclamped == "all" else (lambda x: x.clamp(min=1))
    adv = advantages.unsqueeze(0) if adv_row else advantages.unsqueeze(1)  # [1, B] (wrong) or [B, 1]
    log_ratio = (old_logps - logps) if inverted else (logps - old_logps)
    if importance_sampling_level == "sequence":
        if seq_over_t == "masked":
            log_ratio = ((log_ratio * m).sum(-1) / T).unsqueeze(1)
        elif seq_over_t == "padding":
            log_ratio = log_ratio.mean(-1).unsqueeze(1)
        else:
            log_ratio = ((log_ratio * m).sum(-1) / at_least_one(count)).unsqueeze(1)
        ratio = log_ratio.exp()
    elif probabilities is not None:
        ratio = logps.exp() / old_logps.exp()
    else:
        ratio = log_ratio.exp()
    if kl_in_advantage and ref_logps is not None:  # A - β·k3 per token, a constant of the surrogate
        d0 = (ref_logps - logps).detach()
        adv = adv - beta * (d0.exp() - d0 - 1)
    high = epsilon_low if eps_high_ignored else epsilon_high
    clip_high = epsilon_low if eps_high_ignored == "everywhere" else epsilon_high
    if clamp == "advantage":
        pg = torch.min(ratio * adv, ratio * adv.clamp(1 - epsilon_low, 1 + high))
    elif clamp == "product":
        pg = torch.min(ratio * adv, (ratio * adv).clamp(1 - epsilon_low, 1 + high))
    else:
        clipped = ratio.clamp(1 - epsilon_low, 1 + high)
        clipped = clipped.detach() if clipped_detached else clipped
        pg = torch.max(ratio * adv, clipped * adv) if swapped else torch.min(ratio * adv, clipped * adv)
    per_token = -pg
    sign = advantages.unsqueeze(0) if adv_row else advantages.unsqueeze(1)  # the clip fraction's, never shifted
    if ref_logps is not None and not (kl_needs_beta and beta == 0):
        d = ref_logps - logps
        if kl == "flipped":
            d = -d
        if kl == "k1":
            k = -d
        elif kl == "k2":
            k = 0.5 * d * d
        elif probabilities == "both":
            k = ref_logps.exp() / logps.exp() - d - 1
        else:
            k = d.exp() - d - 1
        mean_kl = k.mean() if kl_outside else (k * m).sum() / total
    else:
        k, mean_kl = None, logps.new_zeros(())
    if k is not None and kl_outside in ("loss", "term"):
        pg_masked = per_token * m
        if kl_outside == "loss":  # the KL added after masking the policy term: padding counts
            per_token_masked = pg_masked + beta * k
        else:
            per_token_masked = pg_masked
    else:
        if k is not None and not kl_in_advantage:
            per_token = per_token + (-beta if kl_minus else beta) * k
        per_token_masked = per_token * m
    n = T if max_completion_length is None or length_ignored else max_completion_length
    if longest and max_completion_length is None:
        n = count.max().clamp(min=1)
    reduction = loss_type
    if loss_type == "dr_grpo" and dr_over != "constant":
        reduction = dr_over
    reduction = (reduce_as or {}).get(loss_type, reduction)  # the conventions' reductions (grpo/conventions.py)
    if reduction == "seq_sum":
        loss = per_token_masked.sum(-1).mean()
    elif reduction == "padded":
        loss = per_token_masked.sum() / (B * T)
    elif reduction == "over_length":
        loss = per_token_masked.sum() / n
    elif reduction == "grpo":
        loss = (per_token_masked.sum(-1) / (T if grpo_over_t else at_least_one(count))).mean()
    elif reduction == "bnpo":
        loss = per_token_masked.sum() / total
    else:
        loss = per_token_masked.sum() / (B * n)
    if k is not None and kl_outside == "term":  # a separate, unmasked KL term
        loss = loss + beta * k.mean()
    if clip_any_sign:
        is_clipped = (ratio > 1 + clip_high) | (ratio < 1 - epsilon_low)
    else:
        is_clipped = ((ratio > 1 + clip_high) & (sign > 0)) | ((ratio < 1 - epsilon_low) & (sign < 0))
    clip_fraction = (is_clipped.to(logps.dtype) * m).sum() / total
    if clip_per_completion and importance_sampling_level == "sequence":  # [B, 1]: one entry per completion
        counted = is_clipped.to(logps.dtype).squeeze(1)
        clip_fraction = counted.mean() if clip_per_completion == "all" else \
            (counted * (count > 0)).sum() / (count > 0).sum().clamp(min=1)
    return {"loss": loss, "mean_kl": mean_kl, "clip_fraction": clip_fraction}


def _model(*variants: dict[str, Any]) -> Callable[..., Any]:
    """A mistake's model: one output dict per common way of writing it."""
    def model(*args: Any, **options: Any) -> Any:
        out = [_grpo(*args, **options, **v) for v in variants]
        return out[0] if len(out) == 1 else out
    return model


MODELS: dict[str, Callable[..., Any]] = {
    "ratio inverted": _model({"inverted": True}),
    "min and max swapped": _model({"swapped": True}),
    "clamp applied to the advantage": _model({"clamp": "advantage"}, {"clamp": "product"}),
    "k3 with the sign of d flipped": _model({"kl": "flipped"}),
    "k1 instead of k3": _model({"kl": "k1"}),
    "KL term outside the mask": _model({"kl_outside": "loss"}, {"kl_outside": "term"}, {"kl_outside": "mean_kl"}),
    "advantages broadcast along the wrong dimension": _model({"adv_row": True}),
    "grpo averaged over the padded length": _model({"grpo_over_t": True}),
    "dr_grpo divided by the real lengths": _model({"dr_over": "bnpo"}, {"dr_over": "grpo"}),
    "max_completion_length ignored": _model({"length_ignored": True}),
    "dr_grpo normalised by the longest completion": _model({"longest": True}),
    "epsilon_high ignored": _model({"eps_high_ignored": "everywhere"}, {"eps_high_ignored": "clamp"}),
    "sequence ratio averaged over padding": _model({"seq_over_t": "masked"}, {"seq_over_t": "padding"}),
    "clip fraction ignores the advantage's sign": _model({"clip_any_sign": True}),
    "clip fraction per completion under \"sequence\"": _model({"clip_per_completion": "all"},
                                                             {"clip_per_completion": "non-empty"}),
    "ratio from probabilities": _model({"probabilities": "ratio"}, {"probabilities": "both"}),
    "no clamp (NaN with no response token)": _model({"unclamped": "total"}, {"unclamped": "all"}),
    "mean_kl only when beta > 0": _model({"kl_needs_beta": True}),
    "KL folded into the advantage": _model({"kl_in_advantage": True}),
    "clipped branch detached": _model({"clipped_detached": True}),
}
