"""Property-based fuzzing of vroom's REST APIs against the OpenAPI document vroom serves
(Schemathesis): positive and negative data, stateful links between operations, and checks
for server errors, undocumented statuses, content types, headers, response schemas and
ignored authentication. The server API runs with Basic credentials, the member API with a
member's Bearer token. Zero failures is the only pass.

Exclusions, each required by the contract:
  * `unsupported_method`: the contract answers a method a path lacks with
    400 UNSUPPORTED_HTTP_METHOD, not 405.
  * no extra query parameters (fuzz/schemathesis.toml): unknown ones are ignored, as by the
    hosted service.
  * the failed-authentication and member rate limits are off in this server: the fuzzer
    sends bad credentials on purpose, thousands of times; the limits are tested in
    crates/vroom/tests/rate_limits.rs.
Webhook URLs the fuzzer registers are rewritten to a closed loopback port (fuzz/hooks.py) when
they match the document's URL pattern; the others must be refused as generated.

VROOM_FUZZ_SECONDS bounds each run (default 90 s for the server API, half for the member API).
"""

import json
import os
import subprocess
import sys
import urllib.request

import jsonschema_rs
import pytest

from conftest import call, running_vroom

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "fuzz")
SECONDS = int(os.environ.get("VROOM_FUZZ_SECONDS", "90"))
NO_AUTH_LIMITS = ("--rate-limit-auth-failure-rps", "0", "--rate-limit-member-rps", "0")


def openapi_document(base):
    with urllib.request.urlopen(base + "/open-api/openapi.json", timeout=10) as r:
        return json.load(r)


def callback_url_pattern(base):
    return openapi_document(base)["components"]["schemas"]["CallbackApiInput"]["properties"]["url"]["pattern"]


def schemathesis(base, auth_args, path_regex, seconds):
    cmd = [
        os.path.join(os.path.dirname(sys.executable), "schemathesis"), "--config-file", "schemathesis.toml",
        "run", base + "/open-api/openapi.json", *auth_args,
        "--include-path-regex", path_regex,
        # ensure_resource_availability (ST302) is left out: /v2/apps/me and /v2/vicollo-apps/me
        # are one app under two prefixes, so a member the stateful phase deletes through one
        # prefix is "just created, not found" for a link followed through the other.
        # use_after_free (ST301) is left out: POST /members is an upsert, so a deleted member
        # comes back when it is posted again (a failing case read: DELETE /members/. → POST
        # /members {"appUserId": "."} → GET /members/. 200, as the contract says).
        "--checks", "all", "--exclude-checks", "unsupported_method,ensure_resource_availability,use_after_free",
        "--max-time", str(seconds), "--continue-on-failure", "--no-color",
    ]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="hooks", VROOM_FUZZ_URL_PATTERN=callback_url_pattern(base))
    out = subprocess.run(cmd, cwd=FUZZ, env=env, capture_output=True, text=True, timeout=seconds + 120)
    return out.returncode, out.stdout + out.stderr


def generated(output):
    for line in output.splitlines():
        if " generated" in line and "passed" in line:
            return int(line.strip().split()[0])
    return 0


@pytest.mark.parametrize("api", ["server", "member"])
def test_schema_fuzzing_finds_nothing(api):
    with running_vroom(*NO_AUTH_LIMITS) as base:
        if api == "server":
            auth, paths, seconds = ["--auth", "devkey:devsecret"], "^/v2/(apps|vicollo-apps)/me", SECONDS
        else:
            _, login = call(base, "POST", "/v2/apps/me/members/login", {"appUserId": "fuzzer"}, basic="devkey:devsecret")
            auth, paths, seconds = ["--header", "Authorization: Bearer " + login["accessToken"]], "^/v2/members", SECONDS // 2
        code, output = schemathesis(base, auth, paths, max(seconds, 10))
        tail = "\n".join(output.splitlines()[-60:])
        # The failing cases come before the warnings and summary: show them whole.
        failures = output[output.find("FAILURES") :] if "FAILURES" in output else tail
        assert code == 0, f"schemathesis found failures:\n{failures[:20000]}"
        # It really ran: thousands of cases, every operation of the API.
        assert generated(output) > 500, tail
        assert "Tested: 0" not in output, tail


def resolver_root(doc, schema):
    # The examples' schemas refer to #/components/...: validate against a root that has them.
    return dict(schema, components=doc["components"])


def test_every_example_matches_its_schema():
    with running_vroom() as base:
        doc = openapi_document(base)
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            media = []
            if "requestBody" in op:
                media.append(("request", op["requestBody"]["content"]["application/json"]))
            for status, response in op["responses"].items():
                if "content" in response:
                    media.append((status, response["content"]["application/json"]))
            for what, m in media:
                examples = [m["example"]] if "example" in m else [e["value"] for e in m.get("examples", {}).values()]
                assert examples, f"no example for {what} of {method} {path}"
                for example in examples:
                    jsonschema_rs.Draft202012Validator(resolver_root(doc, m["schema"])).validate(example)
                    checked += 1
    assert checked > 200


def test_reference_and_document_exist_in_korean_and_english():
    with running_vroom() as base:
        en = json.load(urllib.request.urlopen(base + "/open-api/en/openapi.json", timeout=10))
        ko = json.load(urllib.request.urlopen(base + "/open-api/ko/openapi.json", timeout=10))
        assert en["paths"].keys() == ko["paths"].keys()
        assert ko["paths"]["/v2/apps/me/video-rooms"]["post"]["summary"] != en["paths"]["/v2/apps/me/video-rooms"]["post"]["summary"]
        for lang in ("en", "ko"):
            page = urllib.request.urlopen(base + f"/open-api/{lang}/docs/ffc-app-server", timeout=10)
            html = page.read().decode()
            assert page.headers["Content-Type"].startswith("text/html")
            assert f'<html lang="{lang}">' in html and "/open-api/redoc.standalone.js" in html
            req = urllib.request.Request(base + f"/open-api/{lang}/docs/vicollo-app-server",
                                         headers={"Accept": "application/json"})
            assert json.load(urllib.request.urlopen(req, timeout=10))["openapi"].startswith("3.1")
