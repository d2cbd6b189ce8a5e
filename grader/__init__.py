"""dpo-kata: katas and a grader for preference-optimisation losses in PyTorch."""

__version__ = "0.1.0"
