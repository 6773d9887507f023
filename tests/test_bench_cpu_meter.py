"""The bench's CPU meter counts a server's children too (tftpd-hpa's work is in a child per transfer)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from refimpl.bench import cpu_meter

BURN = "import time\nend = time.process_time() + {0}\nwhile time.process_time() < end: pass\n"


@pytest.mark.skipif(not cpu_meter.available(), reason="the CPU meter reads /proc (Linux only)")
@pytest.mark.parametrize("wait_for_child", [True, False], ids=["child reaped", "child running till the end"])
def test_a_childs_cpu_is_counted(wait_for_child):
    """A parent that burns nothing itself and forks a child that burns 0.4 s: the meter sees about 0.4 s.

    Reaped or not when the measurement ends, the child's time counts (reaped: in the parent's
    cutime; not reaped: from the meter's last sample of the live child)."""
    child = f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {BURN.format(0.4)!r}])\n"
    child += "p.wait()\n" if wait_for_child else "import time; time.sleep(1.5)\n"
    parent = subprocess.Popen([sys.executable, "-c", child])
    try:
        with cpu_meter.CpuMeter(parent.pid) as meter:
            if wait_for_child:
                parent.wait(10)
            else:
                import time

                time.sleep(1.0)  # the child is done burning, its parent sleeps on without reaping it
        # the interpreters' start-up adds a little; a missed child would read near 0
        assert 0.35 <= meter.seconds <= 1.2, meter.seconds
    finally:
        parent.kill()
        parent.wait()


def test_a_process_that_is_gone_reads_zero():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert cpu_meter.cpu_seconds(proc.pid) == 0.0
