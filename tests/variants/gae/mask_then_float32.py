# RIGHT: float32 inside for either input dtype: padding zeroed with torch.where in the inputs' own dtype first (float64 padding near its max would be inf in float32, and inf·0 NaN), then a Python loop over t collecting a list (no in-place writes), cast back at the end
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    dtype = rewards.dtype
    keep = mask.bool()
    zero = torch.zeros((), dtype=dtype, device=rewards.device)
    r = torch.where(keep, rewards.detach(), zero).float()
    v = torch.where(keep, values.detach(), zero).float()
    m = keep.float()
    length = r.shape[1]
    out = [None] * length
    running = r.new_zeros(r.shape[0])
    for t in range(length - 1, -1, -1):
        if t + 1 < length:
            next_value, next_mask = v[:, t + 1], m[:, t + 1]
        else:
            next_value, next_mask = r.new_zeros(r.shape[0]), r.new_zeros(r.shape[0])
        delta = r[:, t] + gamma * next_value * next_mask - v[:, t]
        running = (delta + gamma * lam * next_mask * running) * m[:, t]
        out[t] = running
    adv = torch.stack(out, 1) if length else torch.zeros_like(r)
    return adv.to(dtype), ((adv + v) * m).to(dtype)
