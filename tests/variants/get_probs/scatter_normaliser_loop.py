# RIGHT: label logit minus a log-sum-exp computed by a Python loop over vocabulary chunks of 4096 with a properly rescaled running sum (online softmax), in float64 inside.
import torch

CHUNK = 4096


def get_probs(logits, labels):
    x = logits.double()
    m = torch.full(x.shape[:-1], float("-inf"), dtype=torch.float64, device=x.device)
    s = torch.zeros(x.shape[:-1], dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[-1], CHUNK):
        part = x[..., start:start + CHUNK]
        new_m = torch.maximum(m, part.amax(-1))
        safe = torch.where(torch.isfinite(new_m), new_m, torch.zeros_like(new_m))
        s = s * torch.exp(torch.where(torch.isfinite(m), m - safe, torch.full_like(m, float("-inf")))) \
            + torch.exp(part - safe.unsqueeze(-1)).sum(-1)
        m = new_m
    lse = torch.log(s) + torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    picked = x.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return (picked - lse).to(logits.dtype)
