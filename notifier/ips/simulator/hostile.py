"""Hostile answers a client must survive: gateway errors, XXE and entity-expansion payloads, endless or
inflating bodies, garbage and dropped connections. Each is what a broken proxy or an attacker in the path
could send; none of them should do more to the client than raise a typed error.
"""

from __future__ import annotations

import random
import zlib
from functools import lru_cache

from aiohttp import web

from notifier.ips.envelope import SOAP_ENV, api_namespace
from notifier.ips.simulator.chaos import FaultSpec, StreamStats

_NS = api_namespace("2014-04-03")
_CHUNK = 64 * 1024
_XML = "text/xml"


def _head(operation: str) -> str:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Body>'
        f'<ns1:{operation}Return xmlns:ns1="{_NS}"><ns1:jobArray><ns1:items>'
    )


def _tail(operation: str) -> str:
    return f"</ns1:items></ns1:jobArray></ns1:{operation}Return></soapenv:Body></soapenv:Envelope>"


def doctype_payload(operation: str) -> bytes:
    """An external-entity (XXE) attempt: a parser that resolves it would read a local file."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE soapenv:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        f"{_head(operation)}<ns1:jobHandle>&xxe;</ns1:jobHandle>{_tail(operation)}"
    ).encode()


def entity_payload(operation: str) -> bytes:
    """Billion laughs: ten nested entities that expand to 10⁹ copies of one word."""
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE lolz [{"".join(entities)}]>\n'
        f"{_head(operation)}<ns1:description>&lol9;</ns1:description>{_tail(operation)}"
    ).encode()


def garbage_payload(seed: int = 0, size: int = 4096) -> bytes:
    return random.Random(f"garbage:{seed}").randbytes(size)


def _filler() -> bytes:
    item = f"<ns1:description>{'padding ' * 500}</ns1:description></ns1:items><ns1:items>"
    return (item * (_CHUNK // len(item) + 1)).encode()[:_CHUNK]


@lru_cache(maxsize=4)
def bomb_payload(size: int, operation: str) -> bytes:
    """A gzip body of a few kilobytes that inflates to `size` bytes of well-formed-looking XML."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    parts = [packer.compress(_head(operation).encode())]
    filler = _filler()
    for _ in range(size // len(filler)):
        parts.append(packer.compress(filler))
    parts.append(packer.compress(_tail(operation).encode()))
    parts.append(packer.flush())
    return b"".join(parts)


def html_page(status: int) -> str:
    """What a proxy in front of the service answers instead of it: a full HTML page, doctype and all."""
    title = "Sign in" if status < 300 else f"{status} {gateway_reason(status)}"
    return f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"


def gateway_reason(status: int) -> str:
    return {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Server Error")


def gateway_page(status: int) -> str:
    reason = gateway_reason(status)
    return f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"


async def respond(request: web.Request, spec: FaultSpec, operation: str, stats: StreamStats) -> web.StreamResponse:
    """The hostile answer for `spec` (every mode except slow, auth and truncated, which need a real answer)."""
    if spec.mode == "5xx":
        return web.Response(status=spec.status, text=gateway_page(spec.status), content_type="text/html")
    if spec.mode == "html":
        return web.Response(status=spec.status, text=html_page(spec.status), content_type="text/html")
    if spec.mode == "doctype":
        return web.Response(body=doctype_payload(operation), content_type=_XML, charset="utf-8")
    if spec.mode == "entity":
        return web.Response(body=entity_payload(operation), content_type=_XML, charset="utf-8")
    if spec.mode == "garbage":
        return web.Response(body=garbage_payload(), content_type=_XML, charset="utf-8")
    if spec.mode == "bomb":
        body = bomb_payload(spec.size, operation)
        return web.Response(body=body, content_type=_XML, charset="utf-8", headers={"Content-Encoding": "gzip"})
    if spec.mode == "huge":
        return await _huge(request, spec, operation, stats)
    if spec.mode == "reset":
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client: the connection is gone
    raise ValueError(f"{spec.mode!r} is not answered here")


async def _huge(request: web.Request, spec: FaultSpec, operation: str, stats: StreamStats) -> web.StreamResponse:
    """`spec.size` bytes of XML that never closes, written chunk by chunk until the client hangs up."""
    response = web.StreamResponse(headers={"Content-Type": "text/xml; charset=UTF-8"})
    if spec.length:
        response.content_length = spec.size
    else:
        response.enable_chunked_encoding()
    stats.written, stats.complete = 0, False
    await response.prepare(request)
    filler = _filler()
    head = f'<?xml version="1.0" encoding="UTF-8"?>{_head(operation)}'.encode()
    try:
        await response.write(head[: spec.size])
        stats.written = min(len(head), spec.size)
        while stats.written < spec.size:
            piece = filler[: spec.size - stats.written]
            await response.write(piece)
            stats.written += len(piece)
        await response.write_eof()
        stats.complete = True
    except ConnectionError:
        pass  # the client gave up, which is exactly what it should do
    return response
