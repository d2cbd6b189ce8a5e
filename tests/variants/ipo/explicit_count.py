# A correct IPO: (x ** 2), the count clamped with torch.maximum, the batch mean as sum / B.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dtype = policy_chosen_logps.dtype
    logps = [policy_chosen_logps - ref_chosen_logps, policy_rejected_logps - ref_rejected_logps]
    masks = [chosen_mask.to(dtype), rejected_mask.to(dtype)]
    chosen, rejected = [(lr * m).sum(1) / torch.maximum(m.sum(1), torch.ones_like(m[:, 0])) for lr, m in zip(logps, masks)]
    margin = chosen - rejected
    loss = ((margin - 1.0 / (2.0 * beta)) ** 2).sum() / margin.shape[0]
    return loss, (chosen * beta).detach(), (rejected * beta).detach()
