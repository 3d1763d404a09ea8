"""``manage.py fake_model_server`` serves the fake APIs until stopped."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

from tests.conftest import ROOT


def test_fake_model_server_command():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "fake_model_server", "--port", str(port), "--seed", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # A liveness bound, not a speed target: start-up is slow on a loaded machine.
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1) as r:  # noqa: S310
                    models = [m["id"] for m in json.loads(r.read())["data"]]
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert models == ["atlas-7b", "borealis-70b", "cirrus-mini"]
        body = json.dumps({"model": "atlas-7b", "messages": [{"role": "user", "content": "hi"}]})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as r:  # noqa: S310
            reply = json.loads(r.read())
        assert reply["choices"][0]["message"]["content"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
