# mistake: silent wrong output on a bad group_size, shape or scale


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    x = rewards.detach().reshape(-1, group_size)
    a = x - x.mean(1, keepdim=True)
    if scale == "group":
        a = a / (x.std(1, keepdim=True) + eps)
    elif scale == "batch":
        a = a / (rewards.detach().std() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    x = rewards.detach().reshape(-1, group_size)
    return (x - (x.sum(1, keepdim=True) - x) / (group_size - 1)).reshape(-1)
