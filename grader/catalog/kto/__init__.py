from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="kto",
    title="KTO loss on unpaired examples",
    summary="Kahneman-Tversky Optimisation: desirable/undesirable labels, a detached reference point z0 "
            "(Ethayarajh et al. 2024)",
    track="policy-gradient",
    statement="""\
Implement the KTO loss (Ethayarajh et al. 2024, eq. 7) as TRL's KTOTrainer computes it. Each
example is one completion with a label, desirable or not; there are no pairs.

Inputs are sequence log-probs (already summed over each completion's tokens): the policy's
and the frozen reference model's for the B examples ([B] each), the same two for K
mismatched (prompt, completion) pairs ([K] each; K may differ from B), and `desirable`
([B] bool, or integers 0 and 1 only, of any integer width, read as bool). B ≥ 1, and
the three [B] inputs share it (B = 0 and unequal lengths are out of range). One float
dtype for every float input: float32 or float64 (bfloat16 and float16 are out of range).

    z0      = max(0, mean(kl_policy_logps - kl_ref_logps)),   detached
    r       = policy_logps - ref_logps           (ref_logps is a constant)
    loss_i  = desirable_weight   · (1 - σ(β·(r_i - z0)))   if desirable
              undesirable_weight · (1 - σ(β·(z0 - r_i)))   otherwise
    loss    = mean of loss_i over all B examples
    rewards = β·r  ([B], input order, detached);  kl = z0  ([], detached)

Return (loss, rewards, kl), each in the inputs' dtype. No gradient may flow through z0:
the mismatched log-probs come from the policy's own forward pass and carry a graph in
training, and the grader passes them (and ref_logps) with requires_grad and checks that
they receive none. Empty kl_* inputs raise ValueError. A batch may be all desirable or all
undesirable, and the log-prob inputs may be non-contiguous (slices of longer tensors).

Ranges: β from 0.01 to 1; desirable_weight and undesirable_weight each from 0.01 to
100, equal or not (equal weights other than 1 still scale the loss); any B and K
(hundreds of examples and of KL pairs); every log-prob input, the kl_* ones included,
down to about -3e4 (sequence log-probs of long completions: thousands of nats);
|r - z0| up to 1e4, where β·|r - z0| reaches 1000. The mean KL estimate may be
negative whatever the labels (all desirable, all undesirable or mixed).

Conventions, where sources differ:
- z0 is clamped at 0 and detached, as TRL does; the paper writes z0 = KL(π‖π_ref), which is
  never negative, but its estimate from a batch can be.
- The loss is the mean over all B examples (TRL concatenates the desirable and undesirable
  losses and takes one mean), not a mean per label.
- rewards are β·r for every example in input order; TRL logs the desirable and undesirable
  ones separately.

What the grader shows with your loss: no gradient reaches z0's inputs; at r = z0 an
example's loss is half its weight; the loss stays between 0 and the weight, and its
gradient vanishes far on either side of z0, where DPO's -log σ keeps pushing (at
r - z0 = -100, β = 0.1: about 4.5e-6 against DPO's 0.1): KTO gives up on hopeless
examples. Training the toy policy on unpaired labels raises the desirable completion and
lowers the undesirable one.""",
    signature="def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps,\n"
              "             desirable, beta=0.1, desirable_weight=1.0,\n"
              "             undesirable_weight=1.0) -> (loss, rewards, kl)\n"
              "    # policy_logps, ref_logps, desirable [B]; kl_policy_logps, kl_ref_logps [K]\n"
              "    # -> loss [], rewards [B], kl []",
    entry=("kto_loss",),
    hints=(
        "KTO judges each completion alone against a reference point z0, an estimate of the policy's KL "
        "to the reference model: a desirable completion should have an implicit reward above z0, an "
        "undesirable one below. The value function is a sigmoid, so the loss is bounded.",
        "z0 is one number from the kl_* inputs (a mean, clamped at 0, detached); r = policy - ref is [B]. "
        "Build both per-example losses as [B] tensors and pick one per row with torch.where(desirable.bool(), "
        "...), then take one mean over all B.",
        "z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach(); r = policy_logps - ref_logps.detach(); "
        "d = desirable_weight * torch.sigmoid(-beta * (r - z0)); u = undesirable_weight * torch.sigmoid(-beta * (z0 - r)); "
        "loss = torch.where(desirable.bool(), d, u).mean(); return loss, (beta * r).detach(), z0; "
        "# before all this: raise ValueError when a kl_* input is empty",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES,
        Check("values", "outputs match the reference at every seed on a fixed battery (all desirable, all "
              "undesirable, each also with a negative KL estimate, 0/1 integer labels in int64, int32, int8 and "
              "uint8, K ≠ B, r = z0 exactly, r - z0 = ±100, unequal weights, equal weights 2 and 0.5, weights "
              "0.01 and 100, β = 0.01 and 1, B = 1, 33 and 257, float32 and float64) and on seeded random shapes"),
        Check("stability", "|r - z0| up to 1e4 (β·|r - z0| up to 1000) and KL log-probs of thousands of nats: "
              "values and gradients stay finite and right"), c.GRADIENTS, c.GRADCHECK,
        Check("rewards_detached", "the returned rewards and kl carry no autograd graph"),
        c.KEEPS_GRAPH,
        Check("constants_detached", "no gradient reaches ref_logps, kl_policy_logps or kl_ref_logps: they are passed "
              "with requires_grad and must come out untouched by backward (z0 is detached)"),
        c.BAD_INPUT, c.INPUTS_UNCHANGED, c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "half weight at r = z0, bounded loss, vanishing gradient far from z0 (vs DPO), "
              "and the toy policy trained on unpaired labels"),
    ),
    mistakes=(
        Mistake("z0 not detached", "constants_detached",
                "z0 is a reference point, not an objective: (kl_policy_logps - kl_ref_logps).mean().clamp(min=0)"
                ".detach(). Without the detach the loss also pushes the mismatched pairs' log-probs."),
        Mistake("ref_logps not detached", "constants_detached",
                "the reference model is frozen: r = policy_logps - ref_logps.detach()."),
        Mistake("z0 not clamped at 0", "values",
                "a KL is never negative, but its batch estimate can be: clamp z0 at 0 (.clamp(min=0)), as TRL does."),
        Mistake("z0 from the batch's own log-ratios", "values",
                "z0 is estimated from the mismatched pairs, kl_policy_logps - kl_ref_logps, not from the "
                "examples being scored (their log-ratio is r itself)."),
        Mistake("DPO's -log σ instead of 1 - σ", "values",
                "KTO's loss is weight · (1 - σ(·)), bounded by the weight; -log σ is DPO's, unbounded, and keeps "
                "pushing hopeless examples."),
        Mistake("undesirable term with the wrong sign", "values",
                "an undesirable example's loss is undesirable_weight · (1 - σ(β·(z0 - r))): it falls as r drops "
                "below z0. 1 - σ(β·(r - z0)) rewards raising it."),
        Mistake("weights swapped", "values",
                "desirable_weight multiplies the desirable examples' losses, undesirable_weight the others."),
        Mistake("mean over desirable examples only", "values",
                "the loss is the mean over all B examples, desirable and undesirable together (one .mean() of "
                "the [B] per-example losses)."),
        Mistake("rewards without β", "values",
                "the rewards are the implicit rewards β·(policy_logps - ref_logps), as DPO's are, not the bare "
                "log-ratios."),
        Mistake("rewards not detached", "rewards_detached",
                "rewards and kl are for logging: return (beta * r).detach() and a detached z0."),
        Mistake("silent NaN on empty kl inputs", "bad_input",
                "the mean of an empty tensor is NaN: raise ValueError when kl_policy_logps or kl_ref_logps is empty."),
    ),
)
