"""One folder per kata: `NAME/__init__.py` is its record (pure data, no torch), `NAME/spec.py`
its torch side (cases, mistake models, behaviour run). `grader.registry` is the only list.

`common` holds the check descriptions several katas share; `pairs` and `toy` the torch-side
building blocks of the preference katas.
"""
