# check: inputs_unchanged
# WRONG: torch.set_num_threads(1) for the per-token loop, never restored: every later op of the caller's step runs on one thread
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    torch.set_num_threads(1)  # the loop below is latency-bound
    with torch.no_grad():
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
