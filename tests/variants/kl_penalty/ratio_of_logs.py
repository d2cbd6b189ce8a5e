# A correct kl_penalty in the blog's notation: r = exp(log r) from the log-ratio (never from
# probabilities), k3 = (r - 1) - log r.
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    log_r = ref_logps - logps
    if kind == "k1":
        return -log_r
    elif kind == "k2":
        return torch.square(log_r) * 0.5
    elif kind == "k3":
        r = torch.exp(log_r)
        return (r - 1) - torch.log(r)
    raise ValueError(f"unknown KL estimator {kind!r}; expected k1, k2 or k3")
