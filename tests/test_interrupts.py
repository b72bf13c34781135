"""utils/interrupts.py: a Ctrl-C swallowed inside sigint_recorded() is raised again by raise_pending()."""
import signal
import threading

import pytest

from helpers import swallowed_ctrl_c
from rddg_basicsr.utils import interrupts


def test_a_swallowed_ctrl_c_is_raised_again_until_the_block_ends():
    before = signal.getsignal(signal.SIGINT)
    with interrupts.sigint_recorded():
        interrupts.raise_pending()  # nothing pending yet
        swallowed_ctrl_c()
        for _ in range(2):
            with pytest.raises(KeyboardInterrupt):
                interrupts.raise_pending()
    interrupts.raise_pending()  # the block's end clears it
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back


def test_outside_the_main_thread_it_is_a_no_op():
    seen = []

    def run():
        with interrupts.sigint_recorded():
            seen.append(signal.getsignal(signal.SIGINT))
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [signal.getsignal(signal.SIGINT)]
