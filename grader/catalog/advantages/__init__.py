from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="advantages",
    title="Group-relative advantages (GRPO) and RLOO",
    summary="GRPO's group-normalised advantages (group, batch or no scaling) and RLOO's leave-one-out baseline",
    track="policy-gradient",
    statement="""\
Implement the advantages of the group-based policy-gradient methods. A batch holds B
completions, G per prompt, in contiguous rows: rows g·G ... g·G + G - 1 are the G
completions of prompt g (a group). `rewards` is [B], one number per completion.

group_advantages(rewards, group_size, scale="group", eps=1e-4)  (Shao et al. 2024,
§4.1.2; TRL's `scale_rewards`):

    A = r - mean of r's group                    (every scale)
    scale="group":  A / (std of r's group + eps)
    scale="batch":  A / (std of all B rewards + eps)
    scale="none":   A                            (Dr. GRPO, Liu et al. 2025)

"batch" still subtracts each group's own mean; only the divisor is the batch's.

rloo_advantages(rewards, group_size)  (Ahmadian et al. 2024):

    A_i = r_i - mean of the other G - 1 rewards of its group

Both return [B] advantages in the rewards' dtype, in input order, with no autograd graph
(they are targets; the grader passes rewards with requires_grad). Both raise ValueError
with a message when rewards is not 1-D (rewards already grouped as [n, G], as OpenRLHF
and verl hold them, included), when group_size < 2, when B is not a multiple of
group_size (under every scale), or (group_advantages) when scale is not one of the three
strings (TRL's old boolean scale_rewards=True/False, and other libraries' names such as
"group_norm", included).
A group whose rewards are all equal gives zeros (up to the rounding of its mean), never
NaN.

Ranges: float32 or float64 (half precision is out of range); B of any size (hundreds of
groups); group_size from 2 to B (B = G is one group); rewards of any sign up to 1e4 in
magnitude with spreads of order 1 (a summed log-prob as a reward), or spreads down to
1e-3 around 0; eps any positive number.

Conventions, where sources differ:
- The standard deviation has Bessel's correction (divides by G - 1), as torch.std and
  TRL compute it. The paper writes std() without saying; numpy's default is the
  population std (divides by G), which is not this contract.
- eps is added to the std, not to the variance, as TRL does (1e-4).
- "batch" is TRL's scale_rewards="batch": the group's mean, the batch's spread.

What the grader shows with your functions: each group's advantages sum to 0; a group of
spread s gets standard deviation s/(s + eps) under "group"; shifting one group's rewards
changes nothing under "group" and "none" but does under "batch"; scaling all rewards by c
scales "none" by c and leaves "group" unchanged; RLOO's advantages are G/(G - 1) times
the mean-baseline ones.""",
    signature="def group_advantages(rewards, group_size, scale='group', eps=1e-4) -> [B]\n"
    "def rloo_advantages(rewards, group_size) -> [B]\n"
    "    # rewards [B], B = prompts × G, groups contiguous -> [B], no graph",
    entry=("group_advantages", "rloo_advantages"),
    hints=(
        "Each prompt's G completions are compared with each other, not with other prompts: the "
        "baseline is the group's own mean reward (RLOO: the mean of the others). GRPO then divides "
        "by a spread, so the advantages are comparable across prompts.",
        "Reshape the [B] rewards to [B/G, G] (rows are groups because the rows of one prompt are "
        "contiguous), reduce over dim=1 with keepdim=True so the [B/G, 1] statistics broadcast, and "
        "reshape back to [B]. Validate the shapes first, and detach: advantages carry no graph.",
        "g = rewards.detach().reshape(-1, G); a = g - g.mean(1, keepdim=True); "
        "'group': a / (g.std(1, keepdim=True) + eps); 'batch': a / (rewards.std() + eps); "
        "'none': a; return a.reshape(-1). RLOO: (g - (g.sum(1, keepdim=True) - g) / (G - 1)).reshape(-1). "
        "torch.std divides by G - 1 (Bessel); raise ValueError before any of it on bad input.",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES,
        Check("values", "outputs match the reference at every seed on a fixed battery (an equal group, B = G, G = 2, "
              "B = 33, B = G = 257, groups of different means and spreads, 0/1 rewards under every scale, eps "
              "deciding, a non-contiguous input, float32 and float64, every scale) and on seeded random shapes"),
        Check("stability", "rewards near 1e4 in float32 and float64: the spread is computed around the mean, "
              "not as E[r²] - E[r]², and a batch of 128 groups keeps each group's sum its own"),
        Check("rewards_detached", "the advantages carry no autograd graph, even when the rewards do"),
        c.BAD_INPUT, c.INPUTS_UNCHANGED, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "with your functions: groups sum to 0, std s/(s+eps), shift and scale invariances, "
              "RLOO = G/(G-1) × mean baseline"),
    ),
    mistakes=(
        Mistake("population std instead of Bessel's", "values",
                "the contract's std divides by G - 1 (Bessel's correction), as torch.std does by default; "
                "unbiased=False or correction=0 (numpy's default) divides by G."),
        Mistake("'batch' without subtracting the group mean", "values",
                "scale='batch' only changes the divisor: subtract each group's own mean as always, then divide "
                "by the std of all B rewards plus eps."),
        Mistake("no eps (NaN on a group of equal rewards)", "values",
                "divide by std + eps: a group whose rewards are all equal has std 0, and 0 / 0 is NaN."),
        Mistake("eps argument ignored", "values",
                "divide by std + eps with the eps the caller passes; a hard-coded 1e-4 (TRL's default) is right only "
                "for the default."),
        Mistake("eps added to the variance", "values",
                "the contract adds eps to the standard deviation, as TRL does: a / (std + eps), not "
                "a / sqrt(var + eps) (that is layer norm's convention)."),
        Mistake("batch normalisation when 'group' is asked", "values",
                "scale='group' divides each group by its own std (reduce over dim=1 of the [B/G, G] view), not by "
                "the std of the whole batch."),
        Mistake("strided groups (view(G, -1))", "values",
                "a prompt's completions are contiguous rows, so the groups are rewards.view(-1, G) (one group per "
                "row); view(G, -1) puts rows g, g + B/G, g + 2B/G, ... together."),
        Mistake("RLOO including the reward itself in its baseline", "values",
                "the leave-one-out baseline is (sum of the group - r_i) / (G - 1): the mean of the other G - 1 "
                "rewards, never r_i itself."),
        Mistake("variance as E[r²] - E[r]²", "stability",
                "with rewards near 1e4 in float32, r² is about 1e8 and E[r²] - E[r]² loses every digit (even "
                "going negative); subtract the mean first, or use torch.std."),
        Mistake("advantages keep the rewards' graph", "rewards_detached",
                "advantages are targets: compute them from rewards.detach() (or under torch.no_grad()), so no "
                "gradient ever flows back into the rewards."),
        Mistake("silent wrong output on a bad group_size, shape or scale", "bad_input",
                "check first: rewards.dim() == 1, group_size >= 2, B % group_size == 0, and scale in "
                "('group', 'batch', 'none'); raise ValueError saying which, instead of returning NaN, inf or a "
                "reshape of the wrong groups."),
    ),
)
