"""KTO's behaviour run: the toy policy trained with the submission's loss, each label's pull
measured against its margin to z0, and what the grader expects of both."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from grader.catalog import toy
from grader.checks.details import details, series
from grader.core import tolerances as tol
from grader.core.faults import MalformedResults
from grader.core.results import CheckResult

F64 = torch.float64


TRAINED = ("train_desirable", "train_undesirable", "train_z0")  # the training run's curves, one value a step


class KTOBehaviour:
    """KTO's shape, measured with the submission's loss, and a training run on the toy policy.

    Probes (float64, B = 1 per call, z0 = 2): the loss and d loss / d r over r - z0 in
    [-100, 100] for a desirable and an undesirable example; the gradient reaching the KL
    inputs. Training: the toy policy's table of logits (grader.catalog.toy), the desirable
    answer and the undesirable one scored as unpaired examples, z0 from two other answers.
    """

    beta, z0, weights = 0.1, 2.0, (1.0, 1.5)
    gaps = tuple(range(-100, 101, 10))
    steps, lr = 60, 2.0
    kl_answers = ([3, 7, 11, 20], [1, 2, 4, 6])

    def probe(self, fn: Callable, gap: float, desirable: bool) -> tuple[float, float, float]:
        ref = torch.tensor([-30.0], dtype=F64)
        policy = (ref + self.z0 + gap).requires_grad_(True)
        kl_ref = torch.tensor([-12.0, -20.0], dtype=F64)
        kl_policy = (kl_ref + self.z0).requires_grad_(True)
        w_d, w_u = self.weights
        loss = fn(policy, ref, kl_policy, kl_ref, torch.tensor([desirable]), beta=self.beta,
                  desirable_weight=w_d, undesirable_weight=w_u)[0]
        g_policy, g_kl = torch.autograd.grad(loss, [policy, kl_policy], allow_unused=True)
        return float(loss.detach()), float(g_policy[0]) if g_policy is not None else 0.0, \
            float(g_kl.abs().max()) if g_kl is not None else 0.0

    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for label, desirable in (("desirable", True), ("undesirable", False)):
            probes = [self.probe(fn, float(gap), desirable) for gap in self.gaps]
            out[f"{label}_loss"] = [p[0] for p in probes]
            out[f"{label}_grad"] = [p[1] for p in probes]
            out[f"{label}_kl_grad"] = max(p[2] for p in probes)
        out.update(self.train(fn, seed))
        return out

    def train(self, fn: Callable, seed: int) -> dict[str, list[float]]:
        g = torch.Generator().manual_seed(seed)
        n_prompt, n_answer = len(toy.PROMPT), len(toy.CHOSEN)
        table = (0.1 * torch.randn(n_prompt + n_answer, toy.VOCAB, generator=g, dtype=F64)).requires_grad_(True)
        answers = torch.tensor([toy.CHOSEN, toy.REJECTED, *self.kl_answers])  # [4, A]

        def seq_logps(t: torch.Tensor) -> torch.Tensor:  # [4] summed log-probs of each answer
            logp = torch.log_softmax(t[n_prompt:], dim=-1)  # [A, V] the answer positions
            return logp.gather(1, answers.T).sum(0)

        with torch.no_grad():
            ref = seq_logps(table)
        labels = torch.tensor([True, False])
        desirable, undesirable, kl = [], [], []
        for _ in range(self.steps):
            lp = seq_logps(table)
            loss, _, z0 = fn(lp[:2], ref[:2].clone(), lp[2:], ref[2:].clone(), labels.clone(), beta=self.beta)
            (grad,) = torch.autograd.grad(loss, table)
            with torch.no_grad():
                desirable.append(float(lp[0]) / n_answer)
                undesirable.append(float(lp[1]) / n_answer)
                kl.append(float(z0))
                table -= self.lr * grad
        return {"train_desirable": desirable, "train_undesirable": undesirable, "train_z0": kl}

    def judge(self, data: dict[str, Any]) -> CheckResult:
        gaps, beta = list(self.gaps), self.beta
        at = {gap: i for i, gap in enumerate(gaps)}
        problems, judged = [], {}
        curves_in = [f"{lb}_{what}" for lb in ("desirable", "undesirable") for what in ("loss", "grad")]
        lengths = {k: len(gaps) for k in curves_in} | {k: self.steps for k in TRAINED}
        if not all(isinstance(data.get(k), list) and len(data[k]) == n and
                   all(isinstance(x, float) for x in data[k]) for k, n in lengths.items()) or \
                not all(isinstance(data.get(f"{lb}_kl_grad"), float) for lb in ("desirable", "undesirable")):
            raise MalformedResults("the behaviour run's record is not the one the grader's run writes")
        numbers = [x for k in lengths for x in data[k]] + [data["desirable_kl_grad"], data["undesirable_kl_grad"]]
        if not all(math.isfinite(x) for x in numbers):
            return CheckResult("behaviour", "fail", "the probes or the training run produced NaN or inf.")
        for label, w in zip(("desirable", "undesirable"), self.weights):
            a = f"{'an' if label[0] == 'u' else 'a'} {label} example"
            loss, grad = data[f"{label}_loss"], data[f"{label}_grad"]
            half, half_want, peak_want = loss[at[0]], w / 2, beta * w / 4
            far = max(abs(grad[at[-100]]), abs(grad[at[100]]))
            peak = abs(grad[at[0]])
            judged.update({f"{label}_loss_at_z0": half, f"{label}_weight": w,
                           f"{label}_grad_at_minus_100": grad[at[-100]], f"{label}_grad_at_plus_100": grad[at[100]],
                           f"{label}_grad_at_z0": grad[at[0]], f"{label}_kl_grad": data[f"{label}_kl_grad"]})
            if abs(half - half_want) > tol.KTO_HALF_WEIGHT_RTOL * w:
                problems.append(f"{a}'s loss at r = z0 is {half:.6g}, not half its weight ({half_want:g})")
            if min(loss) < -tol.KTO_BOUND_SLACK or max(loss) > w + tol.KTO_BOUND_SLACK:
                problems.append(f"{a}'s loss left [0, {w:g}] (from {min(loss):.4g} to {max(loss):.4g})")
            if far > tol.KTO_FAR_GRADIENT_MAX:
                problems.append(f"{a} at |r - z0| = 100 still gets a gradient of {far:.3g}")
            if abs(peak - peak_want) > tol.KTO_PEAK_GRADIENT_RTOL * peak_want:
                problems.append(f"{a}'s gradient at r = z0 is {peak:.4g}, not β·weight/4 = {peak_want:.4g}")
            if data[f"{label}_kl_grad"] != 0:  # exactly none: z0 is detached
                problems.append(f"a gradient of {data[f'{label}_kl_grad']:.3g} reaches kl_policy_logps: z0 is not detached")
        dpo = beta / (1 + math.exp(-beta * 100))  # |d -log σ(β·x) / dx| = β·σ(-β·x) at x = -100
        judged["dpo_grad_at_minus_100"] = dpo
        des, und = data["train_desirable"], data["train_undesirable"]
        judged.update({"train_desirable_change": des[-1] - des[0], "train_undesirable_change": und[-1] - und[0]})
        if des[-1] - des[0] < tol.KTO_TRAIN_MOVE_NATS:
            problems.append(f"training did not raise the desirable answer (log π per token {des[0]:.3f} → {des[-1]:.3f})")
        if und[0] - und[-1] < tol.KTO_TRAIN_MOVE_NATS:
            problems.append(f"training did not lower the undesirable answer (log π per token {und[0]:.3f} → {und[-1]:.3f})")
        g_minus = data["desirable_grad"][at[-100]]
        summary = (f"β = {beta:g}, z0 = {self.z0:g}, weights {self.weights[0]:g} / {self.weights[1]:g}: loss at r = z0 "
                   f"{data['desirable_loss'][at[0]]:.4g} / {data['undesirable_loss'][at[0]]:.4g}; "
                   f"|d loss/d r| for a desirable example at r - z0 = -100: {abs(g_minus):.2e}, where DPO's -log σ "
                   f"gives {dpo:.3g}; gradient reaching kl_policy_logps: "
                   f"{max(data['desirable_kl_grad'], data['undesirable_kl_grad']):.3g}. Toy policy, {self.steps} SGD "
                   f"steps (lr {self.lr:g}), unpaired labels: log π per token of the desirable answer "
                   f"{des[0]:.3f} → {des[-1]:.3f}, of the undesirable one {und[0]:.3f} → {und[-1]:.3f}; z0 "
                   f"{data['train_z0'][0]:.3g} → {data['train_z0'][-1]:.3g}"
                   + (" (the mismatched answers lose probability too: the KL estimate is negative, clamped at 0)."
                      if max(data["train_z0"]) == 0 else "."))
        # The probes over r - z0 are numbers judged, not curves over training.
        judged["margins"] = [float(x) for x in gaps]
        for lb in ("desirable", "undesirable"):
            judged[f"{lb}_loss_by_margin"] = data[f"{lb}_loss"]
            judged[f"{lb}_grad_by_margin"] = data[f"{lb}_grad"]
        curves = [series("log π per token", des, label="desirable"), series("log π per token", und, label="undesirable"),
                  series("z0", data["train_z0"])]
        info = details(curves, **judged)
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary, details=info)
        return CheckResult("behaviour", "pass", summary + " KTO's value is a sigmoid: it saturates on both sides, "
                           "so an example far on the wrong side of z0 stops pulling (KTO gives up on hopeless or "
                           "mislabelled examples), unlike DPO's -log σ.", details=info)
