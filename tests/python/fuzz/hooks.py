"""Schemathesis hooks for the API fuzz run.

Webhook receiver URLs the fuzzer generates are pointed at a closed port on loopback: vroom
delivers events to the registered URL, and tests send traffic nowhere but loopback.
"""
import re

import schemathesis

LOOPBACK_SINK = "http://localhost:9"


@schemathesis.hook
def map_body(context, body):
    if isinstance(body, dict) and isinstance(body.get("url"), str):
        body["url"] = re.sub(r"^https?://[^/]*", LOOPBACK_SINK, body["url"], count=1)
    return body
