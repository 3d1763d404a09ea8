"""Turn the locust per-request logs into the results table (pure: no Django, no network)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

READS = {"next", "item", "dashboard", "agreement"}
TARGET_ITEMS_PER_S = 100.0
TARGET_P95_READ_MS = 300.0
TARGET_P95_SUBMIT_MS = 500.0
TARGET_ERROR_RATE = 0.001


@dataclass
class Requests:
    """Column arrays of every request: end time, name, milliseconds, ok, HTTP status."""

    t: np.ndarray
    name: np.ndarray
    ms: np.ndarray
    ok: np.ndarray
    status: np.ndarray

    def where(self, mask: np.ndarray) -> Requests:
        return Requests(
            self.t[mask], self.name[mask], self.ms[mask], self.ok[mask], self.status[mask]
        )


def read_requests(load_dir: Path) -> Requests:
    t, name, ms, ok, status = [], [], [], [], []
    for path in sorted(load_dir.glob("requests-*.csv")):
        for line in path.read_text().splitlines():
            parts = line.split(",")
            if len(parts) != 5:
                continue  # a line cut by a hard stop
            t.append(float(parts[0]))
            name.append(parts[1])
            ms.append(float(parts[2]))
            ok.append(parts[3] == "1")
            status.append(int(parts[4]))
    return Requests(
        np.array(t, dtype=float),
        np.array(name, dtype=object),
        np.array(ms, dtype=float),
        np.array(ok, dtype=bool),
        np.array(status, dtype=int),
    )


def read_submits(load_dir: Path) -> list[dict]:
    records = []
    for path in sorted(load_dir.glob("submits-*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a hard stop: that submit is not confirmed
    return records


def read_logins(load_dir: Path) -> list[float]:
    times = []
    for path in sorted(load_dir.glob("logins-*.txt")):
        for line in path.read_text().splitlines():
            stamp, _, _user = line.partition(",")
            try:
                times.append(float(stamp))
            except ValueError:
                continue
    return times


def p(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


@dataclass
class WindowStats:
    start: float
    seconds: float
    items_per_s: float
    requests: int
    p50_read: float | None
    p95_read: float | None
    p95_submit: float | None
    p95_save: float | None
    errors: int


@dataclass
class Results:
    seconds: float
    items: int
    items_per_s: float
    requests: int
    requests_per_s: float
    p50_read: float | None
    p95_read: float | None
    p99_read: float | None
    p50_submit: float | None
    p95_submit: float | None
    p99_submit: float | None
    p95_save: float | None
    p95_by_name: dict[str, float | None]
    errors_total: int
    requests_total: int
    error_rate: float
    error_kinds: dict[str, int]
    windows: list[WindowStats] = field(default_factory=list)

    def targets(self) -> list[tuple[str, str, str, bool]]:
        """(metric, measured, target, met) rows."""

        def ms(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.0f} ms"

        return [
            (
                "coded items/s (submits confirmed)",
                f"{self.items_per_s:.1f}",
                f">= {TARGET_ITEMS_PER_S:.0f}",
                self.items_per_s >= TARGET_ITEMS_PER_S,
            ),
            (
                "p95 read latency (next, item, dashboard, agreement)",
                ms(self.p95_read),
                f"< {TARGET_P95_READ_MS:.0f} ms",
                self.p95_read is not None and self.p95_read < TARGET_P95_READ_MS,
            ),
            (
                "p95 submit latency",
                ms(self.p95_submit),
                f"< {TARGET_P95_SUBMIT_MS:.0f} ms",
                self.p95_submit is not None and self.p95_submit < TARGET_P95_SUBMIT_MS,
            ),
            (
                "error rate (all requests, whole run)",
                f"{100 * self.error_rate:.3f} %",
                f"< {100 * TARGET_ERROR_RATE:.1f} %",
                self.error_rate < TARGET_ERROR_RATE,
            ),
        ]


def _window(reqs: Requests, submits: np.ndarray, start: float, end: float) -> WindowStats:
    seconds = max(end - start, 1e-9)
    inside = reqs.where((reqs.t >= start) & (reqs.t < end))
    reads = inside.ms[np.isin(inside.name, list(READS))]
    return WindowStats(
        start=start,
        seconds=seconds,
        items_per_s=float(((submits >= start) & (submits < end)).sum()) / seconds,
        requests=len(inside.t),
        p50_read=p(reads, 50),
        p95_read=p(reads, 95),
        p95_submit=p(inside.ms[inside.name == "submit"], 95),
        p95_save=p(inside.ms[inside.name == "save"], 95),
        errors=int((~inside.ok).sum()),
    )


def summarise(
    reqs: Requests, submits: list[dict], start: float, end: float, window_s: float
) -> Results:
    """Statistics over the measurement window [start, end); errors over the whole run."""
    submit_t = np.array([s["t"] for s in submits], dtype=float)
    inside = reqs.where((reqs.t >= start) & (reqs.t < end))
    seconds = max(end - start, 1e-9)
    reads = inside.ms[np.isin(inside.name, list(READS))]
    submit_ms = inside.ms[inside.name == "submit"]
    failed = reqs.where(~reqs.ok)
    kinds: dict[str, int] = {}
    for name, status in zip(failed.name, failed.status, strict=True):
        key = f"{name} {status}"
        kinds[key] = kinds.get(key, 0) + 1
    windows = []
    edge = start
    while edge < end - 1e-6:
        nxt = min(edge + window_s, end)
        windows.append(_window(reqs, submit_t, edge, nxt))
        edge = nxt
    total = len(reqs.t)
    return Results(
        seconds=seconds,
        items=int(((submit_t >= start) & (submit_t < end)).sum()),
        items_per_s=float(((submit_t >= start) & (submit_t < end)).sum()) / seconds,
        requests=len(inside.t),
        requests_per_s=len(inside.t) / seconds,
        p50_read=p(reads, 50),
        p95_read=p(reads, 95),
        p99_read=p(reads, 99),
        p50_submit=p(submit_ms, 50),
        p95_submit=p(submit_ms, 95),
        p99_submit=p(submit_ms, 99),
        p95_save=p(inside.ms[inside.name == "save"], 95),
        p95_by_name={
            str(n): p(reqs.ms[reqs.name == n], 95) for n in sorted(set(reqs.name.tolist()))
        },
        errors_total=len(failed.t),
        requests_total=total,
        error_rate=(len(failed.t) / total) if total else 1.0,
        error_kinds=kinds,
        windows=windows,
    )


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = [line, "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    out.append(line)
    for row in rows:
        out.append(
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        )
    out.append(line)
    return "\n".join(out)


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def windows_table(results: Results, origin: float) -> str:
    rows = [
        (
            f"{w.start - origin:6.0f}-{w.start - origin + w.seconds:.0f} s",
            f"{w.items_per_s:.1f}",
            str(w.requests),
            fmt_ms(w.p50_read),
            fmt_ms(w.p95_read),
            fmt_ms(w.p95_save),
            fmt_ms(w.p95_submit),
            str(w.errors),
        )
        for w in results.windows
    ]
    header = (
        "window",
        "items/s",
        "requests",
        "p50 read",
        "p95 read",
        "p95 save",
        "p95 submit",
        "errors",
    )
    return table(rows, header)
