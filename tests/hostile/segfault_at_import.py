# kata: get_probs
# Dies of SIGSEGV while being imported (any kata: it defines nothing).
import ctypes

ctypes.string_at(0)
