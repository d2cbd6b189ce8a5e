"""Training a toy policy with the submission's own loss, to show how the loss behaves."""
