"""One module per command (or per small family of commands), each exporting COMMANDS.

`grader.cli` registers every module named in MODULES, in this order (the order of
`kata --help`). A new command is a new module here and one line in MODULES.
Modules import torch only inside the commands that grade, never at import time.
"""
MODULES = ("catalog", "grade", "watch", "workspace", "report", "experiment", "ci")
