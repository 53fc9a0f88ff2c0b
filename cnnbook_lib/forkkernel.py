"""Jupyter kernels started in milliseconds: each one a fork of a process that has already imported
what the book's pages import (IPython, torch, sympy, matplotlib, pandas, the library).

Starting a kernel and importing torch, sympy and matplotlib takes about 5 seconds on a 2-core
machine, as long as many of the book's pages take to run. :mod:`cnnbook_lib.execute` runs the pages
in kernels forked from one warm process instead:

* ``serve(path)`` is the warm process. It imports the modules of :data:`WARM`, listens on a Unix
  socket at ``path`` and forks one child per request. The child takes the requester's working
  directory, environment and standard streams, then becomes an ordinary ``ipykernel`` kernel on the
  requester's connection file. It has run no code but imports, so each page still starts from a
  fresh interpreter state (no variable, figure or cache is shared between pages).
* ``launch(argv)`` is what the kernel spec (:func:`kernel_spec`) runs in place of
  ``python -m ipykernel_launcher``: it asks the warm process for a kernel, forwards the signals
  Jupyter sends (interrupt, terminate) to it and exits with its exit status, so to Jupyter it *is*
  the kernel process. With no warm process to ask (``CNNBOOK_KERNEL_SERVER`` unset, or nothing
  listening), it starts an ordinary kernel instead.

A kernel whose launcher dies (killed by Jupyter after a failed shutdown) exits too.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys

#: The environment variable that names the warm process's socket.
SERVER_ENV = "CNNBOOK_KERNEL_SERVER"

#: What the warm process imports: what nearly every page imports, and the slow imports they trigger
#: (myst-nb's glue imports nbformat, whose schema validator takes over a second to import; torch
#: imports ``torch._dynamo``, another second, on the first call of any function it guards, which
#: every page that traces a network or trains one makes; an interactive imports anywidget, a table
#: pandas' Styler).
WARM = ("ipykernel.kernelapp", "IPython", "numpy", "torch", "torch._dynamo", "sympy", "pandas",
        "pandas.io.formats.style", "matplotlib.pyplot", "myst_nb.ext.glue", "anywidget",
        "cnnbook_lib.page", "cnnbook_lib.analysis", "cnnbook_lib.receptive",
        "cnnbook_lib.architectures", "cnnbook_lib.interactives", "cnnbook_lib.exercises",
        "cnnbook_lib.plots", "cnnbook_lib.published")

#: matplotlib's backend in a Jupyter kernel, set before matplotlib is imported (ipykernel sets it so).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def kernel_spec(directory: str | os.PathLike, name: str = "python3") -> str:
    """Write a kernel spec ``name`` whose kernels come from the warm process, in
    ``directory/kernels/name``; put ``directory`` first on ``JUPYTER_PATH`` to use it. Returns its
    folder."""
    folder = os.path.join(os.fspath(directory), "kernels", name)
    os.makedirs(folder, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "cnnbook_lib.forkkernel", "launch", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)", "language": "python",
            "metadata": {"debugger": False}}
    with open(os.path.join(folder, "kernel.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=1)
    return folder


# --- the launcher: the kernel process as Jupyter sees it ------------------------------------------

def launch(argv: list[str]) -> None:
    """Get a kernel for ``argv`` (ipykernel's arguments, such as ``-f connection.json``) from the
    warm process and wait for it; an ordinary kernel if there is no warm process."""
    path = os.environ.get(SERVER_ENV)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not path:
            raise OSError("no warm process")
        conn.connect(path)
    except OSError:
        conn.close()
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
    request = json.dumps({"argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    socket.send_fds(conn, [request + b"\n"], [0, 1, 2])
    replies = conn.makefile("rb")
    pid = int(json.loads(replies.readline())["pid"])

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    line = replies.readline()
    status = json.loads(line)["status"] if line else 1
    sys.exit(status if status >= 0 else 128 - status)     # killed by signal N: 128 + N, as a shell says


# --- the warm process --------------------------------------------------------------------------------

#: The warm process's working directory, first on its ``sys.path`` (``python -m`` puts it there).
_STARTED_IN = os.getcwd()


def _become_kernel(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: take the requester's streams, directory and environment, and run
    ipykernel until it shuts down. Never returns."""
    import threading
    import traceback
    code = 1
    try:
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        os.setsid()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if sys.path and sys.path[0] == _STARTED_IN:     # as ipykernel_launcher does: IPython puts ''
            del sys.path[0]                             # (the working directory) first instead

        def watch():                        # the launcher is gone: so is this kernel
            try:
                while conn.recv(1):
                    pass
            except OSError:
                pass
            os._exit(1)
        threading.Thread(target=watch, daemon=True).start()
        from ipykernel.kernelapp import IPKernelApp
        sys.argv = [sys.executable, *request["argv"]]
        app = IPKernelApp.instance()
        # ipykernel reads JPY_PARENT_PID when it is imported, here in the warm process. 1 means: no
        # parent to poll (this process's parent is the warm process; the launcher is watched above).
        app.parent_handle = 1
        app.initialize(request["argv"])
        app.start()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve(path: str, ready=None) -> None:
    """Import :data:`WARM`, then fork a kernel for every launcher that connects to ``path``, until
    SIGTERM. ``ready``: called once listening (the test's and :mod:`cnnbook_lib.execute`'s cue)."""
    import importlib
    import selectors
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for name in WARM:
        try:
            importlib.import_module(name)
        except Exception:          # a page that imports it meets the error itself, in its own kernel
            pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    if ready is not None:
        ready()
    try:
        while not stopping:
            for key, _ in selector.select():
                if key.fileobj is wake_r:
                    try:
                        wake_r.recv(4096)
                    except BlockingIOError:
                        pass
                    continue
                conn, _ = listener.accept()
                try:
                    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
                    while not data.endswith(b"\n"):
                        more = conn.recv(1 << 20)
                        if not more:
                            raise OSError("the launcher hung up")
                        data += more
                    request = json.loads(data)
                except (OSError, ValueError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    wake_r.close()
                    wake_w.close()
                    signal.set_wakeup_fd(-1)
                    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
                        signal.signal(signum, signal.SIG_DFL)
                    for other in children.values():
                        other.close()
                    _become_kernel(conn, request, fds)
                for fd in fds:
                    os.close(fd)
                children[pid] = conn
                try:
                    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                except OSError:
                    pass
            _reap(children)
    finally:
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap(children, block=True)
        listener.close()
        if os.path.exists(path):
            os.unlink(path)


def _reap(children: dict, block: bool = False) -> None:
    """Tell the launcher of every exited child its exit status."""
    while children:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            except OSError:
                pass
            conn.close()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["launch"]:
        launch(argv[1:])
    elif argv[:1] == ["serve"] and len(argv) == 2:
        serve(argv[1], ready=lambda: print("ready", flush=True))
    else:
        sys.exit("usage: python -m cnnbook_lib.forkkernel serve SOCKET | launch -f CONNECTION_FILE")


if __name__ == "__main__":
    main()
