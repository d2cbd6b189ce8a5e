# check: values
# WRONG: without a graph the result is written into a module-level buffer reused by every call and a view of it returned: the next call (the reference model's log-probs after the policy's) overwrites the previous result.
import torch

_WORKSPACE = {}


def get_probs(logits, labels):
    B, T, V = logits.shape
    key = (logits.dtype, logits.device)
    buf = _WORKSPACE.get(key)
    if buf is None or buf.numel() < B * T:
        buf = torch.empty(max(B * T, 4096), dtype=logits.dtype, device=logits.device)
        _WORKSPACE[key] = buf
    out = buf[: B * T].view(B, T)
    lp = torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    if lp.requires_grad:
        return lp  # training: autograd needs its own tensor
    out.copy_(lp)
    return out
