"""The production server: gunicorn serving the app factory, for one worker process or many."""

from __future__ import annotations

import socket

from flask import Flask
from gunicorn.app.base import BaseApplication


class AddressUnavailable(Exception):
    """The address cannot be listened on (taken, or not one of this machine's)."""


class Server(BaseApplication):
    """gunicorn with its settings given here rather than on its command line."""

    def __init__(self, store: str, host: str, port: int, workers: int) -> None:
        self.store = store
        self.settings = {
            "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
            "workers": workers,
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

        return create_app({"STORE": self.store})


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
