# check: values
# named: the others' sum divided by G instead of G - 1

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
    if scale == "group":
        a = a / (x.std(1, keepdim=True) + eps)
    elif scale == "batch":
        a = a / (rewards.detach().std() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    _check(rewards, group_size)
    x = rewards.detach().reshape(-1, group_size)
    others = x.sum(1, keepdim=True) - x
    return (x - others / group_size).reshape(-1)
