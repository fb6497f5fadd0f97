"""gunicorn settings that ``alertnet serve`` loads (``--config python:...``).

- Request metrics are counted per process; with several workers they are kept
  in prometheus-client's multiprocess files so that any worker's ``/metrics``
  adds up all of them (network/operations/metrics.py). The folder is
  ``PROMETHEUS_MULTIPROC_DIR`` if set, else a fresh private temporary folder;
  it is emptied at start and a dead worker's files are marked as such.
- With ``ALERTNET_LOG_FORMAT=json`` the access log is JSON too: one object per
  request with the request id the hub gave it (network/operations/logs.py).

Nothing here imports prometheus_client before the folder is set: it chooses
its mode on import, and the workers inherit the master's modules.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="alertnet-metrics-")
        server._alertnet_metrics_folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_exit(server: Any) -> None:
    made = getattr(server, "_alertnet_metrics_folder", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def post_worker_init(worker: Any) -> None:
    if os.environ.get("ALERTNET_LOG_FORMAT") == "json":
        from network.operations.logs import JsonFormatter

        for name in ("gunicorn.access", "gunicorn.error"):
            for handler in logging.getLogger(name).handlers:
                handler.setFormatter(JsonFormatter())
