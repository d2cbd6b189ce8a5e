"""The kata records: pure data, no torch. `grader.registry` is the only list of them."""
