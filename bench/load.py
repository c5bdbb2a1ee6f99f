"""A small HTTP load generator: client processes with threads, one keep-alive connection each.

Every client sends its list of requests in turn, as fast as the server answers
(closed loop), until the time is up. Latencies are taken per request from
just before it is sent to the last byte of the answer; requests in the first
``warmup`` seconds are sent but not counted. An answer with another status
than expected, or a connection error, is an error (counted, with a few samples).
"""

from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from dataclasses import dataclass, field

from django.utils import timezone

#: Sent with every request: the app runs as deployed behind a TLS proxy (no redirect).
BASE_HEADERS = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    #: JSON text; ``{now}`` is replaced by the current time (ISO 8601) at sending.
    body: str | None = None
    expect: int = 200


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: Outcome) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.samples += other.samples[: max(0, 5 - len(self.samples))]
        self.seconds += other.seconds


def token_header(token: str) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Token {token}"),)


def _client(port: int, calls: list[Call], start: float, count_from: float, stop: float, out):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors, samples = [], 0, []
    index = 0
    while time.perf_counter() < start:
        time.sleep(0.001)
    while True:
        now = time.perf_counter()
        if now >= stop:
            break
        call = calls[index % len(calls)]
        index += 1
        headers = {**BASE_HEADERS, **dict(call.headers)}
        body = None
        if call.body is not None:
            body = call.body.replace("{now}", timezone.now().isoformat()).encode()
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        try:
            connection.request(call.method, call.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            code = response.status
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            code, data = None, repr(exc).encode()
        took = time.perf_counter() - began
        if code != call.expect:
            errors += 1
            if len(samples) < 3:
                samples.append(f"{call.method} {call.path} -> {code}: {data[:200]!r}")
        elif began >= count_from:
            latencies.append(took)
    connection.close()
    out.append((latencies, errors, samples))


def _process(port, client_calls, start, count_from, stop, queue) -> None:
    results: list = []
    threads = [
        threading.Thread(target=_client, args=(port, calls, start, count_from, stop, results))
        for calls in client_calls
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def run(
    *,
    port: int,
    clients: list[list[Call]],
    seconds: float,
    warmup: float,
    processes: int,
) -> Outcome:
    """Load the server with one connection per entry of ``clients`` for ``seconds``
    (plus ``warmup``), spread over ``processes`` processes; the counted outcome."""
    from django.db import connections

    connections.close_all()  # the children must not share the parent's database sockets
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = max(1, min(processes, len(clients)))
    groups = [clients[i::processes] for i in range(processes)]
    start = time.perf_counter() + 0.3
    count_from = start + warmup
    stop = count_from + seconds
    workers = [
        context.Process(target=_process, args=(port, group, start, count_from, stop, queue))
        for group in groups
    ]
    for worker in workers:
        worker.start()
    outcome = Outcome(seconds=seconds)
    for _ in workers:
        for latencies, errors, samples in queue.get(timeout=seconds + warmup + 120):
            outcome.add(Outcome(latencies, errors, samples))
    for worker in workers:
        worker.join(timeout=30)
    return outcome
