# RIGHT: mean_kl and clip_fraction computed under torch.inference_mode() from detached inputs and .clone()d outside it (an ordinary tensor), the loss as the reference writes it
import torch

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo")
LEVELS = ("token", "sequence")


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.shape != (B,):
        raise ValueError(f"advantages must have shape [{B}], got {list(advantages.shape)}")
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"unknown loss_type {loss_type!r}")
    if importance_sampling_level not in LEVELS:
        raise ValueError(f"unknown importance_sampling_level {importance_sampling_level!r}")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 needs ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length below T")
    m = mask.to(logps.dtype)
    cnt = m.sum(-1)
    adv = advantages.detach()[:, None]
    lr = logps - old_logps.detach()
    lw = lr if importance_sampling_level == "token" else ((lr * m).sum(-1) / cnt.clamp(min=1))[:, None]
    ratio = lw.exp()
    per = -torch.min(ratio * adv, ratio.clamp(1 - epsilon_low, 1 + epsilon_high) * adv).expand(B, T)
    if ref_logps is not None:
        d = ref_logps.detach() - logps
        per = per + beta * (d.exp() - d - 1)
    if loss_type == "grpo":
        loss = ((per * m).sum(-1) / cnt.clamp(min=1)).mean()
    elif loss_type == "bnpo":
        loss = (per * m).sum() / m.sum().clamp(min=1)
    else:
        loss = (per * m).sum() / (B * (T if max_completion_length is None else max_completion_length))
    with torch.inference_mode():
        md = m.detach()
        n = md.sum().clamp(min=1)
        if ref_logps is not None:
            dd = ref_logps.detach() - logps.detach()
            mean_kl = ((dd.exp() - dd - 1) * md).sum() / n
        else:
            mean_kl = torch.zeros((), dtype=logps.dtype, device=logps.device)
        r = ratio.detach()
        a = advantages.detach()[:, None]
        flags = ((r > 1 + epsilon_high) & (a > 0)) | ((r < 1 - epsilon_low) & (a < 0))
        clip_fraction = (flags.to(logps.dtype).expand(B, T) * md).sum() / n
    return loss, mean_kl.clone(), clip_fraction.clone()
