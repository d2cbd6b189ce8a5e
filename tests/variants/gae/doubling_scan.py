# A correct GAE: A_t = δ_t + c_t·A_{t+1} solved as a log-depth prefix scan by pointer doubling (no loop
# over t); products of carries may underflow to 0 harmlessly, since nothing divides by them.
import torch


def _shift(x, k):
    """x_{t+k}, 0 beyond the end."""
    if k >= x.shape[1]:
        return torch.zeros_like(x)
    return torch.cat([x[:, k:], torch.zeros_like(x[:, :k])], 1)


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards.detach() * m, values.detach() * m
    a = (r + gamma * _shift(v, 1) * _shift(m, 1) - v) * m  # δ
    c = gamma * lam * _shift(m, 1)  # carry into t from t+1
    k = 1
    while k < a.shape[1]:
        a = a + c * _shift(a, k)
        c = c * _shift(c, k)
        k *= 2
    a = a * m
    return a, (a + v) * m
