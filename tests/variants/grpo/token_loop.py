# RIGHT: a plain Python double loop over completions and positions on 0-dim tensors, eq. 3 transcribed token by
# token (the KL with torch.expm1), partial sums stacked; slow but right, and within the time limit at the contract's sizes
import torch


def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04, epsilon_low=0.2, epsilon_high=0.2,
              loss_type="grpo", max_completion_length=None, importance_sampling_level="token"):
    B, T = logps.shape
    if advantages.shape != (B,):
        raise ValueError("advantages must be [B]")
    if loss_type not in ("grpo", "bnpo", "dr_grpo"):
        raise ValueError("unknown loss_type")
    if importance_sampling_level not in ("token", "sequence"):
        raise ValueError("unknown importance_sampling_level")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 but no ref_logps")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError("max_completion_length < T")
    on = mask.bool().tolist()
    old = old_logps.detach()
    ref = None if ref_logps is None else ref_logps.detach()
    adv = advantages.detach()
    row_sums, kls, clips = [], [], []
    n_tokens = 0
    for i in range(B):
        toks = [t for t in range(T) if on[i][t]]
        n_tokens += len(toks)
        a = adv[i]
        if importance_sampling_level == "sequence" and toks:
            s = torch.exp(torch.stack([logps[i, t] - old[i, t] for t in toks]).mean())
        terms = []
        for t in toks:
            r = s if importance_sampling_level == "sequence" else torch.exp(logps[i, t] - old[i, t])
            term = -torch.min(r * a, torch.clamp(r, 1 - epsilon_low, 1 + epsilon_high) * a)
            clips.append(bool((r > 1 + epsilon_high and a > 0) or (r < 1 - epsilon_low and a < 0)))
            if ref is not None:
                d = ref[i, t] - logps[i, t]
                k3 = torch.expm1(d) - d
                kls.append(k3.detach())
                term = term + beta * k3
            terms.append(term)
        row_sums.append((torch.stack(terms).sum(), len(toks)) if terms else (logps[i].sum() * 0, 0))
    dt = logps.dtype
    if loss_type == "grpo":
        loss = torch.stack([s / max(n, 1) for s, n in row_sums]).sum() / B
    else:
        total = torch.stack([s for s, _ in row_sums]).sum()
        L = T if max_completion_length is None else max_completion_length
        loss = total / max(n_tokens, 1) if loss_type == "bnpo" else total / (B * L)
    mean_kl = (torch.stack(kls).sum() / max(n_tokens, 1)).to(dt) if kls else torch.zeros((), dtype=dt)
    clip_fraction = torch.tensor(sum(clips) / max(n_tokens, 1), dtype=dt)
    return loss, mean_kl, clip_fraction
