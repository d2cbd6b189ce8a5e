"""The process side: the zygote, its forked children, their limits and confinement.

`pool` is the grader's handle (no torch); `zygote` and `worker` run in the sandboxed
processes. The sandbox knows a probe (an object with `probe(module, cases, seed, cuda)`),
not katas.
"""
