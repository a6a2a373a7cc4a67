"""``train.distribute``: the ``tf.distribute`` strategy of a run, and the cluster of a multi-worker run.

``none`` is TensorFlow's default strategy, ``mirrored`` a ``MirroredStrategy`` over
every local device, ``multi_worker`` a ``MultiWorkerMirroredStrategy`` whose cluster
comes from the ``TF_CONFIG`` environment variable (as Kubernetes operators and Slurm
scripts set it)::

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 0}}'

Task ``worker 0`` (or ``chief 0`` when the cluster has a ``chief`` job) is the
chief: it writes the run directory; the others only read it. ``TF_CONFIG`` is
checked before anything is written (:func:`read_tf_config`); then, before the
strategy exists, every task holds its own port (an error if it is taken) until every
other task answers within ``NMT_CLUSTER_TIMEOUT`` seconds (default 300), else the run
stops with an error naming the task that never came up (:func:`rendezvous`; the
strategy's own startup would wait for it forever). The same timeout bounds every
collective (a worker that dies mid-run makes the others fail, not hang).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import socket
import threading
import time
from collections.abc import Mapping

from nmt.config.base import ConfigError
from nmt.config.train import TrainConfig

#: Seconds to wait for the other tasks to come up (and the bound on every collective).
TIMEOUT_VARIABLE = "NMT_CLUSTER_TIMEOUT"


DEFAULT_TIMEOUT = 300.0


_JOBS = ("chief", "worker")


class ClusterError(ConfigError):
    """``TF_CONFIG`` or the cluster it describes cannot be used; the message says which part and why."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The cluster of a multi-worker run, from ``TF_CONFIG``.

    Attributes:
        tasks: every task as ``(job, index, "host:port")``, the chief first.
        task: this process's ``(job, index)``.
    """

    tasks: tuple[tuple[str, int, str], ...]
    task: tuple[str, int]

    @property
    def chief(self) -> bool:
        """Whether this task writes the run directory (``chief 0``, else ``worker 0``)."""
        return self.tasks[0][:2] == self.task

    @property
    def size(self) -> int:
        return len(self.tasks)

    @property
    def address(self) -> str:
        return next(address for job, index, address in self.tasks if (job, index) == self.task)

    def others(self) -> list[tuple[str, int, str]]:
        return [task for task in self.tasks if task[:2] != self.task]


def read_tf_config(environ: Mapping[str, str] = os.environ) -> Cluster:
    """Parses and checks ``TF_CONFIG`` (``cluster`` with ``chief``/``worker`` jobs, ``task`` type and index).

    Raises:
        ClusterError: missing, not JSON, a missing or malformed field, an unsupported job,
            a task outside the cluster, a malformed or repeated address.
    """
    raw = environ.get("TF_CONFIG")
    if not raw or not raw.strip():
        raise ClusterError("train.distribute=multi_worker needs the TF_CONFIG environment variable (the cluster's "
                           "worker addresses and this task's index; see docs/distributed.md)")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ClusterError(f"TF_CONFIG is not valid JSON: {error.msg} at character {error.pos}") from None
    if not isinstance(value, dict) or not isinstance(value.get("cluster"), dict) or not value["cluster"]:
        raise ClusterError('TF_CONFIG needs a "cluster" mapping, e.g. {"worker": ["host0:12345", "host1:12345"]}')
    cluster = value["cluster"]
    unknown = sorted(set(cluster) - set(_JOBS))
    if unknown:
        raise ClusterError(f"TF_CONFIG cluster job {unknown[0]!r} is not supported by multi_worker training "
                           f"(jobs: chief, worker)")
    tasks = []
    for job in _JOBS:
        addresses = cluster.get(job, [])
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ClusterError(f'TF_CONFIG cluster "{job}" must be a list of "host:port" strings')
        if job == "chief" and len(addresses) > 1:
            raise ClusterError(f'TF_CONFIG cluster "chief" has {len(addresses)} addresses; at most one')
        tasks += [(job, index, _check_address(job, index, address)) for index, address in enumerate(addresses)]
    if not tasks:
        raise ClusterError('TF_CONFIG cluster lists no task (give "worker": ["host:port", ...])')
    seen: dict[str, tuple[str, int]] = {}
    for job, index, address in tasks:
        if address in seen:
            raise ClusterError(f"TF_CONFIG cluster gives {address} to both {seen[address][0]} {seen[address][1]} "
                               f"and {job} {index}")
        seen[address] = (job, index)
    task = value.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ClusterError('TF_CONFIG needs "task": {"type": "worker", "index": N} for this process')
    job, index = task["type"], task["index"]
    if job not in cluster:
        raise ClusterError(f"TF_CONFIG task type {job!r} is not a job of the cluster ({', '.join(sorted(cluster))})")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ClusterError(f"TF_CONFIG task index must be an integer, got {index!r}")
    count = len(cluster[job])
    if not 0 <= index < count:
        raise ClusterError(f"TF_CONFIG task index {index} is outside the cluster's {count} {job} task(s) "
                           f"(0-{count - 1})")
    return Cluster(tuple(tasks), (job, index))


def _check_address(job: str, index: int, address: str) -> str:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"TF_CONFIG cluster {job} {index} address {address!r} is not host:port")
    return address


def _listen(cluster: Cluster) -> socket.socket:
    """Binds this task's port (ClusterError when it is taken) and answers connections until closed."""
    host, _, port = cluster.address.rpartition(":")
    host = host.strip("[]")
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, int(port)))
    except OSError as error:
        listener.close()
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            job, index = cluster.task
            raise ClusterError(f"port {port} of TF_CONFIG task {job} {index} ({cluster.address}) is already in use "
                               f"on this machine") from None
        if error.errno == errno.EADDRNOTAVAIL:
            job, index = cluster.task
            raise ClusterError(f"TF_CONFIG task {job} {index} address {cluster.address} is not an address of this "
                               f"machine (is the task index right?)") from None
        raise
    listener.listen(16)

    def answer() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed
            with connection:  # the caller closes first: no TIME_WAIT on this task's port
                connection.settimeout(5.0)
                try:
                    connection.recv(1)
                except OSError:
                    pass

    threading.Thread(target=answer, daemon=True, name="nmt-rendezvous").start()
    return listener


