"""Check descriptions shared by several katas, so each is written once."""
from grader.core.kata import Check, Mistake

SIGNATURE = Check("signature", "the function exists and takes the contract's parameters, in order, with its "
                  "defaults, each passable by position or by name")
OUTPUT_TYPES = Check("output_types", "outputs are tensors of the right number, shape and dtype (the input's float "
                     "dtype, whatever torch's default dtype), with or without a graph on the inputs, and none an "
                     "inference tensor")
VALUES = Check("values", "outputs match the reference on seeded random inputs: several shapes, B=1 and T=1, float32 "
               "and float64, with and without a graph on the inputs; a later call leaves them as returned")
STABILITY = Check("stability", "outputs stay finite and right at the magnitudes real training produces")
GRADIENTS = Check("gradients", "autograd gradients match the reference's, at dtype-dependent tolerance, for a scaled "
                  "loss too, with the constants frozen as in training, and after a second call built another graph")
GRADCHECK = Check("gradcheck", "a hand-written backward passes torch.autograd.gradcheck in float64 (skipped when autograd derives it)")
MASKED_GRAD_ZERO = Check("masked_grad_zero", "the gradient is exactly zero at every masked-out (prompt or padding) position")
REWARDS_DETACHED = Check("rewards_detached", "the returned rewards carry no autograd graph")
KEEPS_GRAPH = Check("keeps_graph", "the result is still connected to the inputs' graph (no .item() or .detach() on the way)")
INPUTS_UNCHANGED = Check("inputs_unchanged", "the function does not modify its input tensors (nor their "
                         "requires_grad or .grad: no backward inside), with or without a graph on them, nor torch's "
                         "grad mode, default dtype or random generator")
ROW_INDEPENDENCE = Check("row_independence", "each batch row's result depends on that row alone (grading rows one by one gives the same)")
CUDA_AGREEMENT = Check("cuda_agreement", "the same inputs on CUDA and on the CPU give the same outputs (skipped without CUDA)")
DEVICE_HYGIENE = Check("device_hygiene", "advisory: runs on 'meta' tensors to find tensors created on a fixed device")
CONSTANTS_DETACHED = Check("constants_detached", "inputs that are constants of the objective (old log-probs, "
                           "advantages, returns, reference log-probs) receive no gradient: they are passed with "
                           "requires_grad and must come out untouched by backward")
BAD_INPUT = Check("bad_input", "inputs the contract rejects (wrong shape, bad option, impossible sizes) raise ValueError "
                  "with a message, instead of returning something silently wrong")


def softplus_by_hand(x: str, tie: str) -> Mistake:
    """-log σ(x) written out as max(-x, 0) + log1p(exp(-|x|)): right values, but at x = 0 autograd
    takes |x|'s slope as 0 and clamp's as 1 (relu's as 0). `x` names the kata's argument, `tie`
    says when it is 0 in practice."""
    return Mistake(
        "max(-x, 0) + log1p(exp(-|x|)) by hand: wrong gradient at a tie", "gradients",
        f"-log σ(x) = max(-x, 0) + log1p(exp(-|x|)) has the right value everywhere, but at x = 0 autograd "
        f"takes the slope of |x| as 0 and that of clamp(-x, min=0) as 1 (of relu as 0), so the gradient there "
        f"is twice the right one (or 0) instead of -1/2 per unit of x. Here x = {x}, and it is 0 {tie}. "
        "F.logsigmoid(x) has the exact gradient everywhere.")
