from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="simpo",
    title="SimPO loss",
    summary="Simple Preference Optimisation: length-normalised rewards, a margin γ, no reference model (Meng et al. 2024)",
    statement="""\
Implement the SimPO loss (Meng et al. 2024, eq. 6) from the policy's per-token
log-probabilities.

Inputs are per-token log-probs of the chosen response ([B, Tc]) and of the
rejected one ([B, Tr]; Tr may differ from Tc), float32 or float64, finite and at
most 0 at every position (they are log-probabilities; padding included: never
-inf, but anything down to -1e38, float32's range, in either dtype), and a mask
for each ([B, T]) that is 1 on the response's tokens and 0 elsewhere: prompt,
padding, and in a multi-turn conversation the turns that are not the assistant's. Any 0/1 pattern is allowed,
zeros inside a response included; every row has at least one response token. A
mask is bool, an integer type of any width (int64, int32, int8, uint8, ...) or
float in the log-probs' dtype (a float mask of another dtype is out of range), and
each mask's kind is independent of the other's (a bool chosen mask beside a float
rejected one is valid). There is no reference model: SimPO's reward
is the policy's own average log-likelihood.

    m        = per-token mean log-prob of a response                       [B]
             = masked sum / number of response tokens in that row
    z        = β · (m_c - m_r) - γ
    loss     = mean over the batch of  -log σ(z)
    rewards  = β · m  for chosen and rejected, shape [B], detached

Return (loss, chosen_rewards, rejected_rewards). The loss is a 0-dim tensor in
the inputs' dtype and must stay differentiable; the rewards are for logging and
carry no graph.

Conventions, and why:
- The mean, not the sum, over response tokens (eq. 4). A summed log-prob favours
  short answers, and a reward that grows with length invites verbose ones; the
  average is what the model pays per token when it generates, and it is
  comparable across answers without a reference model. Divide by the number of
  response tokens, not by the padded length T.
- γ is the target margin itself, subtracted after scaling by β (TRL's
  `simpo_gamma`). The paper's tables quote the ratio γ/β; here you are given γ:
  z = β·Δ - γ, not β·(Δ - γ).
- β > 0 and γ ≥ 0; defaults β = 2.0, γ = 0.5. β is far larger than DPO's
  because m is an average.
- At z = 0 (the rewards differ by exactly γ) the loss is log 2. Late in training
  the rewards can differ by hundreds: compute -log σ(z) so that it never returns
  inf. The ranges the grader checks: rewards up to 1000 apart, rewards exactly
  γ apart, γ = 0, β from 0.01 to 10 (β = 1 included), B = 1 and T = 1,
  B = 33, B = 257, responses of over 4096 tokens, float, int (every width) or
  bool masks beside float32 and float64 log-probs, the two of different kinds,
  exact zero log-probs, padding of -1e38, masks expanded from one row or with
  zeros inside a response, non-contiguous log-probs.

What the grader shows with your loss: repeating every response token (same
per-token log-probs) leaves the loss unchanged; at β·(m_c - m_r) = γ it is
log 2; and training a toy policy (prompt of 6 tokens, answers of 4, vocabulary
32) without any reference model lifts the chosen answer's average log-prob above
the rejected one's until the margin γ is cleared.""",
    signature="def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask,\n"
    "               beta=2.0, gamma=0.5) -> (loss, chosen_rewards, rejected_rewards)\n"
    "    # *_logps and masks: [B, Tc] (chosen), [B, Tr] (rejected) -> [], [B], [B]",
    entry=("simpo_loss",),
    hints=(
        "SimPO is DPO without the reference model and with a different reward: the average "
        "log-prob per response token, scaled by β. The loss is a logistic loss that asks the chosen "
        "reward to beat the rejected one by at least a margin γ.",
        "Reduce each [B, T] log-prob tensor to [B] with a masked mean (mask → the inputs' dtype; "
        "divide the masked sum by the mask's row sum, not by T). Then z = β·(m_c - m_r) - γ is [B], "
        "the loss is the batch mean of -log σ(z), and the rewards are β·m without a graph.",
        "avg = lambda lp, m: (lp * m.to(lp.dtype)).sum(-1) / m.to(lp.dtype).sum(-1); "
        "mc, mr = avg(pc, chosen_mask), avg(pr, rejected_mask); "
        "loss = -F.logsigmoid(beta * (mc - mr) - gamma).mean(); "
        "return loss, (beta * mc).detach(), (beta * mr).detach().",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES, c.STABILITY, c.GRADIENTS, c.GRADCHECK,
        c.MASKED_GRAD_ZERO, c.REWARDS_DETACHED, c.KEEPS_GRAPH, c.INPUTS_UNCHANGED,
        c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "token repetition leaves the loss unchanged, β·(m_c - m_r) = γ gives log 2, "
                           "and training without a reference model lifts the chosen answer above the rejected"),
    ),
    mistakes=(
        c.softplus_by_hand("β·(m_c - m_r) - γ", "where the rewards differ by exactly γ"),
        Mistake("no length normalisation", "values",
                "SimPO's reward is the per-token mean log-prob: divide each masked sum by that row's number of "
                "response tokens. The summed log-prob is DPO's sequence log-prob, and it favours short answers."),
        Mistake("margin added instead of subtracted", "values",
                "γ is a target margin the chosen reward must beat: z = β·(m_c - m_r) - γ. Adding it makes the "
                "loss easier to satisfy, not harder."),
        Mistake("margin multiplied by β", "values",
                "γ is in reward units already (TRL's simpo_gamma): z = β·(m_c - m_r) - γ, not β·(m_c - m_r - γ). "
                "β·(Δ - γ/β) is the same as the contract; β·(Δ - γ) reads γ as the paper's γ/β ratio."),
        Mistake("mean over the padded length", "values",
                "divide the masked sum by the number of response tokens in the row (mask.sum(-1)), not by T: "
                "(lp * mask).mean(-1) counts prompt and padding positions as zeros."),
        Mistake("log(sigmoid(x)) instead of logsigmoid", "stability",
                "sigmoid underflows to 0 for z below about -100 (float32) or -745 (float64) and log(0) = -inf; "
                "use F.logsigmoid(z), or -F.softplus(-z)."),
        Mistake("γ/β subtracted instead of γ (β·Δ - γ/β)", "values",
                "γ is the margin in reward units, subtracted after scaling by β: z = β·Δ - γ. The paper's tables "
                "quote γ/β; subtracting γ/β from β·Δ applies the ratio where the margin itself belongs."),
        Mistake("rewards not detached", "rewards_detached",
                "the rewards are for logging: return (beta * m).detach(), or compute them under torch.no_grad()."),
    ),
)
