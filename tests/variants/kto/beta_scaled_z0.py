# RIGHT: everything on the β scale: z0β = relu(β·mean log-ratio) (β > 0, so this is β·z0), margins β·r - z0β, kl returned as z0β / β; labels as a ±1 sign from 2·d - 1 (int arithmetic), the per-example weight picked with a [2]-tensor indexed by the label
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0:
        raise ValueError("kl_policy_logps is empty: the KL reference point needs mismatched pairs")
    if kl_ref_logps.numel() == 0:
        raise ValueError("kl_ref_logps is empty: the KL reference point needs mismatched pairs")
    with torch.no_grad():
        z0_beta = torch.relu(beta * (kl_policy_logps - kl_ref_logps).mean())
    rewards = beta * (policy_logps - ref_logps.detach())  # implicit rewards, with the graph
    label = desirable.to(torch.long) != 0
    sign = (2 * label.to(torch.int64) - 1).to(rewards.dtype)  # +1 desirable, -1 undesirable
    weights = rewards.new_tensor([undesirable_weight, desirable_weight])[label.to(torch.long)]
    losses = weights * torch.sigmoid(-sign * (rewards - z0_beta))
    return losses.mean(), rewards.detach(), z0_beta / beta
