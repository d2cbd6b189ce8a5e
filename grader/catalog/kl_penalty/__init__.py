from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="kl_penalty",
    title="KL penalty estimators k1, k2, k3",
    summary="Per-token estimates of KL(π‖π_ref) from sampled tokens: k1, k2, k3 (Schulman 2020)",
    track="policy-gradient",
    statement="""\
Implement the three per-token estimators of KL(π ‖ π_ref) from J. Schulman's note
"Approximating KL divergence" (2020), as RLHF trainers use them for the KL penalty.

Inputs are the per-token log-probs of sampled tokens under the policy π (`logps`, [B, T])
and under the reference model π_ref (`ref_logps`, [B, T]), in one float dtype (float32 or
float64). The tokens were sampled from π. With r = π_ref(x) / π(x):

    d   = log r = ref_logps - logps                               [B, T]
    k1  = -d             unbiased, high variance, negative on some tokens
    k2  = d² / 2         biased (close when π ≈ π_ref), low variance
    k3  = e^d - 1 - d    unbiased, low variance, never negative

Return the [B, T] estimate of the `kind` asked for ("k1", "k2" or "k3"; default "k3")
in the inputs' dtype. No reduction (the caller masks and averages), and no clamping.
Any other `kind` raises ValueError with a message naming the three kinds: verl's names
too ("low_var_kl", "mse", "abs", "full", and "k1+", "k2+", "k3+", its value-of-k,
gradient-of-k2 forms) are not kinds of this contract.

Ranges: values must be right for |d| up to 20 (larger is unspecified), with log-probs
down to -200, and T may be 0. Gradients flow to `logps`, and to `ref_logps` when it
requires grad: do not detach either.

Conventions, where code you may have seen differs:
- d is log(π_ref / π), the blog's log r, so k1 = logps - ref_logps (TRL and verl
  write k1 the same way). The sign matters most for k3: with logps - ref_logps in
  the exponent it estimates the other KL, KL(π_ref ‖ π), which tokens sampled from π
  do not estimate without importance weights.
- No clamping. verl's "low_var_kl" clamps d to ±20 and k3 to ±10; this kata does not,
  so k3 at d = 20 is e^20 - 21 ≈ 4.85e8.
- Stay in log space. e^logps underflows to 0 below about -104 in float32, so a ratio of
  probabilities, exp(ref_logps) / exp(logps), is 0 / 0 where d is an ordinary number.
- For small |d|, e^d - 1 - d loses its digits in float32 (k3 ≈ d²/2 ≈ 5e-11 at
  |d| = 1e-5, while e^d is rounded to 6e-8); torch.expm1(d) - d keeps them. An
  advisory check (shown, never deciding) measures it.

What the grader shows with your function: over a vocabulary of 32, with expectations
computed exactly as sums weighted by π (not from samples), E_π[k1] = E_π[k3] = KL(π‖π_ref)
while E_π[k2] is off (a little when π ≈ π_ref, a lot when not); k3 is never negative
while k1 is negative on some tokens; and k3 varies less than k1 when π is close to π_ref.""",
    signature="def kl_penalty(logps, ref_logps, kind=\"k3\") -> kl\n"
    "    # logps, ref_logps [B, T] -> kl [B, T]",
    entry=("kl_penalty",),
    hints=(
        "Every estimator is a function of one number per token, the log-ratio d = log(π_ref/π) of the "
        "sampled token. k1 is the plain Monte Carlo estimate, k2 a squared one, and k3 adds the "
        "control variate r - 1 (whose expectation under π is 0) to k1.",
        "Compute d = ref_logps - logps once ([B, T]); then k1 = -d, k2 = d²/2, k3 = (e^d - 1) - d, "
        "elementwise, with no sum or mean. Check `kind` first and raise ValueError for anything else.",
        "if kind not in ('k1', 'k2', 'k3'): raise ValueError(f\"unknown kind {kind!r}: expected 'k1', 'k2' "
        "or 'k3'\"); d = ref_logps - logps; return -d if kind == 'k1' else 0.5 * d * d if kind == 'k2' "
        "else torch.expm1(d) - d",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES,
        Check("stability", "right for |d| up to 20 with log-probs down to -200, in float32 and float64"),
        c.GRADIENTS, c.GRADCHECK, c.KEEPS_GRAPH,
        Check("bad_input", "an unknown kind ('k4', 'K3', ' k3', 'kl', '', verl's 'low_var_kl' and 'k3+') raises "
                           "ValueError whose message names k1, k2 and k3"),
        c.INPUTS_UNCHANGED, c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("k3_precision", "advisory: k3's worst relative error for 1e-5 <= |d| < 1e-3 in float32, against "
                              "float64 (expm1(d) - d keeps the digits e^d - 1 - d loses)"),
        Check("behaviour", "exact expectations over a vocabulary of 32: E[k1] = E[k3] = KL, E[k2] biased, "
                           "k3 >= 0, k1 < 0 on some tokens, k3 varies less than k1 near π_ref"),
    ),
    mistakes=(
        Mistake("d with the wrong sign", "values",
                "d = ref_logps - logps = log(π_ref/π); k3 = e^d - 1 - d with that d. With logps - ref_logps inside "
                "the exp, k3 estimates KL(π_ref ‖ π), which tokens sampled from π do not."),
        Mistake("k2 without the ½", "values", "k2 = d²/2: the ½ makes it agree with KL to second order near π = π_ref."),
        Mistake("k3 as exp(d) − d (the −1 dropped)", "values",
                "k3 = (r - 1) - log r = e^d - 1 - d: the -1 makes the control variate r - 1 have mean 0, so k3 "
                "stays unbiased and is 0 where π = π_ref."),
        Mistake("k1 with the sign flipped", "values",
                "k1 = -log r = -d = logps - ref_logps: its mean under π is KL(π‖π_ref), which is never negative."),
        Mistake("k3 clamped (verl's low_var_kl)", "stability",
                "the contract has no clamping: k3 at d = 20 is e^20 - 21 ≈ 4.85e8, not 10. Remove the clamps "
                "(verl clamps d to ±20 and k3 to ±10; this kata does not)."),
        Mistake("log-ratio through probabilities", "stability",
                "exp(logps) underflows to 0 below about -104 in float32, so exp(ref_logps) / exp(logps) is 0 / 0. "
                "Stay in log space: d = ref_logps - logps, and k3 = torch.expm1(d) - d."),
        Mistake("unknown kind not rejected", "bad_input",
                "check `kind` before computing: if kind not in ('k1', 'k2', 'k3'): raise ValueError(...) naming "
                "the three kinds, instead of falling through to a default estimator."),
    ),
)
