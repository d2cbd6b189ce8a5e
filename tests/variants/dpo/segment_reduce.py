# RIGHT: the response tokens gathered by boolean indexing into one flat vector and summed per row with torch.segment_reduce (empty rows are zero-length segments), -log σ as logaddexp(0, -x)
import torch


def _seq_sum(x, mask):
    keep = mask.bool()
    return torch.segment_reduce(x[keep], "sum", lengths=keep.sum(-1))


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    chosen = _seq_sum(policy_chosen_logps - ref_chosen_logps, chosen_mask)
    rejected = _seq_sum(policy_rejected_logps - ref_rejected_logps, rejected_mask)
    x = beta * (chosen - rejected)
    loss = torch.logaddexp(torch.zeros_like(x), -x).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
