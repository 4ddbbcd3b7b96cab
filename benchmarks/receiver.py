"""A webhook receiver for benchmarks, in its own process: verifies every signature as a real consumer does.

    .venv/bin/python benchmarks/receiver.py --port PORT --secret whsec_... [--fail-first-of N]

Each POST /hook is checked with the independent `standardwebhooks` package (a bad signature is answered 401
and counted, never accepted), and its arrival time (wall clock) recorded with its `webhook-id`. With
`--fail-first-of N`, the first attempt of every Nth notification is answered 503 with `Retry-After: 1`, so
the sender retries it (latency from a retry's due time). GET /count: how many were accepted and rejected;
GET /receipts: every accepted arrival, `[[id, time, attempt, body timestamp], …]`; GET /sample: the last accepted body.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def app(secret: str, fail_every: int) -> web.Application:
    verifier = Webhook(secret)
    receipts: list[tuple[str, float, int, str | None]] = []
    attempts: dict[str, int] = {}
    counts = {"accepted": 0, "rejected": 0, "refused": 0}
    sample: dict[str, str] = {}

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        arrived = time.time()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            verifier.verify(body, headers, json_parse=False)
        except WebhookVerificationError:
            counts["rejected"] += 1
            return web.Response(status=401)
        msg_id = headers["webhook-id"]
        attempt = attempts[msg_id] = attempts.get(msg_id, 0) + 1
        if fail_every and attempt == 1 and int(hashlib.sha256(msg_id.encode()).hexdigest(), 16) % fail_every == 0:
            counts["refused"] += 1
            return web.Response(status=503, headers={"Retry-After": "1"})
        counts["accepted"] += 1
        receipts.append((msg_id, arrived, attempt, json.loads(body).get("timestamp")))
        sample["body"] = body.decode()
        return web.Response(status=204)

    async def count(_request: web.Request) -> web.Response:
        return web.json_response(counts)

    async def all_receipts(_request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(receipts), content_type="application/json")

    async def last_body(_request: web.Request) -> web.Response:
        return web.Response(text=sample.get("body", ""), content_type="application/json")

    application = web.Application()
    application.router.add_post("/hook", hook)
    application.router.add_get("/count", count)
    application.router.add_get("/receipts", all_receipts)
    application.router.add_get("/sample", last_body)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-first-of", type=int, default=0, metavar="N")
    args = parser.parse_args()
    web.run_app(app(args.secret, args.fail_first_of), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
