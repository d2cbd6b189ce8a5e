# A correct kl_penalty: a table of estimators, k3 written as e^d - 1 - d (accurate enough for the
# contract's tolerance; only the advisory k3_precision check objects to it).
import torch

ESTIMATORS = {
    "k1": lambda d: -d,
    "k2": lambda d: d.pow(2) / 2,
    "k3": lambda d: torch.exp(d) - 1 - d,
}


def kl_penalty(logps, ref_logps, kind="k3"):
    try:
        estimator = ESTIMATORS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"kind must be one of {sorted(ESTIMATORS)}, got {kind!r}") from None
    return estimator(ref_logps - logps)
