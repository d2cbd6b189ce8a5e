# A correct kl_penalty: k3 through the identity e^d - 1 = 2·sinh(d/2)·e^(d/2) (exact, keeps the
# small-|d| digits), dispatch with match.
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    match kind:
        case "k1" | "k2" | "k3":
            pass
        case _:
            raise ValueError(f"kind must be one of k1, k2, k3, not {kind!r}")
    d = torch.sub(ref_logps, logps)
    match kind:
        case "k1":
            return torch.neg(d)
        case "k2":
            return torch.square(d) / 2
        case _:
            half = d / 2
            return 2 * torch.sinh(half) * torch.exp(half) - d
