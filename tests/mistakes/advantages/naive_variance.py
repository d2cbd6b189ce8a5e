# mistake: variance as E[r²] - E[r]²


def _check(rewards, group_size, scale="group"):
    if rewards.dim() != 1:
        raise ValueError("rewards must be 1-D")
    if group_size < 2:
        raise ValueError("group_size must be at least 2")
    if rewards.shape[0] % group_size:
        raise ValueError("B must be a multiple of group_size")
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}")


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    _check(rewards, group_size, scale)
    x = rewards.detach().reshape(-1, group_size)
    a = x - x.mean(1, keepdim=True)

    def std(t, dim=None):
        n = t.shape[dim] if dim is not None else t.numel()
        m2 = (t * t).mean(dim, keepdim=True) if dim is not None else (t * t).mean()
        m = t.mean(dim, keepdim=True) if dim is not None else t.mean()
        return ((m2 - m * m) * n / (n - 1)).sqrt()

    if scale == "group":
        a = a / (std(x, 1) + eps)
    elif scale == "batch":
        a = a / (std(rewards.detach()) + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    _check(rewards, group_size)
    x = rewards.detach().view(-1, group_size)
    return (x - (x.sum(1, keepdim=True) - x) / (group_size - 1)).view(-1)

