from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="ppo",
    title="PPO clipped loss with a clipped value loss",
    summary="PPO's clipped surrogate (Schulman et al. 2017, eq. 7) with value clipping, token-weighted",
    track="policy-gradient",
    statement="""\
Implement the PPO loss (Schulman et al. 2017, eq. 7) for a language model's
response tokens, with the value loss clipped as in the PPO implementations
most people know (OpenAI baselines' ppo2, TRL's former PPOTrainer).

Inputs are per-token tensors [B, T]: `logps`, the sampled tokens' log-probs
under the policy being trained; `old_logps`, the same tokens' log-probs under
the policy that sampled them; `advantages`; the critic's `values` now and
`old_values` at sampling time; the value targets `returns`, all in one dtype,
float32 or float64; and a `mask` (float in that dtype, an integer tensor of any
width, or bool) that is 1 on response tokens and 0 elsewhere. Any 0/1 pattern
is allowed: right padding, a prompt before the response, gaps between a
conversation's assistant turns. A row may be empty, and so may every row
(B ≥ 1, T ≥ 1).

    ratio    = exp(logps - old_logps)
    policy   = max(-A · ratio, -A · clamp(ratio, 1 - ε, 1 + ε))     per token
    v_clip   = old_values + clamp(values - old_values, -ε_v, ε_v)
    value    = max((values - returns)², (v_clip - returns)²)         per token
    policy_loss   = token mean of policy
    value_loss    = ½ · token mean of value
    loss          = policy_loss + vf_coef · value_loss
    clip_fraction = token mean of [-A · clamp(ratio, ...) > -A · ratio]

A token mean is over every response token in the batch: the masked sum
divided by max(number of response tokens, 1), so an empty batch gives 0.
Return (loss, policy_loss, value_loss, clip_fraction), four 0-dim tensors in
the inputs' dtype. loss, policy_loss and value_loss keep their graphs;
clip_fraction is for logging and carries none. Defaults: ε = clip_eps = 0.2,
ε_v = value_clip_eps = 0.2, vf_coef = 0.1.

old_logps, advantages, old_values and returns are constants of the objective:
detach them. The grader passes them with requires_grad and checks that no
gradient reaches them; gradients flow to logps and values only. (The classic
bug: old_logps taken from the same forward pass without .detach() gives a
ratio that is 1 with a gradient of 0.)

Ranges: ε > 0 (ε ≥ 1, ε = 1 included, leaves the ratio no lower bound; ε = inf
turns the policy's clipping off and nothing else: ε_v still clips the value);
ε_v > 0 (inf included: the value goes unclipped, ε still clips the ratio);
vf_coef ≥ 0 (0 when the critic is trained elsewhere: value_loss is still
reported, with its graph); any B and T (thousands of response tokens);
log-probs down to -200 and |logps - old_logps| up to 20 (ratios from 2e-9 to
5e8); the cases keep every
ratio at least 1e-6 away from 1 ± ε and every values - old_values at least
1e-6 away from ±ε_v, so ties at the clip bounds never decide. Positions where
the mask is 0 hold log-probs, advantages and values in the same ranges as
response tokens (|logps - old_logps| ≤ 20 there too: past 88 float32's exp
overflows, and inf · 0 is NaN) and must change nothing.

Conventions, where sources differ:
- Eq. 7 maximises min(r·A, clip(r)·A); a loss to minimise is its negation,
  max(-r·A, -clip(r)·A). Negating the terms turns the min into a max.
- Token-weighted means over the whole batch, as TRL's masked_mean: a long
  response weighs more than a short one. Averaging each sequence first and
  then the batch is another convention (some GRPO implementations), not this
  contract's; so is dividing by B·T.
- Values are clipped around old_values, the critic's estimate at sampling
  time (baselines' vpredclipped), and the larger of the two squared errors
  counts; the value loss carries the ½ (baselines and TRL both have it).
- The advantages are used as given: no whitening inside the loss (normalising
  them is the caller's choice, made once per batch of rollouts).
- clip_fraction counts the tokens where the clipped term is strictly larger,
  i.e. where clipping is active and the token's gradient is 0 (TRL's
  pg_clipfrac). baselines' clipfrac counts every ratio outside the band,
  whatever the advantage's sign; that is not this contract's.

What the grader shows with your loss: the gradient is exactly 0 at tokens
clipped in the advantage's direction and nonzero at the others; on-policy
(logps == old_logps) policy_loss = -mean(A); and training a toy softmax policy
with plain SGD for many epochs on one fixed rollout, in which one action has
a positive advantage and the others 0, the ratio of that action levels off
just above 1 + ε, while with clipping off (ε = inf) it keeps growing towards
1/π_old. Clipping bounds the incentive, not the step: `kata experiment
ppo-clip` shows Adam carrying the ratio well past 1 + ε.""",
    signature="def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,\n"
    "             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1) -> (loss, policy_loss, value_loss, clip_fraction)\n"
    "    # every input [B, T] -> [], [], [], []",
    entry=("ppo_loss",),
    hints=(
        "PPO maximises the advantage-weighted probability ratio π/π_old, but takes away the incentive "
        "to push a token's ratio beyond [1 - ε, 1 + ε] in the direction its advantage wants: past that "
        "point the clipped term wins and the token's gradient is 0. The critic gets the same treatment "
        "around its old estimate. Only the current log-probs and values are trained.",
        "Everything is elementwise on [B, T] until the very end. Detach the four constants, form "
        "ratio = exp(logps - old_logps), the two negated surrogate terms and their elementwise max; the "
        "two squared value errors and their max. Then reduce each [B, T] tensor once: masked sum over "
        "the whole batch divided by max(mask.sum(), 1). clip_fraction is the same mean of a 0/1 tensor.",
        "m = mask.to(logps.dtype); n = m.sum().clamp(min=1); "
        "old, A, V_old, R = (t.detach() for t in (old_logps, advantages, old_values, returns)); "
        "ratio = torch.exp(logps - old); u = -A * ratio; c = -A * ratio.clamp(1 - clip_eps, 1 + clip_eps); "
        "policy_loss = (torch.maximum(u, c) * m).sum() / n; "
        "v_clip = V_old + (values - V_old).clamp(-value_clip_eps, value_clip_eps); "
        "value_loss = 0.5 * (torch.maximum((values - R) ** 2, (v_clip - R) ** 2) * m).sum() / n; "
        "clip_fraction = ((c > u).to(m.dtype) * m).sum() / n; "
        "return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction.",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES, c.STABILITY, c.GRADIENTS, c.GRADCHECK,
        c.MASKED_GRAD_ZERO,
        Check("rewards_detached", "clip_fraction, a logging statistic, carries no autograd graph"),
        c.KEEPS_GRAPH, c.CONSTANTS_DETACHED, c.INPUTS_UNCHANGED,
        c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "the gradient is 0 exactly at tokens clipped in the advantage's direction; on-policy "
                           "policy_loss = -mean(A); with plain SGD on one rollout the advantaged ratio stops just "
                           "above 1 + ε, and keeps growing with ε = inf"),
    ),
    mistakes=(
        Mistake("old_logps not detached", "constants_detached",
                "the ratio's denominator is the sampling policy's, a constant: exp(logps - old_logps.detach()). "
                "When old_logps comes from the same forward pass as logps without .detach(), the ratio is "
                "exp(x - x) = 1 with a gradient of exactly 0, and the policy never learns."),
        Mistake("advantages, old_values or returns not detached", "constants_detached",
                "advantages, old_values and returns are targets computed before the update: detach them "
                "(A = advantages.detach(), ...) so that backward reaches logps and values only."),
        Mistake("min of the negated terms", "values",
                "eq. 7 maximises min(r·A, clip(r)·A); negated for a loss that is max(-r·A, -clip(r)·A) "
                "(or -min(r·A, clip(r)·A)). The min of the negated terms never clips and rewards moving further."),
        Mistake("clipping the advantage instead of the ratio", "values",
                "clamp the probability ratio to [1 - ε, 1 + ε] and multiply by the unclipped advantage: "
                "-A · clamp(ratio, 1 - ε, 1 + ε)."),
        Mistake("ratio = logps / old_logps", "values",
                "logps are logarithms: the probability ratio is exp(logps - old_logps), not their quotient."),
        Mistake("ratio inverted", "values",
                "the ratio is π / π_old = exp(logps - old_logps), new over old; exp(old_logps - logps) "
                "rewards moving the policy the wrong way."),
        Mistake("mean over the padded length", "values",
                "divide the masked sum by the number of response tokens, max(mask.sum(), 1), not by B·T: "
                "padding must not dilute the loss."),
        Mistake("per-sequence mean then batch mean", "values",
                "this contract is token-weighted over the batch, (x * m).sum() / max(m.sum(), 1), as TRL's "
                "masked_mean; a mean per sequence and then over the batch weighs a short response's tokens "
                "more (a convention of some GRPO code, not this kata's)."),
        Mistake("value clipping around returns instead of old_values", "values",
                "the value may move at most ε_v from the estimate at sampling time: "
                "v_clip = old_values + clamp(values - old_values, -ε_v, ε_v). Clipped around the returns, the "
                "clipped error is never the larger one and the clipping does nothing, which is also what a value "
                "loss without clipping, ½·(values - returns)², computes."),
        Mistake("the ½ missing", "values",
                "value_loss is half the token mean of the larger squared error (0.5 * ...), as in baselines and TRL."),
        Mistake("clip_fraction counting ties", "values",
                "count a token as clipped only where the clipped term is strictly larger (>): inside the band "
                "the two terms are equal, and `>=` counts every such token."),
        Mistake("clip_fraction counting every ratio outside the band", "values",
                "this contract's clip_fraction counts tokens where clipping is active, clipped > unclipped, "
                "which depends on the advantage's sign; |ratio - 1| > ε (baselines' clipfrac) also counts ratios "
                "outside the band whose advantage pulls them back in, and tokens with A = 0."),
        Mistake("vf_coef on the wrong term", "values",
                "vf_coef weighs the value loss: loss = policy_loss + vf_coef * value_loss."),
        Mistake("min of the two value terms", "values",
                "the clipped value loss takes the larger of the two squared errors, "
                "max((V - R)², (V_clip - R)²), as the policy term takes the pessimistic one."),
        Mistake("mask not applied", "values",
                "multiply every per-token term by the mask (cast to the logps' dtype) before summing, and divide by "
                "the number of response tokens: padding holds numbers that must change nothing."),
        Mistake("non-zero terms counted as tokens", "values",
                "the denominator is the number of response tokens, max(mask.sum(), 1); a token whose advantage is 0 "
                "contributes a policy term of exactly 0 and still counts."),
        Mistake("token count not clamped to 1", "values",
                "a batch may have no response token at all (every row empty): divide by max(mask.sum(), 1), "
                "e.g. mask.sum().clamp(min=1), so that the losses are 0 there instead of 0 / 0 = NaN."),
        Mistake("log-ratio clipped to ±ε", "values",
                "ε bounds the ratio, not its logarithm: clamp(ratio, 1 - ε, 1 + ε) (equivalently the log-ratio "
                "to [log(1 - ε), log(1 + ε)]); clamping logps - old_logps to ±ε gives the band [e^-ε, e^ε]."),
        Mistake("advantages whitened inside the loss", "values",
                "use the advantages as given; normalising them (subtracting the mean, dividing by the std) is the "
                "caller's choice, made before the loss, once per batch of rollouts."),
        Mistake("ratio from probabilities", "stability",
                "exp(logps) / exp(old_logps) underflows to 0 / 0 for log-probs below about -100 in float32; "
                "subtract in log space: torch.exp(logps - old_logps)."),
    ),
)
