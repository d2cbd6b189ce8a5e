from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="ipo",
    title="Masked IPO loss",
    summary="Identity Preference Optimisation: regress the log-ratio margin onto 1/(2β) (Azar et al. 2023)",
    statement="""\
Implement the IPO loss (Azar et al. 2023, "A General Theoretical Paradigm to Understand
Learning from Human Preferences", eq. 17) from per-token log-probabilities, with the
length normalisation TRL's DPOTrainer applies to it.

The inputs are those of the `dpo` kata: per-token log-probs of the policy and of the
frozen reference (float32 or float64, finite at every position: padding may hold any
log-prob down to -1e38, float32's range, in either dtype) for the
chosen ([B, Tc]) and the rejected response ([B, Tr]), and a mask for each ([B, T]; 1 on
the response's tokens, 0 elsewhere: prompt, padding, other turns of a multi-turn
conversation). Any 0/1 pattern is allowed, zeros inside a response included: a response's
tokens are the positions where its mask is 1, wherever they are. A mask is bool, an
integer type of any width (int64, int32, int16, int8, uint8) or float in the log-probs'
dtype (a float mask of another dtype is out of range), and each mask's kind is independent
of the other's (a bool chosen mask beside an int32 or float rejected one is valid).

    a(y)     = mean over y's response tokens of (log π - log π_ref)   (one number per row;
               the token count is clamped to at least 1, so an empty response gives 0)
    h        = a(y_c) - a(y_r)
    loss     = mean over the batch of  (h - 1/(2β))²
    rewards  = β · a(y)  for chosen and rejected, shape [B], detached

β > 0 (default 0.1). Return (loss, chosen_rewards, rejected_rewards); the loss is a 0-dim
tensor in the inputs' dtype, differentiable in all four log-prob inputs (the reference is
frozen in training, but its log-probs may carry a graph: the policy with its adapters off,
run without no_grad; the grader checks the gradient w.r.t. them too), and the rewards carry
no graph: detached from every input, the reference's included. A pair whose two responses were both
truncated away (a prompt longer than the maximum length) has h = 0: it still counts in the
batch mean, with loss (1/(2β))² and no gradient; so does a batch of only such pairs. The
ranges the grader checks: per-token log-ratios up to ±200 and sequence log-ratios of
thousands of nats, empty responses (one side of a pair, both sides, every pair of the
batch), B = 1 and T = 1, B = 33, B = 257, responses of over 4096 tokens (a count of
thousands in an 8-bit mask), β from 0.02 to 1, float, int (int64, int32, int16, int8,
uint8) or bool masks beside float32 and float64 log-probs, the two of different kinds,
a reference whose log-probs carry a graph, padding of -1e38, exact zero log-probs, masks expanded from one row or with zeros inside a response, and non-contiguous
log-prob tensors.

Why a square: DPO fits a Bradley-Terry model, whose optimum when y_c always wins is
h = +∞, reached by driving π(y_l) to 0 whatever β is. IPO regresses h onto a finite
target instead, τ⁻¹/2 in the paper; with τ = β (TRL's convention) that is 1/(2β), so β
now decides where training stops: smaller β, larger margin.

Three conventions to know:
- The average. In the paper h is a difference of sequence log-ratios (sums over tokens).
  A sum grows with the response's length while the target 1/(2β) does not, so TRL
  averages over each response's tokens for IPO; this kata does the same.
- The formula. A form that circulates in guides, (β·h - 1/β)² = β²·(h - 1/β²)², is not
  eq. 17: its minimum is at h = 1/β² (100 for β = 0.1, not 5) and its gradient is scaled
  by β². Use (h - 1/(2β))².
- One square per pair. A notebook version squares (token log-ratio difference - 1/(2β))
  at every response token and averages; eq. 17 squares h - 1/(2β) once per pair.

What the grader shows with your loss: training the toy policy of the `dpo` kata (prompt
of 6 tokens, answers of 4, vocabulary 32) with β = 0.1, 0.5 and 1.0, h settles at
1/(2β) = 5, 1 and 0.5 and π(y_l) stops falling: the larger β, the higher it stays. In
the `dpo` kata the same toy, trained with DPO's loss, drives π(y_l) towards 0 whatever β.""",
    signature="def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,\n"
    "             chosen_mask, rejected_mask, beta=0.1) -> (loss, chosen_rewards, rejected_rewards)\n"
    "    # *_chosen_logps [B, Tc], *_rejected_logps [B, Tr], masks [B, Tc] / [B, Tr] -> [], [B], [B]",
    entry=("ipo_loss",),
    hints=(
        "IPO keeps DPO's margin h, the chosen log-ratio minus the rejected one, and replaces "
        "-log σ(β·h) by a squared distance to a fixed target, 1/(2β). Each log-ratio is a mean "
        "over that response's tokens, not a sum.",
        "Reduce each [B, T] log-ratio (policy minus reference) to [B] with a masked mean: masked "
        "sum divided by the mask's count clamped to 1 (mask → the inputs' dtype). Then h is [B], "
        "the loss is the batch mean of (h - 1/(2β))², and the rewards are β times each mean, "
        "computed without a graph.",
        "avg = lambda lp, m: (lp * m.to(lp.dtype)).sum(-1) / m.to(lp.dtype).sum(-1).clamp(min=1); "
        "c = avg(pc - rc, mc); r = avg(pr - rr, mr); "
        "loss = ((c - r - 1 / (2 * beta)) ** 2).mean(); "
        "return loss, (beta * c).detach(), (beta * r).detach().",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES, c.STABILITY, c.GRADIENTS, c.GRADCHECK,
        c.MASKED_GRAD_ZERO, c.REWARDS_DETACHED, c.KEEPS_GRAPH, c.INPUTS_UNCHANGED,
        c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "trained with β=0.1, 0.5 and 1.0, h settles at 1/(2β) and π(y_l) stops falling, "
              "higher for larger β"),
    ),
    mistakes=(
        Mistake("log-ratios summed instead of averaged", "values",
                "IPO (as TRL implements it) averages each response's log-ratio over its tokens: the masked sum "
                "divided by the mask's count, clamped to 1. A sum grows with length; the target 1/(2β) does not."),
        Mistake("target 1/β or β/2 instead of 1/(2β)", "values",
                "eq. 17's target is τ⁻¹/2 with τ = β, that is 1 / (2 * beta): mind the brackets, 1 / 2 * beta is β/2."),
        Mistake("(β·h - 1/β)² instead of (h - 1/(2β))²", "values",
                "that form, found in some guides, equals β²·(h - 1/β²)²: its minimum is at h = 1/β², not 1/(2β). "
                "Eq. 17 squares h - 1/(2β) with no β on h."),
        Mistake("DPO's -log σ instead of the square", "values",
                "IPO replaces DPO's -log σ(β·h) by (h - 1/(2β))²: a regression onto a finite margin."),
        Mistake("mask not applied", "values",
                "average over the response tokens only: multiply by the mask (cast to the logps' dtype), sum, and "
                "divide by the mask's count, not by T."),
        Mistake("no clamp (NaN on an empty response)", "values",
                "a row whose mask is all zeros divides 0 by 0; clamp the token count to at least 1 "
                "(count.clamp(min=1)) so that its log-ratio is 0."),
        Mistake("square applied per token instead of per sequence", "values",
                "average each response's log-ratio over its own tokens first, take h as the difference of the two "
                "averages, and square h - 1/(2β) once per pair."),
        Mistake("rewards from summed log-ratios", "values",
                "IPO's rewards are β times the averaged log-ratios that enter h, not DPO's summed ones."),
        Mistake("(β·h - 1/(2β))² instead of (h - 1/(2β))²", "values",
                "β multiplies h in DPO's logit, not in IPO's square: β²·(h - 1/(2β²))² has its minimum at "
                "h = 1/(2β²) (50 for β = 0.1, not 5). Eq. 17 squares h - 1/(2β)."),
        Mistake("rewards not detached", "rewards_detached",
                "the rewards are for logging: return (beta * logratio).detach(), or compute them under torch.no_grad()."),
    ),
)
