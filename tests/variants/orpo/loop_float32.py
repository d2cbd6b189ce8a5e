# A correct ORPO: a Python loop over rows, float32 arithmetic inside, log(-expm1(m)), cast back at the end.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    dtype = policy_chosen_logps.dtype
    token_nll, tokens, or_terms = 0.0, 0.0, []
    for b in range(policy_chosen_logps.shape[0]):
        mc, mr = chosen_mask[b].float(), rejected_mask[b].float()
        pc, pr = policy_chosen_logps[b].float(), policy_rejected_logps[b].float()
        token_nll = token_nll - (pc * mc).sum()
        tokens = tokens + mc.sum()
        c, r = (pc * mc).sum() / mc.sum(), (pr * mr).sum() / mr.sum()
        log_odds_c = c - torch.log(-torch.expm1(c))
        log_odds_r = r - torch.log(-torch.expm1(r))
        or_terms.append(-F.logsigmoid(log_odds_c - log_odds_r))
    nll_loss = (token_nll / tokens).to(dtype)
    or_loss = torch.stack(or_terms).mean().to(dtype)
    return nll_loss + lam * or_loss, nll_loss, or_loss
