"""The embedded broker of ``make run``: kombu's filesystem transport, written atomically.

Why files: the local stack must need no server (no Redis, no RabbitMQ), and the broker
must survive a restart so queued work is not lost. kombu's filesystem transport keeps
each message as one file in a folder that every process on the machine shares; it adds
no dependency and no writes to the application's SQLite file (a SQLite-backed broker
polling every 100 ms would compete with the web server and worker for that file's
single write lock).

One change to kombu's transport: a message is written to a temporary name and renamed
into the queue folder. kombu writes it in place, so a consumer polling at the wrong
moment could pick up a half-written (empty) file and drop the task. ``os.replace`` is
atomic on one file system, so the consumer sees a message completely or not at all.

Like any virtual transport it does not redeliver a message a killed worker had taken;
generation does not depend on that: cells live in the database with leases, and
``make run`` resumes running runs when it starts (``generation_recover``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "localfs"
POLLING_INTERVAL = 0.1  # seconds between looks at the queue folder (kombu's default is 1 s)


def transport_options(folder: Path) -> dict[str, Any]:
    """Transport options for a broker kept in ``folder`` (created if missing)."""
    queue, control, tmp = folder / "queue", folder / "control", folder / "tmp"
    for path in (queue, control, tmp):
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(control),
        "tmp_folder": str(tmp),
        "polling_interval": POLLING_INTERVAL,
    }


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        """Write the message beside the queue, then rename it in (atomic)."""
        # Same name pattern as kombu (sorted by time, then a uuid), so ordering is kept.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        tmp_folder = self.transport_options.get("tmp_folder") or self.data_folder_out
        tmp = os.path.join(tmp_folder, "." + name)
        try:
            with open(tmp, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(tmp, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add {name!r} to the local broker") from exc


class Transport(filesystem.Transport):
    Channel = Channel
    driver_type = SCHEME
    driver_name = SCHEME


def register() -> None:
    """Make ``localfs://`` a broker URL kombu understands (idempotent)."""
    TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")
