"""quiesce() waits for the process's other threads to stop burning CPU (a spinning worker of the
previous runtime), and gives up after its limit; per-thread CPU accounting from /proc."""
import threading
import time

import pytest

from kernelbench.bench import handover

pytestmark = pytest.mark.skipif(not handover.thread_cpu_ns(), reason="no /proc/self/task here")


def _spinner(seconds):
    def spin():
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    t = threading.Thread(target=spin)
    t.start()
    return t


def test_thread_cpu_counts_a_spinning_thread():
    me = threading.get_native_id()
    before = handover.thread_cpu_ns()
    t = _spinner(0.3)
    time.sleep(0.15)                       # the spinner runs (this thread sleeps: no GIL contention)
    busy = handover.others_busy_ns(before, handover.thread_cpu_ns(), me)   # while it is still alive
    t.join()
    assert busy > 5e6                     # >= 5 ms of CPU (a loaded machine gives it less than 150)


def test_quiesce_waits_for_the_spinner_and_gives_up_at_its_limit():
    # windows of 10-20 ms: on a loaded machine the spinner still gets > 5 % of each (a 2 ms window
    # can fall entirely in another process's time slice)
    t = _spinner(0.4)
    q = handover.quiesce(max_wait_s=0.05, window_s=0.01)
    assert q["settled"] is False and q["waited_s"] >= 0.05
    q = handover.quiesce(max_wait_s=3.0, window_s=0.02)
    t.join()
    assert q["settled"] is True and q["waited_s"] >= 0.05     # it waited for the spinner, then settled
    q = handover.quiesce(max_wait_s=1.0)          # nothing spinning now
    assert q["settled"] is True


def test_machine_load_counts_another_process_busy_core():
    """A child process that spins for 0.4 s is 'another process': the load must include at least the
    CPU time the child really got (its rusage), and never exceed the machine's cores."""
    import os
    import resource
    import subprocess
    import sys
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = handover.MachineLoad().start()
    subprocess.run([sys.executable, "-c", "import time\nt=time.perf_counter()+0.4\nwhile time.perf_counter()<t: pass"],
                   check=True)
    wall = time.perf_counter() - m.t0
    v = m.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cores = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall
    assert v is not None                                  # /proc/stat exists here (the module-level skip)
    assert child_cores - 0.05 <= v <= os.cpu_count() + 0.05, (v, child_cores)
