# A correct sequence_logps: a loop that starts each row from a fresh zero and adds the counted
# tokens, so a row (or a batch, at T = 1) with nothing counted returns a constant with no graph.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    out = []
    for b in range(logits.shape[0]):
        total, count = logits.new_zeros(()), 0
        for t in range(1, logits.shape[1]):
            if response_mask[b, t]:
                total = total + torch.log_softmax(logits[b, t - 1], dim=-1)[input_ids[b, t]]
                count += 1
        out.append(total / max(count, 1) if average else total)
    return torch.stack(out)
