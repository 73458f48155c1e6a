"""The build's second process: tasks run beside the main one, their values handed back as made.

A build's tally, report and ``events.csv`` are made by a :class:`ForkWorker` (a forked child
that dies with its parent) while the main process prepares the points and writes the maps; on
a machine without fork or with one core, by an :class:`Inline` worker, in turn. A task is a
generator function: its values come back in order (:meth:`Worker.stream`), each as soon as it
is made.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator


def second_core() -> Worker:
    """Return a worker on a forked process on Linux with 2+ cores, else one that runs inline.

    The tally and report (matplotlib) and the points and HTML maps (folium) need little from
    each other, so on a machine with two cores they are made at the same time. The process is
    forked at once and imports what the tally and the report need (:func:`_warm_up`) while
    this one reads the events. Elsewhere, where fork is unsafe or missing, the work runs in
    turn.

    Returns
    -------
    Worker
        A :class:`ForkWorker`, or an :class:`Inline` worker; use it as a ``with`` block.
    """
    if sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1:
        return ForkWorker(warm_up=_warm_up)
    return Inline()


def _warm_up() -> None:
    """In the report's process: import the tally's and the report's libraries, lay out a page."""
    from khorasan_map import aggregate  # noqa: F401
    from khorasan_map.static import preload

    preload()


