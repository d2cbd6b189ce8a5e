from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="dpo",
    title="Masked DPO loss",
    summary="Direct Preference Optimisation on per-token log-probs with masks (Rafailov et al. 2023)",
    statement="""\
Implement the DPO loss (Rafailov et al. 2023, eq. 7) from per-token log-probabilities.

Inputs are per-token log-probs of the policy and of the frozen reference model (float32
or float64, finite at every position: padding may hold any log-prob down to -1e38, float32's
range, in either dtype), for the chosen response ([B, Tc])
and the rejected one ([B, Tr]; Tr may differ from Tc), and a mask for each ([B, T]) that is
1 on the response's tokens and 0 elsewhere: prompt, padding, and in a multi-turn
conversation the turns that are not the assistant's. Any 0/1 pattern is allowed, zeros
inside a response included. A mask is bool, an integer type of any width (int64, int32,
int16, int8, uint8) or float in the log-probs' dtype (a float mask of another dtype is out
of range), and each mask's kind is independent of the other's (a bool chosen mask beside
an int32 rejected one is valid).

    log π(y)   = sum of the masked per-token log-probs       (one number per row)
    h          = (log π(y_c) - log π_ref(y_c)) - (log π(y_r) - log π_ref(y_r))
    loss       = mean over the batch of  -log σ(β · h)
    rewards    = β · (log π(y) - log π_ref(y))  for chosen and rejected, shape [B], detached

β > 0 (default 0.1). Return (loss, chosen_rewards, rejected_rewards). The loss is a 0-dim
tensor in the inputs' dtype, differentiable in all four log-prob inputs: the reference is
frozen in training, but its log-probs may carry a graph (the policy with its adapters off,
run without no_grad), and the grader checks the gradient w.r.t. them too. The rewards are
for logging and carry no graph: detached from every input, the reference's included.

An empty response (its mask all 0: truncated away) has log π(y) = 0. A prompt longer than
the maximum length truncates both responses of its pair: then h = 0, and the pair still
counts in the batch mean, with loss log 2 and no gradient; so does a batch of only such
pairs.

Log-ratios reach thousands of nats in real training: -log σ(x) must be computed so that
it neither overflows nor returns inf for large |x|, and keeps its gradient there (a pair
with β·h = -100 is confidently wrong: its gradient is the largest, not 0). The ranges the
grader checks:
per-token log-ratios up to ±200 and sequence log-ratios of thousands of nats (values
and gradients), a policy equal to the reference (h = 0, the first step of training),
B = 1 and T = 1, B = 33, B = 257, responses of over 4096 tokens, β from 0.02 to 1, β·h
past ±85 in float32, exact zero log-probs, padding of -1e38, float, int (int64, int32,
int16, int8, uint8) or bool masks beside float32 and float64 log-probs (the two masks of
different kinds, also expanded from one row, and with zeros inside a response), a
reference whose log-probs carry a graph, responses of different lengths (Tc < Tr and Tc > Tr), empty responses (one side
of a pair, both sides, every pair of the batch), and non-contiguous log-prob tensors.

Conventions, where code you may have seen differs:
- One -log σ per pair. A notebook version applies -log σ(β·(token log-ratio difference))
  at every response token and averages over tokens; that is not eq. 7 (and needs
  Tc = Tr). Sum each response's masked log-ratio first, then take -log σ(β·h) once.
- The sum over tokens, not the mean. Some trainers offer a per-token mean (an
  `aggregate="mean"` option); that is IPO's and SimPO's convention, not DPO's.
- The rewards are per pair, [B]; log their batch mean if you like, but return them all.

What the grader shows with your loss: training a toy policy (prompt of 6 tokens, answers
of 4, vocabulary 32) with β = 0.1 and β = 0.5 drives π(y_l) towards 0 in both runs. The
Bradley-Terry objective has no finite optimum when one answer always wins, so β changes
how fast π(y_l) falls, not where it ends. IPO (the `ipo` kata) fixes that.""",
    signature="def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,\n"
    "             chosen_mask, rejected_mask, beta=0.1) -> (loss, chosen_rewards, rejected_rewards)\n"
    "    # *_chosen_logps [B, Tc], *_rejected_logps [B, Tr], masks [B, Tc] / [B, Tr] -> [], [B], [B]",
    entry=("dpo_loss",),
    hints=(
        "DPO is a logistic regression on the difference of two implicit rewards, "
        "β·log(π/π_ref) for the chosen answer minus the same for the rejected one. "
        "Everything is per sequence, not per token.",
        "Reduce each [B, T] log-prob tensor to [B] with a masked sum first (mask → the inputs' dtype). "
        "Then h = (π_c - ref_c) - (π_r - ref_r) is [B], the loss is the batch mean of -log σ(β·h), "
        "and the rewards are β·(π - ref) computed without a graph.",
        "seq = lambda lp, m: (lp * m.to(lp.dtype)).sum(-1); "
        "h = (seq(pc, mc) - seq(rc, mc)) - (seq(pr, mr) - seq(rr, mr)); "
        "loss = -F.logsigmoid(beta * h).mean(); "
        "chosen_rewards = (beta * (seq(pc, mc) - seq(rc, mc))).detach(), and the same for rejected.",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES, c.STABILITY, c.GRADIENTS, c.GRADCHECK,
        c.MASKED_GRAD_ZERO, c.REWARDS_DETACHED, c.KEEPS_GRAPH, c.INPUTS_UNCHANGED,
        c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "trained with β=0.1 and β=0.5, π(y_l) keeps falling towards 0 in both runs"),
    ),
    mistakes=(
        c.softplus_by_hand("β·h", "at the first step of training, where the policy is the reference"),
        Mistake("mask not applied", "values",
                "multiply each per-token log-prob by its mask (cast to the logps' dtype) before summing, "
                "so prompt and padding tokens do not count."),
        Mistake("log σ applied per token instead of per sequence", "values",
                "sum the masked log-ratios into one number per sequence first; -log σ(β·h) is applied once per pair, "
                "to the difference of two sequence-level log-ratios."),
        Mistake("sign flipped", "values",
                "the loss is -log σ(β·h) with h = chosen log-ratio minus rejected log-ratio; it should fall as the "
                "policy prefers the chosen answer."),
        Mistake("β missing", "values", "β scales the log-ratio difference inside the sigmoid: -log σ(β·h)."),
        Mistake("log(sigmoid(x)) instead of logsigmoid", "stability",
                "sigmoid underflows to 0 for β·h below about -100 (float32) and log(0) = -inf; use F.logsigmoid(x), "
                "or -F.softplus(-x)."),
        Mistake("rewards not detached", "rewards_detached",
                "the rewards are for logging: return (beta * logratio).detach(), or compute them under torch.no_grad()."),
        Mistake("mean over tokens instead of sum", "values",
                "DPO's sequence log-prob is the masked sum over response tokens; averaging is IPO's and SimPO's choice."),
        Mistake("reference log-ratio ignored", "values",
                "h and the rewards subtract the reference model's log-probs: h = (π_c - ref_c) - (π_r - ref_r), "
                "chosen_rewards = β·(π_c - ref_c), rejected_rewards = β·(π_r - ref_r)."),
        Mistake("loss summed over the batch instead of averaged", "values",
                "the loss is the mean over the batch, so its scale does not depend on the batch size."),
        Mistake("per-token log-ratios clamped", "stability",
                "clamping log π - log π_ref (say to ±50) changes the loss once a token's log-ratio passes the bound "
                "and zeroes its gradient there, exactly where the policy has moved furthest. -log σ(β·h) needs no "
                "guard: F.logsigmoid is exact for any h."),
        Mistake("extra outputs returned", "output_types",
                "the contract returns exactly (loss, chosen_rewards, rejected_rewards): a caller's "
                "`loss, chosen, rejected = dpo_loss(...)` raises with a fourth value. Log extras elsewhere."),
    ),
)
