"""Fake of picamera2/job.py: an operation the camera thread completes, with a Future for the result.

Same shape as the real Job: a list of functions returning (done, result), run one frame at a time.
"""

from __future__ import annotations

from concurrent.futures import CancelledError, Future
from typing import Any


class Job:
    def __init__(self, functions: list[Any], signal_function: Any = None) -> None:
        self._functions = functions
        self._future: Future[Any] = Future()
        self._future.set_running_or_notify_cancel()
        self._signal_function = signal_function
        self._result: Any = None
        self.calls = 0

    def execute(self) -> bool:
        """Run what can run now; True once every function is done."""
        assert self._functions, "Job already completed!"
        try:
            while self._functions:
                done, result = self._functions[0]()
                self.calls += 1
                if not done:
                    break
                self._functions.pop(0)
            if not self._functions:
                self._result = result
        except Exception as e:
            self._future.set_exception(e)
            self._functions = []
        return not self._functions

    def signal(self) -> None:
        assert not self._functions, "Job not finished!"
        if not self._future.done():
            self._future.set_result(self._result)
        if self._signal_function:
            self._signal_function(self)

    def get_result(self, timeout: float | None = None) -> Any:
        # Like the real one: a timeout raises concurrent.futures.TimeoutError (the builtin
        # TimeoutError on Python 3.11+) and leaves the job queued.
        return self._future.result(timeout=timeout)

    def cancel(self) -> None:
        self._future.set_exception(CancelledError)
