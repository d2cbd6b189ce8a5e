from grader.catalog import common as c
from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="gae",
    title="Generalised advantage estimation",
    summary="GAE advantages and returns over right-padded responses (Schulman et al. 2016, eq. 16)",
    track="policy-gradient",
    statement="""\
Implement generalised advantage estimation (Schulman et al. 2016, eq. 16) as PPO for
language models uses it: one value and one reward per response token.

Inputs, all [B, T]: per-token `rewards` (in RLHF mostly 0, with the reward model's
score on the last token and a KL penalty on every token), the critic's `values`, and a
`mask` (float, an integer type of any width, or bool) that is ones on the response,
then zeros: rows are right-padded, never have holes, and may be empty (T >= 1, but
every row may be padding). Rewards and values share one float dtype (float32 or
float64; half precision is out of range); both outputs have that dtype. A float mask
has that dtype too (a float64 mask with float32 rewards is out of range).

    δ_t        = r_t + γ·V_{t+1}·m_{t+1} - V_t
    A_t        = δ_t + γ·λ·m_{t+1}·A_{t+1}      backwards, from t = T - 1 to 0
    returns_t  = A_t + V_t                      on response tokens

The value after a row's last response token is 0: the response is complete, there is
nothing to bootstrap from. At padding positions both outputs are 0. Rewards and values
at padding positions hold arbitrary finite numbers (a critic's output on pad tokens, up
to the dtype's largest) and must not change anything. Return (advantages, returns).

Ranges: 0 <= γ <= 1 and 0 <= λ <= 1 (defaults γ = 1, λ = 0.95, as RLHF trainers use),
both ends included, each a Python float or int (γ = 0 and λ = 1 as ints, as a config
file gives them, are the same as 0.0 and 1.0); B ≥ 1 of any size (B = 0, an empty
micro-batch, is out of range); T up to 512.

Conventions, where code you may have seen differs:
- No whitening. Normalising the advantages over the batch (TRL's PPO trainer does it)
  is the caller's choice, not part of GAE; return them as eq. 16 gives them.
- returns = advantages + values (the λ-return the critic regresses on), not the
  discounted reward-to-go; the two agree only at λ = 1.
- Both outputs carry no autograd graph: they are targets, not functions of the
  parameters. Detach the inputs, or compute under torch.no_grad(). The grader passes
  rewards and values with requires_grad to check it.
- Compute the recursion as written, backwards. A closed form that rescales a reversed
  cumsum by (γλ)^-t underflows (then divides 0 by 0) on long rows.

What the grader shows with your function: λ = 0 gives the one-step TD errors; λ = γ = 1
gives the reward-to-go minus V (Monte Carlo); returns - values = advantages on response
tokens; appending padding with garbage rewards and values changes nothing; and with
all values 0, a single reward r at a row's last token gives A_t = (γλ)^(L-1-t)·r.""",
    signature="def gae(rewards, values, mask, gamma=1.0, lam=0.95) -> (advantages, returns)\n"
    "    # rewards, values, mask [B, T] -> advantages [B, T], returns [B, T]",
    entry=("gae",),
    hints=(
        "GAE is an exponentially weighted sum of one-step TD errors δ_t: A_t = Σ_k (γλ)^k δ_{t+k}. "
        "The sum runs forwards in time, so compute it backwards, from the last token to the first, "
        "carrying A_{t+1}. The mask decides where a row's response ends: nothing after it may count.",
        "Zero the padding first (r·m, V·m, m cast to the rewards' dtype). Then loop t from T - 1 down to 0 "
        "with [B] tensors: δ_t uses V_{t+1}·m_{t+1} (0 after the last token), A_t = δ_t + γλ·m_{t+1}·A_{t+1}, "
        "times m_t. returns = (A + V)·m. Everything under no_grad or on detached inputs.",
        "r, v = rewards.detach(), values.detach(); m = mask.to(r.dtype); r, v = r * m, v * m; "
        "adv = torch.zeros_like(r); next_v = next_m = next_a = r.new_zeros(r.shape[0]); "
        "for t in reversed(range(r.shape[1])): delta = r[:, t] + gamma * next_v * next_m - v[:, t]; "
        "next_a = (delta + gamma * lam * next_m * next_a) * m[:, t]; adv[:, t] = next_a; "
        "next_v, next_m = v[:, t], m[:, t]; return adv, (adv + v) * m",
    ),
    checks=(
        c.SIGNATURE, c.OUTPUT_TYPES, c.VALUES,
        Check("stability", "right on rows of 200 to 512 tokens: where (γλ)^t leaves the dtype's range, and at "
                           "γ = λ = 1, where nothing discounts the tail beyond 256 tokens"),
        Check("rewards_detached", "advantages and returns carry no autograd graph (rewards and values are "
                                  "passed with requires_grad)"),
        c.INPUTS_UNCHANGED, c.ROW_INDEPENDENCE, c.CUDA_AGREEMENT, c.DEVICE_HYGIENE,
        Check("behaviour", "λ = 0 gives TD errors, λ = γ = 1 reward-to-go minus V, returns - values = "
                           "advantages, garbage padding changes nothing, one reward decays as (γλ)^(L-1-t)"),
    ),
    mistakes=(
        Mistake("forward instead of backward recursion", "values",
                "A_t depends on the future: loop t from T - 1 down to 0 and carry A_{t+1}; a forward loop "
                "accumulates the past's TD errors instead."),
        Mistake("γ·λ applied to δ's value term", "values",
                "δ_t = r_t + γ·V_{t+1}·m_{t+1} - V_t has γ alone; λ only weighs the next advantage: "
                "A_t = δ_t + γ·λ·m_{t+1}·A_{t+1}."),
        Mistake("no bootstrap (V_{t+1} missing)", "values",
                "δ_t = r_t + γ·V_{t+1}·m_{t+1} - V_t: the next value is the critic's estimate of what follows."),
        Mistake("the value after the last token taken from padding", "values",
                "the response is complete after its last token: V_{t+1} there is 0. Multiply the next value by "
                "m_{t+1} (or zero values at padding first), or the critic's output on a pad token leaks in."),
        Mistake("mask ignored (garbage padding leaks)", "values",
                "zero rewards and values at padding (r·m, V·m) and stop the recursion at each row's end "
                "(γλ·m_{t+1}·A_{t+1}); masking only the outputs leaves the padding's garbage in the last tokens."),
        Mistake("returns as the discounted reward-to-go", "values",
                "returns = advantages + values (the λ-return); the discounted reward-to-go equals it only at λ = 1."),
        Mistake("returns not masked (padding keeps the values)", "values",
                "returns are 0 at padding: (advantages + values)·m, with values zeroed at padding."),
        Mistake("advantages whitened", "values",
                "no whitening: normalising over the batch is the caller's choice (TRL's PPO does it after GAE); "
                "return A_t as eq. 16 gives it."),
        Mistake("(γλ)^−t rescaled cumsum", "stability",
                "(γλ)^t underflows on long rows (0.7425^t below float32's range near t = 290), and the rescaling "
                "divides 0 by 0. Compute the recursion backwards: A_t = δ_t + γλ·m_{t+1}·A_{t+1}."),
        Mistake("advantages left with a graph", "rewards_detached",
                "advantages and returns are targets: detach rewards and values first (or compute under "
                "torch.no_grad()), so that no gradient flows through them into the critic or the policy."),
    ),
)
