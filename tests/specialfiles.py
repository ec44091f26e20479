"""Special files for tests, made inside a test's own temporary directory: device nodes,
sockets, symlinks that dangle or loop, and FIFOs fed or drained from a thread.

Why here: the hostile suite, the atomic-output tests and the CLI output tests all point the
tool at such files, and a FIFO helper that can block a test forever is worth writing once.
Nothing here touches a file outside the directory it is given; device nodes are made with
``os.mknod`` (tests run as root), so no test ever writes to the machine's own ``/dev``.
"""

from __future__ import annotations

import os
import select
import socket
import stat
import threading
import time
from pathlib import Path

import pytest


def make_device(path: Path, minor: int) -> Path:
    """A character device node of the kernel's memory driver (major 1): 3 null, 5 zero,
    7 full. Made here so nothing ever writes to the machine's own ``/dev``."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root (CI runs as root)")
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return path


NULL_DEVICE, ZERO_DEVICE, FULL_DEVICE = 3, 5, 7


def make_socket(path: Path) -> Path:
    """A Unix socket file nobody listens on (opening it fails with ENXIO). Bound through
    ``/proc/self/fd`` so a long temporary path cannot pass the 108-byte address limit."""
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind(f"/proc/self/fd/{directory}/{path.name}")
    finally:
        os.close(directory)
    return path


def make_symlink_loop(directory: Path, name: str) -> Path:
    first, second = directory / name, directory / f"{name}.other"
    first.symlink_to(second.name)
    second.symlink_to(first.name)
    return first


def make_dangling_symlink(path: Path) -> Path:
    path.symlink_to(path.parent / f"{path.name}.missing-target")
    return path


class FifoWriter:
    """Feeds ``data`` into a FIFO from a thread, once the tool opens it for reading.

    The thread never blocks forever: it opens the FIFO without blocking (retrying while no
    reader has it open), and ``close()`` ends it whether or not a reader ever came. A reader
    that goes away early ends the writing with EPIPE, which is not an error here.
    """

    def __init__(self, fifo: Path, data: bytes) -> None:
        self.fifo = fifo
        self.data = data
        self.written = 0
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, name=f"fifo-writer {fifo.name}")
        self._thread.start()

    def _feed(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody reads it yet
                time.sleep(0.01)
                continue
            break
        else:
            return
        self.opened.set()
        try:
            view = memoryview(self.data)
            while view and not self._stop.is_set():
                _, ready, _ = select.select([], [fd], [], 0.05)
                if not ready:
                    continue
                try:
                    count = os.write(fd, view[: 1 << 16])
                except BlockingIOError:
                    continue
                self.written += count
                view = view[count:]
        except BrokenPipeError:
            pass
        finally:
            os.close(fd)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class FifoReader:
    """Drains a FIFO from a thread, as a consumer of the tool's output would.

    Opened without blocking at once, so a tool that opens the FIFO for writing never waits
    for a reader; ``close()`` ends the thread whatever the tool did (it may never write).
    """

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.received = bytearray()
        self._fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._drain, name=f"fifo-reader {fifo.name}")
        self._thread.start()

    def _drain(self) -> None:
        seen_writer = False
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._fd], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self._fd, 1 << 16)
                if chunk:
                    seen_writer = True
                    self.received += chunk
                elif seen_writer:
                    break  # the writer closed it: everything arrived
                else:
                    time.sleep(0.01)  # no writer yet: EOF means nothing
        finally:
            self._done.set()

    def wait_for_eof(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self._fd)
