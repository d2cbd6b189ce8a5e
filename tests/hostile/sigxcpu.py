# kata: get_probs
# Ends the way a child past its CPU-time limit ends: by SIGXCPU.
import os
import signal

os.kill(os.getpid(), signal.SIGXCPU)
