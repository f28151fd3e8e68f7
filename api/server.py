"""The production server: gunicorn serving the app factory, for one worker process or many,
each with a pool of threads so that open streams do not hold up other requests."""

from __future__ import annotations

import gc
import socket
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

DEFAULT_THREADS = 64
# Threads of each worker kept for plain requests (/healthz, writes) however many streams are
# open: a stream beyond the rest is refused with a 503 rather than left to queue them.
SPARE_THREADS = 8


def streams_for(threads: int) -> int:
    """How many streams a worker with this many threads may hold open."""
    return max(threads - SPARE_THREADS, 1)


class StreamingWorker(ThreadWorker):
    """gunicorn's gthread worker, which on SIGTERM also ends the open streams, so that it stops
    at once instead of waiting out the graceful timeout for clients that never hang up.

    For gunicorn run by hand: `-k api.server.StreamingWorker --threads N`.
    """

    def load_wsgi(self) -> None:
        super().load_wsgi()
        set_aside()  # the app it loaded, and every module, live as long as the worker

    def handle_exit(self, sig: int, frame: Any) -> None:
        # A worker still loading the app has no `wsgi` yet, and no stream open.
        feed = getattr(getattr(self, "wsgi", None), "extensions", {}).get("feed")
        if feed is not None:
            feed.close()
        super().handle_exit(sig, frame)


class AddressUnavailable(Exception):
    """The address cannot be listened on (taken, or not one of this machine's)."""


class Server(BaseApplication):
    """gunicorn with its settings given here rather than on its command line."""

    def __init__(
        self, store: str, host: str, port: int, workers: int, threads: int = DEFAULT_THREADS
    ) -> None:
        self.store = store
        self.threads = threads
        self.settings = {
            "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
            "workers": workers,
            "worker_class": "api.server.StreamingWorker",
            "threads": threads,
            # The control socket (gunicorn 25.1 on) is a file in the user's home or run
            # directory, shared by every instance: not wanted for a service started anywhere.
            "control_socket_disable": True,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.settings.items():
            if name in self.cfg.settings:  # a setting newer than the installed gunicorn
                self.cfg.set(name, value)

    def load(self) -> Flask:
        # Called in each worker after the fork (no preloading): every process opens the store
        # itself, so no connection or SQLite handle crosses a fork.
        from api import create_app

        return create_app({"STORE": self.store, "MAX_STREAMS": streams_for(self.threads)})


def set_aside() -> None:
    """Set what a worker has loaded (modules, the app, its schemas: all it keeps until it
    ends) aside from the cyclic garbage collector. Otherwise each full collection of a
    request's garbage goes over them all again: a fifth of a heavy page's time (a replay's
    500 steps), measured with benchmarks/pages.py. A bulk load in the worker (the background
    projector) finds them set aside and leaves them so (readmodel.fewer_collections)."""
    gc.collect()
    gc.freeze()


def check_address(host: str, port: int) -> None:
    """Fail in one line before gunicorn starts: it would retry for five seconds, logging each."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(info[0], info[1]) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            probe.bind(info[4])
    except OSError as error:
        raise AddressUnavailable(
            f"cannot serve on {host}:{port}: {error.strerror or error}"
        ) from None
