# check: values
# WRONG: loops over rows and tokens whose empty row returns logits[b].sum() * 0 to stay on the graph: with any -inf logit in that row (a masked vocabulary) it is NaN instead of 0.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    out = []
    for b in range(logits.shape[0]):
        terms = []
        for t in range(1, logits.shape[1]):
            if response_mask[b, t]:
                row = logits[b, t - 1]  # the position before token t predicts it
                terms.append(row[input_ids[b, t]] - torch.logsumexp(row, dim=0))
        # With nothing counted the row is 0, still connected to the logits' graph.
        total = torch.stack(terms).sum() if terms else logits[b].sum() * 0
        out.append(total / max(len(terms), 1) if average else total)
    return torch.stack(out)
