"""Schemathesis hooks for the API fuzz run.

Webhook receiver URLs the fuzzer generates are pointed at a closed port on loopback: vroom
delivers events to the registered URL, and tests send traffic nowhere but loopback. Only URLs
the OpenAPI document admits are rewritten (its pattern arrives in VROOM_FUZZ_URL_PATTERN), so
a URL generated to break the schema still reaches the server as generated and must be refused.
"""
import os
import re

import schemathesis

LOOPBACK_SINK = "http://localhost:9"
URL_MAX = 2048
PATTERN = re.compile(os.environ["VROOM_FUZZ_URL_PATTERN"])


def loopback(url):
    # JSON Schema patterns are searched as by Python's re: "$" also matches before a final
    # newline, so such a string is schema-valid; the server takes the URL whole and would
    # refuse it, so the newline goes along with the host.
    # Only a schema-valid URL is rewritten: a too-long one stays too long (a shorter host
    # would make it valid), one that breaks the pattern stays broken.
    if len(url) > URL_MAX or not PATTERN.search(url):
        return url
    rewritten = re.sub(r"^https?://[^/?]*", LOOPBACK_SINK, url.rstrip("\n"), count=1)
    return rewritten if len(rewritten) <= URL_MAX else LOOPBACK_SINK


@schemathesis.hook
def map_body(context, body):
    if isinstance(body, dict) and isinstance(body.get("url"), str):
        body["url"] = loopback(body["url"])
    return body
