"""The grading core: kata records, the engine, results, comparisons, every number, state and workspaces.

Knows nothing about terminals (`grader.render`) or about how a child process is run
(`grader.sandbox`).
"""