def rendezvous(cluster: Cluster, timeout: float) -> None:
    """Holds this task's port until every other task answers on its own, within ``timeout`` seconds.

    Before the strategy exists (its gRPC server would otherwise wait for the missing
    tasks forever): each task listens on its port and connects to every other; a
    task that never comes up is named in a ClusterError. Raises ClusterError for a
    port in use as well.
    """
    listener = _listen(cluster)
    try:
        wait_for_tasks(cluster, timeout)
    finally:
        # shutdown first: close() alone leaves the port listening while the answering thread
        # is blocked in accept(), and the strategy's gRPC server then cannot bind it.
        try:
            listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        listener.close()


def cluster_timeout(environ: Mapping[str, str] = os.environ) -> float:
    """``NMT_CLUSTER_TIMEOUT`` in seconds (default 300)."""
    raw = environ.get(TIMEOUT_VARIABLE, "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise ClusterError(f"{TIMEOUT_VARIABLE}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ClusterError(f"{TIMEOUT_VARIABLE}={raw!r} must be positive")
    return value


def wait_for_tasks(cluster: Cluster, timeout: float) -> None:
    """Waits until every other task accepts a TCP connection (its rendezvous listener or its
    strategy's server); ClusterError naming the first that did not."""
    deadline = time.monotonic() + timeout
    for job, index, address in cluster.others():
        host, _, port = address.rpartition(":")
        while True:
            try:
                with socket.create_connection((host.strip("[]"), int(port)), timeout=2.0):
                    break
            except OSError:
                if time.monotonic() >= deadline:
                    raise ClusterError(f"TF_CONFIG task {job} {index} ({address}) did not start within "
                                       f"{timeout:.0f} s ({TIMEOUT_VARIABLE}); start every worker with the same "
                                       f"command and its own task index") from None
                time.sleep(0.5)


def make_strategy(config: TrainConfig):
    """The strategy of ``config.distribute`` and, for ``multi_worker``, its :class:`Cluster` (else None).

    For ``multi_worker`` call it before TensorFlow runs any op (the collective
    runtime is configured at startup). Raises ClusterError (see :func:`read_tf_config`,
    :func:`check_port_free`, :func:`wait_for_tasks`).
    """
    import tensorflow as tf

    if config.distribute == "none":
        return tf.distribute.get_strategy(), None
    if config.distribute == "mirrored":
        return tf.distribute.MirroredStrategy(), None
    cluster = read_tf_config()
    timeout = cluster_timeout()
    rendezvous(cluster, timeout)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options), cluster
