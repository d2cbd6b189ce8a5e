# kata: get_probs
# Writes a result file whose entries are not what the grader expects (a list for the reason
# it stopped, a word for a byte count), then leaves: an error for this kata, never a crash of
# the grader (which would lose every other kata's report).
import os

import importlib

plain = importlib.import_module("grader.sandbox.plain")  # dynamically: a static import of grader is refused before any run

plain.dump({"fatal": ["not", "a", "record"], "output": {"bytes": "lots", "tail": "hello"}}, "result.bin")
os._exit(0)
