# RIGHT: a Welford one-pass mean/variance per group in a Python loop over completions (numerically stable), Bessel at the end; rloo via group_advantages(scale="none") · G/(G-1)
import torch


def _check(rewards, group_size):
    if rewards.ndim != 1:
        raise ValueError("rewards must be 1-D")
    if group_size < 2:
        raise ValueError("group_size must be at least 2")
    if len(rewards) % group_size:
        raise ValueError("B must be a multiple of group_size")


def _welford(x):  # x [n, G] -> mean [n, 1], M2 [n, 1]
    mean = torch.zeros_like(x[:, :1])
    m2 = torch.zeros_like(x[:, :1])
    for k in range(x.shape[1]):
        xk = x[:, k:k + 1]
        delta = xk - mean
        mean = mean + delta / (k + 1)
        m2 = m2 + delta * (xk - mean)
    return mean, m2


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"bad scale {scale!r}")
    _check(rewards, group_size)
    x = rewards.detach().view(-1, group_size)
    mean, m2 = _welford(x)
    a = x - mean
    if scale == "group":
        a = a / ((m2 / (group_size - 1)).sqrt() + eps)
    elif scale == "batch":
        _, m2b = _welford(x.reshape(1, -1))
        a = a / ((m2b / (x.numel() - 1)).sqrt() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    _check(rewards, group_size)
    return group_advantages(rewards, group_size, "none") * (group_size / (group_size - 1))
