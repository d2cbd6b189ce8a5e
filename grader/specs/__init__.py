"""The torch side of each kata: input cases, mistake models, behaviour runs.

`grader.specs.NAME` defines `SPEC`, built from the helpers in `base`.
"""
