# check: values
# named: 'batch' divided by each group's std instead of the batch's

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
        a = a / (x.std(1, keepdim=True) + eps)  # the batch's groups, each by its own spread
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    _check(rewards, group_size)
    x = rewards.detach().reshape(-1, group_size)
    return (x - (x.sum(1, keepdim=True) - x) / (group_size - 1)).reshape(-1)
