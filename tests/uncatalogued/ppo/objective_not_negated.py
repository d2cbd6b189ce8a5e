# check: values
# named: policy_loss with the wrong sign (eq. 7's objective, to maximise, returned as the loss)
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    m = mask.to(logps.dtype)
    n = m.sum().clamp(min=1)
    old, A, V_old, R = (t.detach() for t in (old_logps, advantages, old_values, returns))
    ratio = torch.exp(logps - old)
    surr1, surr2 = ratio * A, ratio.clamp(1 - clip_eps, 1 + clip_eps) * A
    policy_loss = (torch.min(surr1, surr2) * m).sum() / n  # eq. 7 as written
    v_clip = V_old + (values - V_old).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.max((values - R) ** 2, (v_clip - R) ** 2) * m).sum() / n
    clip_fraction = ((surr2 < surr1).to(m.dtype) * m).sum() / n
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction.detach()
