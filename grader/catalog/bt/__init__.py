from grader.core.kata import Check, Kata, Mistake

KATA = Kata(
    name="bt",
    title="Bradley–Terry model and loss",
    summary="A Bradley–Terry model (BTModel, one learnable reward per item) and its stable loss (bt_loss)",
    statement="""\
Implement the Bradley–Terry preference model (Bradley & Terry 1952), the model
under every reward model and under DPO's loss: each item i has a strength r_i,
and

    P(i ≻ j) = exp(r_i) / (exp(r_i) + exp(r_j)) = σ(r_i - r_j)

Two things to write.

1. class BTModel(nn.Module)
   - BTModel(n_items) holds one learnable reward per item: an nn.Parameter named
     `reward`, of shape [n_items], float32 in a new model (so model.parameters()
     hands it to an optimiser). It is the model's only parameter.
   - forward(chosen_ids, rejected_ids), both int64 [B], returns
     P(chosen ≻ rejected) = σ(r_chosen - r_rejected), shape [B], in the reward
     parameter's dtype (float32, or float64 after model.double()),
     differentiable with respect to `reward`. It is a probability:
     forward(i, j) + forward(j, i) = 1. It reads the rewards at every call: after
     an optimiser step changes them in place, forward gives the new ones'
     probabilities. It gives the same values under torch.no_grad() and after
     model.eval(), before and after such a step, and leaves the id tensors it is
     given and the reward itself unchanged (no re-centring in forward: the
     optimiser's state refers to the parameter as its last step left it).
     model.eval() and model.train() switch the mode only: back in train mode,
     forward is differentiable with respect to `reward` as before.
   - The parameter names above are binding: a caller may write
     BTModel(n_items=n) and model(chosen_ids=c, rejected_ids=r).

2. bt_loss(reward_chosen, reward_rejected, label=1.0) -> loss
   - reward_chosen, reward_rejected: [B] float32 or float64. label: a float, or
     a [B] tensor in the rewards' dtype, in [0, 1]: the probability that chosen
     really beats rejected (1: it does; 0: the pair is reversed; in between: a
     soft label, e.g. the share of annotators who agreed).
   - with d = r_c - r_r, the mean over the batch of the binary cross-entropy of
     σ(d) against the label:
         loss = mean of  -(label · log σ(d) + (1 - label) · log σ(-d))
     a 0-dim tensor in the rewards' dtype.

Conventions, and why:
- bt_loss takes rewards (logits), not probabilities: from d,
  log σ(d) = -softplus(-d) is exact for gaps of hundreds, while the log of a
  probability is -inf once σ(d) rounds to 0. A reward model over-fits to exactly
  such gaps.
- The ranges the grader checks: bt_loss for reward gaps up to 1000 (float32 and
  float64, values and gradients), B = 1 to 257, ties (a gap of exactly 0), labels
  as a float or a [B] tensor (which must not be modified), and non-contiguous or
  expanded tensors; BTModel for B = 1 to 257, float32 and float64, and rewards up
  to ±900, where forward and its gradient must stay finite.
- No clamping, in the loss or in forward. Clamping σ(d) into [ε, 1 - ε] caps the
  loss at -log ε and makes its gradient 0 for a badly mis-ordered pair, the pair
  that most needs it; the exact gradient with respect to d is σ(d) - label, which
  tends to ±1 there.
- In forward, σ(r_i - r_j) rather than exp(r_i) / (exp(r_i) + exp(r_j)): the
  same number, without inf / inf = NaN once rewards pass about 88 in float32.

What the grader shows with your BTModel and bt_loss together: trained on the
pairs 0≻1, 2≻3 and 1≻3 (full-batch gradient descent), the rewards order
r0 > r1 > r3 and r2 > r3; the gap r0 - r3 keeps growing with more epochs,
because on data that never contradicts itself the maximum-likelihood rewards are
infinite (the over-fitting to watch for in reward models); and
forward(i, j) + forward(j, i) = 1 for every pair.""",
    signature="class BTModel(nn.Module):\n"
    "    def __init__(self, n_items)                  # self.reward: nn.Parameter [n_items]\n"
    "    def forward(self, chosen_ids, rejected_ids)  # [B] int64, [B] int64 -> [B] P(c ≻ r)\n"
    "def bt_loss(reward_chosen, reward_rejected, label=1.0) -> loss\n"
    "    # [B], [B], float or [B] -> []",
    entry=("BTModel", "bt_loss"),
    hints=(
        "A Bradley–Terry model is logistic regression on the difference of two strengths: "
        "P(i ≻ j) = σ(r_i - r_j). The model is a table of rewards; the loss is binary cross-entropy "
        "of that probability against the label, computed from the difference itself, never from a "
        "probability that may have rounded to 0 or 1.",
        "BTModel: in __init__, super().__init__() then self.reward = nn.Parameter(...) of shape "
        "[n_items]; in forward, index the rewards with both id tensors ([B] each) and take σ of the "
        "difference. bt_loss: d = r_c - r_r is [B]; log σ(d) and log σ(-d) are both available "
        "stably (F.logsigmoid); weight them by label and 1 - label, then average over the batch.",
        "self.reward = nn.Parameter(torch.zeros(n_items)); "
        "forward: return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids]); "
        "bt_loss: d = reward_chosen - reward_rejected; "
        "y = torch.as_tensor(label, dtype=d.dtype, device=d.device); "
        "return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()  "
        "(equivalently F.binary_cross_entropy_with_logits(d, y.expand_as(d))).",
    ),
    checks=(
        Check("signature", "bt_loss exists and takes (reward_chosen, reward_rejected, label=1.0), in order"),
        Check("output_types", "bt_loss returns one 0-dim tensor in the rewards' dtype"),
        Check("values", "bt_loss matches the reference on seeded rewards: float and [B] labels (hard and soft), "
                        "B=1 to 257, float32 and float64"),
        Check("stability", "bt_loss stays finite and right for reward gaps up to 1000, correctly and badly ordered"),
        Check("gradients", "bt_loss's gradients match the reference's, including ±1/B for badly mis-ordered pairs"),
        Check("gradcheck", "a hand-written backward passes torch.autograd.gradcheck in float64 "
                           "(skipped when autograd derives it)"),
        Check("keeps_graph", "bt_loss's result is still connected to the rewards' graph"),
        Check("inputs_unchanged", "bt_loss does not modify its input tensors, a [B] label included"),
        Check("row_independence", "bt_loss of a batch is the mean of bt_loss of its rows, labels sliced with them"),
        Check("reward_parameter", "BTModel(n_items) (that parameter name) holds one registered nn.Parameter, "
                                  "reward, float32 of shape [n_items]"),
        Check("forward_values", "forward(chosen_ids, rejected_ids) (those names, passed by name and by position) "
                                "returns [B] σ(r_c - r_r) in the reward's dtype for rewards the grader sets (B=1 to "
                                "257, float32 and float64, rewards up to ±900, probabilities near 0 and near 1 within "
                                "2.5e-7), the same under torch.no_grad() and after model.eval(), and again (in each "
                                "mode) after the rewards change in place; it leaves its id tensors and its reward "
                                "unchanged"),
        Check("forward_complement", "forward(i, j) + forward(j, i) = 1 for every pair"),
        Check("reward_gradient", "the gradient of forward's output reaches `reward`: σ'(r_c - r_r) at the chosen ids, "
                                 "minus that at the rejected ids, finite for rewards up to ±900, and again after "
                                 "model.eval(), model.train() and a step"),
        Check("cuda_agreement", "bt_loss on CUDA and on the CPU agree (skipped without CUDA)"),
        Check("device_hygiene", "advisory: bt_loss runs on 'meta' tensors (no tensor created on a fixed device)"),
        Check("behaviour", "trained on 0≻1, 2≻3, 1≻3: r0 > r1 > r3, r2 > r3, the gap keeps growing, and "
                           "forward(i, j) + forward(j, i) = 1"),
    ),
    mistakes=(
        Mistake("clamped probabilities in the loss", "stability",
                "clamping σ(d) to [ε, 1 - ε] (or F.binary_cross_entropy, which clamps the log at -100) caps the "
                "loss and zeroes the gradient of a badly mis-ordered pair. Work from the reward gap: "
                "-(label * F.logsigmoid(d) + (1 - label) * F.logsigmoid(-d)).mean(), or "
                "F.binary_cross_entropy_with_logits(d, label)."),
        Mistake("log(sigmoid(x)) instead of logsigmoid", "stability",
                "σ(d) rounds to 0 or 1 for gaps of a few dozen, so log σ(d) or log(1 - σ(d)) is -inf, and "
                "0 · -inf is NaN even where the label is 0 or 1. Use F.logsigmoid(d) and F.logsigmoid(-d)."),
        Mistake("max(d, 0) + log1p(exp(-|d|)) by hand: wrong gradient at a tie", "gradients",
                "the value is right, but autograd takes the slope of |d| at d = 0 as 0 and that of clamp(d, min=0) "
                "as 1 (of relu as 0), so at an exact tie the gradient is 1 - label (or -label) instead of "
                "1/2 - label. A BTModel starts with every reward equal, every pair tied: with clamp its first "
                "gradient is 0 for label 1 and it never trains. F.logsigmoid(d) or "
                "F.binary_cross_entropy_with_logits(d, label) have the exact gradient everywhere."),
        Mistake("label ignored", "values",
                "label is the probability that chosen beats rejected: weight log σ(d) by label and log σ(-d) by "
                "1 - label. Only label = 1 reduces to -log σ(d)."),
        Mistake("forward returns logits, not a probability", "forward_values",
                "forward is P(chosen ≻ rejected) = σ(r_c - r_r), a probability; the reward gap r_c - r_r is what "
                "bt_loss takes."),
        Mistake("forward returns P(rejected ≻ chosen)", "forward_values",
                "the first argument is the chosen item: σ(r_chosen - r_rejected), which is above 0.5 when the "
                "chosen item is the stronger one."),
        Mistake("exp(r_c) / (exp(r_c) + exp(r_r)) overflows", "forward_values",
                "exp overflows to inf for rewards above about 88 (float32), and inf / inf is NaN; the same "
                "probability is torch.sigmoid(r_c - r_r), which never overflows."),
        Mistake("forward squeezed to a 0-dim tensor when B = 1", "forward_values",
                "`.squeeze()` drops every dimension of size 1, so one pair gives shape [] instead of [1] and "
                "`p[0]` or `torch.cat` fails for the caller; index the rewards and return the [B] difference's "
                "sigmoid as it is (or squeeze one named dimension)."),
        Mistake("1/(1 + exp(-d)) in forward: NaN gradient for large gaps", "reward_gradient",
                "exp(-d) overflows to inf for gaps beyond about 88 (float32): the value 1/(1 + inf) = 0 is right, "
                "but its gradient is inf · 0 = NaN, and one NaN poisons every reward the optimiser updates. "
                "torch.sigmoid(d) has a stable gradient everywhere."),
        Mistake("label modified in place", "inputs_unchanged",
                "torch.as_tensor(label) returns the caller's tensor itself, so .clamp_, .mul_ or y[...] = ... "
                "rewrites the caller's labels; compute on a new tensor (label.clamp(...), y = y * ...)."),
        Mistake("reward not a parameter", "reward_parameter",
                "a plain tensor attribute (even with requires_grad=True) is not in model.parameters(), so an "
                "optimiser never updates it and state_dict() does not save it: "
                "self.reward = nn.Parameter(torch.zeros(n_items))."),
    ),
)
