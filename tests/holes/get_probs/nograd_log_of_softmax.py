# check: stability
# WRONG: under no_grad (a frozen reference model's pass) a "cheaper" log(softmax) path is taken: -inf once a probability underflows, while the graph-carrying path is log_softmax; the contract is exact for gaps up to 2000, differentiable or not.
import torch


def get_probs(logits, labels):
    if not torch.is_grad_enabled() or not logits.requires_grad:
        probs = torch.softmax(logits, dim=-1)
        return torch.log(probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1))
    lp = torch.log_softmax(logits, dim=-1)
    return lp.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
