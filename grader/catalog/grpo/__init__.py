from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="grpo",
    title="GRPO loss, with Dr. GRPO, DAPO and GSPO",
    summary="Group Relative Policy Optimisation's clipped loss with k3 KL, its normalisers and GSPO's ratio",
    track="policy-gradient",
    statement="""\
Implement the GRPO loss (Shao et al. 2024, "DeepSeekMath", eq. 3) as TRL's GRPOTrainer
computes it, with the variants that fixed its biases: Dr. GRPO's constant normaliser
(Liu et al. 2025), DAPO's token-level mean and asymmetric clip (Yu et al. 2025) and
GSPO's sequence-level ratio (Zheng et al. 2025).

Inputs, for B completions over T positions (the mask marks each completion's tokens, in
any 0/1 pattern: right padding, a prompt before the completion, gaps between a
conversation's turns; a row may be empty, and so may every row; B ≥ 1, T ≥ 1):

    logps       [B, T]  per-token log-probs under the policy being trained
    old_logps   [B, T]  the same under the policy that sampled them
    ref_logps   [B, T]  the same under the frozen reference model
                        (or None when beta == 0)
    advantages  [B]     one per completion, used as advantages[:, None]
    mask        [B, T]  float (in the log-probs' dtype), int (any width) or bool

Any input may be non-contiguous: [B, T] ones with a transpose's strides, and the [B]
advantages a strided view (a column of a [B, k] buffer, or x[1::2] of a longer vector).

All float inputs share one dtype (float32 or float64) and every output has it.
old_logps, ref_logps and advantages are constants of the objective: gradients
flow to logps only (the grader passes the constants with requires_grad and
checks that no gradient reaches them).

    ratio  "token":     ρ_t = exp(logps_t - old_logps_t)
           "sequence":  one ρ per completion (GSPO): exp of the masked mean
                        of its token log-ratios, shared by its tokens
                        (an empty row's ratio is 1)
    per token:  -min(ρ·A, clamp(ρ, 1 - eps_low, 1 + eps_high)·A) + beta·k3
    k3     = exp(d) - d - 1,  d = ref_logps - logps  (when ref_logps is given)
    loss   "grpo":     masked mean over each completion's tokens, then the
                       mean over all B completions (an empty row contributes
                       0 and still counts)
           "bnpo":     sum over all response tokens / their count (DAPO's
                       token mean within one batch; TRL's "dapo" when the
                       normaliser is this batch)
           "dr_grpo":  sum over all response tokens / (B · L), L =
                       max_completion_length, T by default ("grpo"
                       and "bnpo" ignore max_completion_length)
    mean_kl        mean of k3 over response tokens (0 without ref_logps;
                   with ref_logps, reported whatever beta is, 0 included)
    clip_fraction  mean over response tokens of "clipped in the advantage's
                   direction": ρ > 1 + eps_high with A > 0, or
                   ρ < 1 - eps_low with A < 0

(eps_low and eps_high stand for epsilon_low and epsilon_high.)

Return (loss, mean_kl, clip_fraction), all 0-dim; mean_kl and clip_fraction carry no
graph. Every masked mean divides by max(count, 1), so a batch with no response
token gives 0 for all three.

Ranges: beta ≥ 0; 0 < epsilon_low < 1 and epsilon_high > 0 (GSPO's 3e-4 and 4e-4
included; either may be the larger); max_completion_length ≥ T, or None; log-probs between -200 and 0, with
|logps - old_logps| at most 40 (ratios from 4e-18 to 2e17) and |ref_logps - logps| at
most 3. The cases keep every ratio at least 1e-6 away from the clip bounds.

Raise ValueError, with a message, when advantages is not of shape [B], when beta > 0 and
ref_logps is None, for an unknown loss_type or importance_sampling_level (another
library's word included: TRL's "dapo" and "sequence_token", verl's "token-mean"), and
when max_completion_length is below T.

Conventions, where code you may have seen differs:
- The defaults follow the papers (GRPO: beta = 0.04, per-completion averaging), not
  TRL 1.16's defaults (beta = 0, loss_type "dapo").
- epsilon_high defaults to 0.2 on its own, whatever epsilon_low is: TRL's epsilon_high
  = None means "equal to epsilon"; here epsilon_low = 0.1 alone clips at [0.9, 1.2].
- The ratio is exp(logps - old_logps) as it comes: no clamp of the log-ratio (verl's ±20)
  and no dual clip (verl's clip_ratio_c), over the whole range above.
- Under "sequence", clip_fraction counts every token of a clipped completion; TRL logs
  a per-completion mean instead. This kata counts tokens under both levels.

What the grader shows with your loss: on-policy with beta = 0 the "grpo" loss is 0 up to
rounding while its gradient is -A_i/(B·|o_i|) at every token (the "loss is 0 but the
model learns" of many bug reports); a completion of 2 tokens gets 4× the per-token
gradient of one of 8 under "grpo" and the same under "bnpo" and "dr_grpo"; clipped tokens
get no gradient, and under "sequence" a completion is clipped as a whole; trained on a
toy task, the mean reward rises, and the final KL to the reference falls as beta grows.""",
    signature="def grpo_loss(logps, old_logps, ref_logps, advantages, mask, beta=0.04,\n"
    "              epsilon_low=0.2, epsilon_high=0.2, loss_type=\"grpo\",\n"
    "              max_completion_length=None, importance_sampling_level=\"token\")\n"
    "    -> (loss, mean_kl, clip_fraction)\n"
    "    # logps, old_logps, ref_logps (or None), mask: [B, T]; advantages: [B]\n"
    "    # loss, mean_kl, clip_fraction: []",
    entry=("grpo_loss",),
    hints=(
        "GRPO is PPO's clipped surrogate with one advantage per completion (its reward, normalised "
        "within its group) instead of a learned critic, plus β times a per-token KL estimate to the "
        "reference. The variants differ only in how the per-token losses are averaged and in whether "
        "the ratio is per token or per completion.",
        "Broadcast the [B] advantages as advantages[:, None] against [B, T]. The ratio is "
        "exp(logps - old_logps.detach()), or for \"sequence\" exp of each row's masked mean of that "
        "log-ratio, kept as [B, 1]. Per token: -min(ρ·A, clamp(ρ, 1-ε_low, 1+ε_high)·A), plus β·k3 with "
        "d = ref - logps. Then reduce with the mask: per-row mean then batch mean (grpo), one token mean "
        "(bnpo), or the masked sum over B·max_completion_length (dr_grpo). Check the inputs first.",
        "m = mask.to(logps.dtype); A = advantages.detach()[:, None]; lr = logps - old_logps.detach(); "
        "if sequence: lr = ((lr * m).sum(-1) / m.sum(-1).clamp(min=1))[:, None]; "
        "rho = lr.exp(); pt = -torch.min(rho * A, rho.clamp(1 - eps_low, 1 + eps_high) * A).expand_as(logps); "
        "d = ref_logps - logps; kl = d.exp() - d - 1; pt = pt + beta * kl; "
        "grpo: ((pt * m).sum(-1) / m.sum(-1).clamp(min=1)).mean(); bnpo: (pt * m).sum() / m.sum().clamp(min=1); "
        "dr_grpo: (pt * m).sum() / (B * (max_completion_length or T)); "
        "clipped = ((rho > 1 + eps_high) & (A > 0)) | ((rho < 1 - eps_low) & (A < 0)), its masked token mean "
        "detached, and mean_kl = ((kl * m).sum() / m.sum().clamp(min=1)).detach().",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES, c.STABILITY, c.GRADIENTS, c.GRADCHECK,
        c.MASKED_GRAD_ZERO,
        Check("rewards_detached", "mean_kl and clip_fraction carry no autograd graph"),
        c.KEEPS_GRAPH, c.CONSTANTS_DETACHED, c.BAD_INPUT, c.INPUTS_UNCHANGED,
        Check("row_independence", "under \"grpo\", a batch's loss is the mean of its rows' losses, and mean_kl and "
                                  "clip_fraction their means weighted by the rows' token counts"),
        c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "on-policy β=0: loss ≈ 0 with gradient -A_i/(B·|o_i|); 4× length weighting under grpo "
                           "only; no gradient at clipped tokens (ε_high ≠ ε_low, and whole completions under "
                           "sequence); training raises the reward and a larger β ends closer to the reference"),
    ),
    mistakes=(
        Mistake("old_logps not detached", "constants_detached",
                "old_logps is the sampling policy's, a constant: use logps - old_logps.detach(). When the "
                "old log-probs come from the same forward pass with a graph, the ratio is exp(0) whatever the "
                "parameters and its gradient vanishes."),
        Mistake("ref_logps not detached", "constants_detached",
                "the reference model is frozen: d = ref_logps.detach() - logps, so the KL term pulls the policy "
                "only."),
        Mistake("advantages not detached", "constants_detached",
                "the advantages are targets computed from rewards: use advantages.detach()[:, None]."),
        Mistake("ratio inverted", "values",
                "the importance ratio is π/π_old: exp(logps - old_logps), not exp(old_logps - logps)."),
        Mistake("min and max swapped", "values",
                "the per-token loss is -min(ρ·A, clip(ρ)·A): the pessimistic of the two surrogates. "
                "Equivalently max(-ρ·A, -clip(ρ)·A); -max(...) or min(-..., -...) is optimistic."),
        Mistake("clamp applied to the advantage", "values",
                "clip the ratio, not the advantage or the product: clamp(ρ, 1 - ε_low, 1 + ε_high) · A."),
        Mistake("k3 with the sign of d flipped", "values",
                "k3 = exp(d) - d - 1 with d = ref_logps - logps (the log of π_ref/π). With d = logps - ref_logps "
                "the estimate is of KL(π_ref ‖ π) and biased on samples of π."),
        Mistake("k1 instead of k3", "values",
                "k1 = logps - ref_logps is unbiased but negative on many tokens and noisy; GRPO uses "
                "k3 = exp(d) - d - 1 with d = ref_logps - logps, which is never negative."),
        Mistake("KL term outside the mask", "values",
                "add β·k3 to the per-token loss before masking, and average mean_kl over response tokens only: "
                "padding has no KL to penalise."),
        Mistake("advantages broadcast along the wrong dimension", "values",
                "advantages are [B], one per completion: use advantages[:, None] ([B, 1]) against [B, T]. A bare "
                "[B] broadcasts along T, which raises unless B == T, and then gives each token another row's advantage."),
        Mistake("grpo averaged over the padded length", "values",
                "under \"grpo\" each completion is averaged over its own tokens, mask.sum(-1).clamp(min=1), not over T."),
        Mistake("dr_grpo divided by the real lengths", "values",
                "Dr. GRPO's normaliser is the constant B · max_completion_length (T by default), so a completion's "
                "length does not rescale its tokens' gradients; dividing by token counts brings the bias back."),
        Mistake("max_completion_length ignored", "values",
                "under \"dr_grpo\" divide by B · max_completion_length when it is given (T only when it is None): "
                "the constant is the longest completion the sampler allows, which may exceed this batch's T."),
        Mistake("dr_grpo normalised by the longest completion", "values",
                "without max_completion_length the \"dr_grpo\" normaliser is B · T, the padded length, a constant; "
                "the longest completion in the batch changes from batch to batch and rescales every gradient."),
        Mistake("epsilon_high ignored", "values",
                "clip the ratio to [1 - epsilon_low, 1 + epsilon_high]: DAPO's clip-higher uses a larger upper "
                "bound so that unlikely tokens with a positive advantage can still grow."),
        Mistake("sequence ratio averaged over padding", "values",
                "GSPO's ratio is exp of the mean log-ratio over the completion's own tokens: "
                "(lr * m).sum(-1) / m.sum(-1).clamp(min=1), not a mean over T that counts padding."),
        Mistake("clip fraction ignores the advantage's sign", "values",
                "a token counts as clipped only when the min chose the clipped term: ρ > 1 + ε_high with A > 0, "
                "or ρ < 1 - ε_low with A < 0. A ratio outside the range with the other sign still gets a gradient."),
        Mistake("clip fraction per completion under \"sequence\"", "values",
                "this kata's clip_fraction is a token mean under both levels: every token of a clipped completion "
                "counts, and a long completion counts more. TRL logs the mean over completions instead "
                "(is_clipped.float().mean() on [B, 1]); weight each completion by its token count."),
        Mistake("no clamp (NaN with no response token)", "values",
                "a batch may have no response token at all, and a row may be empty: divide every token mean "
                "(each row's under \"grpo\", the batch's under \"bnpo\", mean_kl, clip_fraction) by its count "
                ".clamp(min=1), so that it is 0 there, not 0 / 0 = NaN."),
        Mistake("KL folded into the advantage", "values",
                "GRPO adds β·k3 to the per-token loss (eq. 3), so the KL has its own gradient and is never clipped. "
                "Subtracting it from the advantage (A - β·k3, PPO-RLHF's KL in the reward) makes it a constant "
                "inside the clipped surrogate: per_token = -min(ρ·A, clip(ρ)·A) + β·k3."),
        Mistake("clipped branch detached", "gradients",
                "clamp(ρ).detach() looks harmless because the clipped term has no gradient where it is chosen, but "
                "inside the trust region the two branches are equal and torch.min splits the gradient between "
                "them: every unclipped token gets half its gradient. Leave the clamp attached (its gradient is 0 "
                "outside the range by itself)."),
        Mistake("mean_kl only when beta > 0", "values",
                "mean_kl measures how far the policy is from the reference: with ref_logps given, report it "
                "whatever beta is, 0 included. TRL skips the KL when beta is 0; this kata's contract does not."),
        Mistake("ratio from probabilities", "stability",
                "exp(logps) / exp(old_logps) underflows to 0 / 0 = NaN for log-probs below about -100 (float32); "
                "work in log space: exp(logps - old_logps), and the same for k3's exp(ref_logps - logps)."),
        Mistake("bad input accepted", "bad_input",
                "check the inputs first and raise ValueError with a message: advantages.shape must be (B,), "
                "beta > 0 needs ref_logps, loss_type and importance_sampling_level must be known values, and "
                "max_completion_length may not be below T."),
    ),
)
