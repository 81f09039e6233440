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


def test_machine_load_is_a_number_of_cores():
    m = handover.MachineLoad().start()
    time.sleep(0.1)
    v = m.stop()
    assert v is None or 0.0 <= v <= 64
