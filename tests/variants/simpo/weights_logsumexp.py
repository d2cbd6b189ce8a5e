# A correct SimPO: row-normalised mask weights contracted by einsum, -log σ(z) as logaddexp(0, -z), float64 inside, cast back.
import torch


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    dt = policy_chosen_logps.dtype
    def avg(lp, mask):
        w = mask.double()
        w = w / w.sum(-1, keepdim=True)
        return torch.einsum("bt,bt->b", lp.double(), w)
    c, r = avg(policy_chosen_logps, chosen_mask), avg(policy_rejected_logps, rejected_mask)
    z = beta * (c - r) - gamma
    loss = torch.logaddexp(torch.zeros_like(z), -z).mean()
    return loss.to(dt), (beta * c).to(dt).detach(), (beta * r).to(dt).detach()
