# check: output_types
# WRONG: @torch.inference_mode() instead of no_grad: the outputs are inference tensors, which a PPO loss cannot save for backward
import torch


@torch.inference_mode()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    adv = torch.zeros_like(r)
    nxt_v, nxt_a, nxt_m = r.new_zeros(b), r.new_zeros(b), r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nxt_v * nxt_m - v[:, i]
        nxt_a = (delta + gamma * lam * nxt_m * nxt_a) * m[:, i]
        adv[:, i] = nxt_a
        nxt_v, nxt_m = v[:, i], m[:, i]
    return adv, (adv + v) * m
