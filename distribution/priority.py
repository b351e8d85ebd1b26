"""The threads that answer HTTP run some nice levels above the engines' compute threads.

On a machine whose cores llama.cpp keeps busy, an event loop woken to hand a token on
otherwise waits for a time slice behind llama.cpp's threads: measured with
``bench/ttft_breakdown.py`` on 2 cores over four runs, the first token took 1.25-1.90 ms
(median) from the engine to uvicorn at the same priority and 0.83-0.95 ms ten levels
above, and Herd's time outside the engine per request went from 6.58-7.06 to 4.89-5.65 ms.

Linux keeps a nice value per thread and a new thread starts with its creator's: the
serving thread is raised once the engines are loaded, and whatever loads an engine later
first puts its own thread back to the process's priority, so that llama.cpp's threads
never inherit the raised one. Raising needs CAP_SYS_NICE (root has it) or an RLIMIT_NICE
that allows it; without either the server runs at the process's priority and says so.
"""

import os
import threading

BASE = os.getpriority(os.PRIO_PROCESS, 0)  # the process's own nice, read before any thread is raised


def raise_this_thread(levels: int) -> bool:
    """This thread (and the threads it starts from now on) ``levels`` nice levels above the
    process's own; False where that is not permitted."""
    if levels <= 0:
        return True
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(-20, BASE - levels))
    except PermissionError:
        return False
    return True


def at_base_priority() -> None:
    """This thread back at the process's own priority (lowering one's own is always permitted)."""
    if os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != BASE:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BASE)
