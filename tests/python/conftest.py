"""Shared helpers of the Python tests: run the real `vroom serve` binary and call its APIs.
Tests send traffic only to loopback (the test script runs them in a network namespace of
their own)."""

import base64
import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VROOM_BIN = os.path.join(REPO, os.environ.get("VROOM_BIN", "target/debug/vroom"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, basic=None, bearer=None):
    req = urllib.request.Request(base + path, method=method)
    if basic:
        req.add_header("Authorization", "Basic " + base64.b64encode(basic.encode()).decode())
    if bearer:
        req.add_header("Authorization", "Bearer " + bearer)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, data, timeout=10) as resp:
        return resp.status, json.loads(resp.read() or b"null")


@contextlib.contextmanager
def running_vroom(*extra_args):
    """`vroom serve --dev` on a free loopback port, until it answers /healthz (which it
    does only once start-up, the dev app included, is complete)."""
    data_dir = tempfile.mkdtemp(prefix="vroom-py-")
    http_port = free_port()
    proc = subprocess.Popen(
        [VROOM_BIN, "serve", "--dev", "--bind", f"127.0.0.1:{http_port}", "--data-dir", data_dir,
         "--udp-port", "0", "--log", "warn", *extra_args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                if urllib.request.urlopen(base + "/healthz", timeout=1).status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, "vroom exited at start-up"
            assert time.time() < deadline, "vroom did not become healthy"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
