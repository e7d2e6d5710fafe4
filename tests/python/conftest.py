"""Shared helpers of the Python tests: run the real `vroom serve` binary and call its APIs.
Tests send traffic only to loopback (the test script runs them in a network namespace of
their own)."""

import base64
import contextlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VROOM_BIN = os.path.join(REPO, os.environ.get("VROOM_BIN", "target/debug/vroom"))

# The dev-mode banner vroom writes to stdout once it is listening and the dev app exists:
#   server API:  http://127.0.0.1:39011/v2/apps/me   (HTTP Basic devkey:devsecret, app id 1)
BANNER = re.compile(r"^\s*server API:\s+(http://\S+?)/v2/apps/me\s")


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


def log_tail(path, lines=40):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


@contextlib.contextmanager
def running_vroom(*extra_args):
    """`vroom serve --dev` on a loopback port the kernel picks, yielding its base URL once
    the dev banner is out: vroom prints it only after it listens and the dev app exists, and
    the address in it is the one bound. Everything vroom writes (banner on stdout, logs on
    stderr) goes to vroom.log in its data directory; on failure the path and tail are
    printed (pytest shows them with the failure)."""
    data_dir = tempfile.mkdtemp(prefix="vroom-py-")
    log_path = os.path.join(data_dir, "vroom.log")
    with open(log_path, "ab", buffering=0) as stderr_log:
        proc = subprocess.Popen(
            [VROOM_BIN, "serve", "--dev", "--bind", "127.0.0.1:0", "--data-dir", data_dir,
             "--udp-port", "0", "--log", "warn", *extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_log)
    found = {}
    ready = threading.Event()

    def read_stdout():
        # Reads to EOF so the pipe never fills, whatever vroom writes after the banner.
        with open(log_path, "ab", buffering=0) as log:
            for line in proc.stdout:
                log.write(line)
                m = BANNER.match(line.decode(errors="replace"))
                if m and not ready.is_set():
                    found["base"] = m.group(1)
                    ready.set()

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        deadline = time.time() + 30
        while not ready.wait(0.1):
            assert proc.poll() is None, f"vroom exited at start-up (code {proc.returncode}):\n{log_tail(log_path)}"
            assert time.time() < deadline, f"vroom printed no dev banner in 30 s:\n{log_tail(log_path)}"
        yield found["base"]
    except BaseException:
        print(f"vroom log: {log_path}")
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
