"""Ctrl-C that a finaliser cannot swallow.

CPython raises KeyboardInterrupt in whatever Python code the main thread runs when SIGINT arrives. When that code is a
finaliser (``__del__``, a weakref callback), the exception is printed as "Exception ignored" and lost, and a training
run goes on as if nothing had happened. Inside ``sigint_recorded()`` the signal is also recorded, and
``raise_pending()`` (called once per training iteration) raises it again.
"""
import contextlib
import signal

_pending = False


def _on_sigint(signum, frame):
    global _pending
    _pending = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_recorded():
    """Record SIGINT for ``raise_pending`` inside the block (main thread only; elsewhere a no-op); the previous
    handler is restored on exit."""
    global _pending
    _pending = False
    try:
        previous = signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread: signals cannot be handled here
        previous = None
    try:
        yield
    finally:
        _pending = False
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def raise_pending():
    """KeyboardInterrupt when a Ctrl-C arrived inside ``sigint_recorded()`` (whether or not it was swallowed)."""
    if _pending:
        raise KeyboardInterrupt