class Worker:
    """Runs tasks, generators whose values :meth:`stream` hands out in order; a ``with`` block.

    Leaving the block ends the worker; on an error or an interrupt its unfinished work is
    cancelled.
    """

    def stream(self, fn, /, *args, **kwargs) -> Iterator:
        """Run the generator function ``fn(*args, **kwargs)``; return an iterator of its values.

        A fault in the task is raised by the ``next()`` that would have returned its value.
        """
        raise NotImplementedError

    def shutdown(self, *, cancel_futures=False) -> None:
        """End the worker, first cancelling unfinished work when ``cancel_futures``."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        self.shutdown(cancel_futures=kind is not None)
        return False


class Inline(Worker):
    """A worker that runs each task in this process, each value made when it is asked for."""

    def stream(self, fn, /, *args, **kwargs) -> Iterator:
        """Return the generator itself: each value is made when ``next()`` asks for it."""
        return fn(*args, **kwargs)


#: Above this many rows in a task's tables, the task is handed to a freshly forked child, which
#: inherits them, rather than pickled through a pipe (a million events are about 400 MB of
#: pickle and several seconds each way; a fork takes a fraction of a second).
INHERIT_ROWS = 100_000


class ForkWorker(Worker):
    """Run tasks in one forked child, started at once, that never outlives this process.

    The child is forked when the worker is made and runs ``warm_up`` while this process
    carries on. Each task is sent to it (pickled, so a function of a module) and run in turn;
    its values come back as it yields them, received on a thread so the child never waits for
    this process to ask. A first task whose tables hold more than ``INHERIT_ROWS`` rows goes
    instead to a child forked for it, which inherits its arguments (the warmed-up child is
    stopped). The child dies with its parent (``PR_SET_PDEATHSIG``), leaves Ctrl-C and SIGTERM
    to the parent, and is killed when the ``with`` block ends on an error or an interrupt, so
    no worker writes a file after the command has ended.
    """

    def __init__(self, warm_up=None):
        self._sent = 0
        self._sender = self._receiver = None
        self._start(warm_up, None)

    def _start(self, warm_up, first_task) -> None:
        context = multiprocessing.get_context("fork")
        task_out, self._tasks = context.Pipe(duplex=False)
        self._results, result_in = context.Pipe(duplex=False)
        self._child = context.Process(
            target=_run_child,
            args=(task_out, result_in, (self._tasks, self._results), warm_up, first_task),
            daemon=True,
        )
        self._child.start()
        task_out.close()
        result_in.close()

    def stream(self, fn, /, *args, **kwargs) -> Iterator:
        """Send the task to the child (or fork one for it); return a :class:`ChildStream`."""
        task = (fn, args, kwargs)
        if self._sent == 0 and _rows(args) > INHERIT_ROWS:
            self.shutdown(cancel_futures=True)  # the warmed-up child has had no task
            self._start(None, task)
        else:
            self._send(task)
        self._sent += 1
        _join(self._receiver)  # a task's values are all received before the next task's
        self._receiver = ChildStream(self._child, self._results)
        return self._receiver

    def _send(self, task) -> None:
        """Pickle ``task`` here (a fault is raised to the caller) and write it on a thread.

        A task larger than the pipe's buffer (64 KiB; the shipped build's is 80 KB) would
        otherwise hold this process until the child, still warming up, reads it.
        """
        from multiprocessing.reduction import ForkingPickler

        payload = ForkingPickler.dumps(task)
        _join(self._sender)  # one writer at a time keeps the tasks whole and in order
        self._sender = _signal_free_thread(_write_quietly, self._tasks, payload)

    def shutdown(self, *, cancel_futures=False) -> None:
        """Let the child finish its tasks and end (kill it with ``cancel_futures``); wait."""
        if self._child is None:
            return
        if cancel_futures and self._child.is_alive():
            self._child.kill()  # which also ends a write the child would never read
        _join(self._sender)
        self._tasks.close()  # the child ends once its last task is done
        self._child.join()
        _join(self._receiver)  # it has read to the end of the child's results
        self._results.close()
        self._child = self._sender = self._receiver = None


def _signal_free_thread(target, *args) -> threading.Thread:
    """Start a daemon thread running ``target(*args)`` that takes no SIGINT or SIGTERM.

    The signals then always reach the main thread, which turns them into KeyboardInterrupt;
    and while it holds them back (a build being published) no other thread lets one in.
    """
    from khorasan_map.output import signals_held

    thread = threading.Thread(target=target, args=args, daemon=True)
    with signals_held():  # a new thread starts with its creator's mask
        thread.start()
    return thread


def _join(thread) -> None:
    """Wait for ``thread`` (a thread or a :class:`ChildStream`) to end, if there is one."""
    if thread is not None:
        thread.join()


def _write_quietly(connection, payload: bytes) -> None:
    """Write ``payload`` to ``connection``; a child that has died is reported by the result."""
    with contextlib.suppress(OSError):
        connection.send_bytes(payload)


class ChildStream:
    """The values of one :class:`ForkWorker` task, received on a thread as the child sends them.

    ``next()`` returns the next value, raises the task's fault, or raises ``StopIteration``
    once the task has ended; a child that died before ending its task raises RuntimeError.
    """

    def __init__(self, child, receive):
        self._child = child
        self._messages = queue.SimpleQueue()
        self._thread = _signal_free_thread(self._receive, receive)

    def _receive(self, receive) -> None:
        while True:
            try:
                message = receive.recv()
            except EOFError:
                message = ("died", None)
            except Exception as exc:  # a fault the child sent that cannot be rebuilt here
                message = ("fault", exc)
            self._messages.put(message)
            if message[0] != "value":
                return

    def join(self) -> None:
        """Wait until every message of the task has been received."""
        self._thread.join()

    def __iter__(self):
        return self

    def __next__(self):
        kind, value = self._messages.get()
        if kind == "value":
            return value
        self._messages.put((kind, value))  # every later next() ends the same way
        if kind == "end":
            raise StopIteration
        if kind == "fault":
            raise value
        self._child.join()
        raise RuntimeError(
            f"the report worker ended with code {self._child.exitcode} before finishing"
        )


def _rows(args) -> int:
    """Return the rows of the tables among a task's arguments."""
    import pandas as pd

    return sum(len(arg) for arg in args if isinstance(arg, pd.DataFrame))


def _run_child(tasks, results, parent_ends, warm_up, first_task=None) -> None:
    """Body of a :class:`ForkWorker` child: die with the parent, warm up, run each task.

    ``first_task`` (``fn, args, kwargs``), when given, was inherited with the fork and runs
    before the tasks that come through the pipe.
    """
    for end in parent_ends:  # else the task pipe would never reach its end
        end.close()
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    if os.getppid() == 1:  # the parent died before prctl
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.freeze()  # what the parent made lives as long as this process: never scan it for garbage
    if warm_up is not None:
        with contextlib.suppress(Exception):  # only a head start: a task reports any fault
            warm_up()
        gc.freeze()  # nor the libraries just imported
    while True:
        try:
            fn, args, kwargs = first_task or tasks.recv()
        except EOFError:
            break
        first_task = None
        try:
            for value in fn(*args, **kwargs):
                results.send(("value", value))
        except Exception as exc:
            results.send(("fault", exc))
        else:
            results.send(("end", None))
    results.close()
