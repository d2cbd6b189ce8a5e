from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="orpo",
    title="ORPO loss",
    summary="Odds-Ratio Preference Optimisation: response NLL plus λ times a log-odds-ratio loss (Hong et al. 2024)",
    statement="""\
Implement the ORPO loss (Hong et al. 2024, eq. 6 and 7) from the policy's
per-token log-probabilities. ORPO folds preference alignment into supervised
fine-tuning: one loss, no reference model, no separate SFT stage.

Inputs are per-token log-probs of the chosen response ([B, Tc]) and of the
rejected one ([B, Tr]; Tr may differ from Tc), float32 or float64, finite and at
most 0 at every position (padding included: never -inf, but anything down to
-1e38, float32's range, in either dtype), and a mask for each
([B, T]) that is 1 on the response's tokens and 0 elsewhere: prompt, padding,
and in a multi-turn conversation the turns that are not the assistant's. Any 0/1
pattern is allowed, zeros inside a response included; every row has at least one
response token. A mask is bool, an integer tensor of any width (int64, int32,
int8, uint8, ...) or float in the log-probs' dtype.

    m            = per-token mean log-prob of a response                    [B]
                 = masked sum / number of response tokens in that row
    log odds(m)  = log(P / (1 - P)) with P = e^m
                 = m - log(1 - e^m)                                    (eq. 4)
    or_loss      = mean over the batch of
                   -log σ(log odds(m_c) - log odds(m_r))               (eq. 7)
    nll_loss     = mean of -log-prob over all chosen response tokens in the batch
    loss         = nll_loss + λ · or_loss                              (eq. 6)

Return (loss, nll_loss, or_loss), three 0-dim tensors in the inputs' dtype;
`loss` must stay differentiable. nll_loss and or_loss are for the log: they may
carry the graph or be returned detached. λ ≥ 0, default 0.1. nll_loss and
or_loss do not depend on λ: with λ = 0 (an SFT-only run) or_loss is still eq. 7.

Conventions, and why:
- λ weighs the odds-ratio term, not the NLL (eq. 6: L_SFT + λ·L_OR), although
  one guide's table calls λ the SFT weight.
- The odds use the per-token average probability P = e^m, as the paper does: the
  probability of a whole sequence is so small that its odds would be P itself.
- nll_loss is token-weighted: the sum of -log-probs over every chosen response
  token in the batch divided by their count, a causal-LM loss restricted to the
  response. It is not the mean of per-row means: a long answer weighs more than
  a short one. TRL's ORPOTrainer also counts the prompt's tokens in this NLL; we
  do not.
- Stay in log space. m runs from just below 0 (a memorised answer: P ≈ 1, and
  1 - e^m cancels) down to -1000 (an answer the model has ruled out: e^m
  underflows to 0). torch.log(-torch.expm1(m)) or torch.log1p(-torch.exp(m))
  gives log(1 - e^m) without ever forming P / (1 - P), which is 0 / 1 or 0 / 0
  at the bottom of that range.
- The ranges the grader checks: mean log-probs from -0.001 down to -1000, in
  every band (near 0, -5 to -12, -12 to -750, below) with pairs whose log odds
  ratio is small enough to move the loss, pairs with one side from -8 to -12
  and the other far from it (a cut-off for log(1 - e^m) there shows in the
  gradient), equal mean log-probs (a log odds ratio of exactly 0), λ = 0 and
  λ = 10, B = 1 and T = 1, B = 33 and B = 257 (over 2048 response
  tokens), responses of over 4096 tokens, tokens with log-prob exactly 0 (never a whole
  response), padding of -1e38, masks of every integer width and bool beside
  float32 and float64 log-probs, masks expanded from one row or with zeros
  inside a response, non-contiguous log-prob tensors.

What the grader shows with your loss: with λ = 0 the loss is exactly the
token-weighted NLL; and training a toy policy (prompt of 6 tokens, answers of 4,
vocabulary 32) with λ = 0 and with λ = 1 raises the chosen answer's probability
and lowers the rejected one's, further when the odds-ratio term is on.""",
    signature="def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask,\n"
    "              lam=0.1) -> (loss, nll_loss, or_loss)\n"
    "    # *_logps and masks: [B, Tc] (chosen), [B, Tr] (rejected) -> [], [], []",
    entry=("orpo_loss",),
    hints=(
        "ORPO is SFT on the chosen answer plus a small penalty that prefers it to the rejected one. "
        "The penalty is a logistic loss on the log of an odds ratio, odds(P) = P / (1 - P), where P is "
        "the answer's average per-token probability. Keep every quantity in log space.",
        "Two reductions of the chosen log-probs: a masked mean per row ([B], for the odds) and one "
        "masked mean over the whole batch (a scalar, for the NLL: total masked sum / total token count). "
        "The rejected log-probs only enter the odds. log odds(m) = m - log(1 - e^m) is [B]; the "
        "odds-ratio loss is the batch mean of -log σ of the chosen-minus-rejected difference.",
        "mc = chosen_mask.to(pc.dtype); mr = rejected_mask.to(pr.dtype); "
        "nll = -(pc * mc).sum() / mc.sum(); "
        "avg_c = (pc * mc).sum(-1) / mc.sum(-1); avg_r = (pr * mr).sum(-1) / mr.sum(-1); "
        "log_odds = lambda m: m - torch.log(-torch.expm1(m)); "
        "or_loss = -F.logsigmoid(log_odds(avg_c) - log_odds(avg_r)).mean(); "
        "return nll + lam * or_loss, nll, or_loss.",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES, c.STABILITY, c.GRADIENTS, c.GRADCHECK,
        c.MASKED_GRAD_ZERO, c.KEEPS_GRAPH, c.INPUTS_UNCHANGED,
        c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "with λ = 0 the loss is the NLL alone; training raises π(y_w) and lowers π(y_l), "
                           "further with the odds-ratio term on"),
    ),
    mistakes=(
        c.softplus_by_hand("the log odds ratio", "where the chosen and rejected answers are equally likely"),
        Mistake("probabilities' ratio instead of odds", "values",
                "ORPO contrasts odds, P / (1 - P), not probabilities: log odds(m) = m - log(1 - e^m). "
                "m_c - m_r alone is the log of a probability ratio (DPO without a reference)."),
        Mistake("naive p/(1-p) that overflows or underflows", "stability",
                "exp(m) underflows to 0 for mean log-probs below about -100 (float32) or -745 (float64), so "
                "P / (1 - P) is 0 and its log -inf (or 0 / 0 = NaN in a ratio). Stay in log space: "
                "log odds = m - torch.log(-torch.expm1(m)) (or m - torch.log1p(-torch.exp(m)))."),
        Mistake("summed instead of averaged log-probs", "values",
                "P in the odds is the per-token average probability: m = masked sum / number of response tokens. "
                "A summed log-prob makes P tiny and the odds collapse to P."),
        Mistake("NLL missing", "values",
                "the loss is nll_loss + λ·or_loss: the SFT term is what keeps ORPO a fine-tuning method."),
        Mistake("NLL per-sequence instead of per-token", "values",
                "nll_loss is token-weighted: -(pc * mc).sum() / mc.sum() over the whole batch, as a causal-LM "
                "loss would be; the mean of per-row means (or of per-row sums) weighs a short answer's tokens more."),
        Mistake("NLL over the prompt and padding", "values",
                "only response tokens count: multiply by chosen_mask and divide by its sum, not by B·Tc."),
        Mistake("λ on the wrong term", "values",
                "λ weighs the odds-ratio term: loss = nll_loss + λ·or_loss, not λ·nll_loss + or_loss."),
        Mistake("sign of the odds term", "values",
                "or_loss = -log σ(log odds(m_c) - log odds(m_r)) is positive and falls as the chosen answer's odds "
                "rise; it is added to the NLL: loss = nll_loss + λ·or_loss."),
        Mistake("odds per token instead of from the mean log-prob", "values",
                "the odds are those of the per-token average probability P = e^m, one per response: "
                "log odds(m) with m the masked mean. Averaging each token's log odds instead is another quantity "
                "(and +inf at a token of log-prob 0)."),
        Mistake("log(sigmoid(x)) instead of logsigmoid", "stability",
                "sigmoid underflows to 0 when the log-odds ratio is below about -100 (float32) or -745 (float64) "
                "and log(0) = -inf; use F.logsigmoid(x), or -F.softplus(-x)."),
    ),
)
