# check: keeps_graph
# WRONG: with vf_coef == 0 value_loss is computed under torch.no_grad() and comes back without a graph (statement: value_loss keeps its graph)
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    n = m.sum().clamp(min=1.0)
    ratio = torch.exp(logps - old_logps)
    u = -advantages * ratio
    c = -advantages * ratio.clamp(1 - clip_eps, 1 + clip_eps)
    policy_loss = (torch.maximum(u, c) * m).sum() / n

    def value_term():
        v_clip = old_values + (values - old_values).clamp(-value_clip_eps, value_clip_eps)
        return 0.5 * (torch.maximum((values - returns) ** 2, (v_clip - returns) ** 2) * m).sum() / n

    if vf_coef == 0:  # not weighted in the loss: save the critic's graph
        with torch.no_grad():
            value_loss = value_term()
        loss = policy_loss + 0.0 * value_loss
    else:
        value_loss = value_term()
        loss = policy_loss + vf_coef * value_loss
    clip_fraction = ((c > u).to(logps.dtype) * m).sum().div(n).detach()
    return loss, policy_loss, value_loss, clip_fraction
