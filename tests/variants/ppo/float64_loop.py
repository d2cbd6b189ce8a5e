# A correct PPO loss computed in float64 inside whatever the inputs' dtype (cast back at the
# end), its token sums accumulated in a Python loop over positions t, RNN-style.
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    dt = logps.dtype
    f = lambda x: x.detach().double()
    lp, v = logps.double(), values.double()
    olp, A, ov, R = f(old_logps), f(advantages), f(old_values), f(returns)
    m = mask.double()
    B, T = logps.shape
    pol = lp.new_zeros(())
    val = lp.new_zeros(())
    clipped_count = lp.new_zeros(()).detach()
    for t in range(T):
        r = torch.exp(lp[:, t] - olp[:, t])
        u = -A[:, t] * r
        c = -A[:, t] * torch.clamp(r, 1 - clip_eps, 1 + clip_eps)
        pol = pol + (torch.max(u, c) * m[:, t]).sum()
        vc = ov[:, t] + torch.clamp(v[:, t] - ov[:, t], -value_clip_eps, value_clip_eps)
        val = val + (torch.max((v[:, t] - R[:, t]) ** 2, (vc - R[:, t]) ** 2) * m[:, t]).sum()
        clipped_count = clipped_count + ((c > u).double() * m[:, t]).sum().detach()
    n = m.sum().clamp(min=1)
    policy_loss = pol / n
    value_loss = val / (2 * n)
    loss = policy_loss + vf_coef * value_loss
    return loss.to(dt), policy_loss.to(dt), value_loss.to(dt), (clipped_count / n).to(dt)
