"""The spec interface, the child-side probe, the checks and the diagnosis of mistakes.

`function.FunctionSpec` describes a kata's entry point; `judge` holds the checks, each a
function of a `Context` returning a `CheckResult`.
"""
