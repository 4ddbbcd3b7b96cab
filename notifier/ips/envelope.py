"""Pure SOAP envelope building and response unwrapping for the IPS operations the notifier uses.

Responses are parsed leniently where real Axis2 servers vary — any namespace prefix, omitted optional
elements, unknown elements from newer API versions — and strictly where the XML itself is malformed or
unsafe: DTDs and entities are refused and bodies are capped before parsing. Reading fields out of the
returned elements is `values`' job; which element becomes which model field is `parse`'s.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from notifier.ips.errors import IpsFault, IpsParseError
from notifier.ips.values import element_text
from notifier.ips.values import local as local  # re-exported: callers split tags with it
from notifier.ips.values import to_datetime as to_datetime  # re-exported: the simulator reads requests with it

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
AUTH_NS = "http://www.scene7.com/IpsApi/xsd"
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


def api_namespace(api_version: str) -> str:
    """Body namespace of an API version; the pre-4.0 service used the unversioned namespace."""
    return f"{AUTH_NS}/{api_version}" if api_version else AUTH_NS


@dataclass(frozen=True, slots=True)
class AuthHeader:
    """What every request carries in its SOAP header."""

    user: str
    password: str
    locale: str | None = None
    app_name: str | None = None
    app_version: str | None = None
    gzip_response: bool | None = None
    fault_http_status_code: int | None = None

    def __repr__(self) -> str:  # never let the password reach a log line through a repr
        return f"AuthHeader(user={self.user!r}, locale={self.locale!r})"


# --------------------------------------------------------------------------------------------- building


def build_request(operation: str, params: Iterable[tuple[str, Any]], auth: AuthHeader, api_version: str) -> bytes:
    """The complete envelope for `operation` with `<operationParam>` children in the order given.

    Values may be str, int, bool, datetime, or a list of str (rendered as a StringArray of `items`).
    None values are omitted, as optional elements are.
    """
    ns = api_namespace(api_version)
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    header = etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
    header.append(_auth_element(auth))
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    param = etree.SubElement(body, f"{{{ns}}}{operation}Param", nsmap={"ns": ns})
    for name, value in params:
        if value is None:
            continue
        child = etree.SubElement(param, f"{{{ns}}}{name}")
        if isinstance(value, list):
            for item in value:
                etree.SubElement(child, f"{{{ns}}}items").text = str(item)
        else:
            child.text = format_value(value)
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def _auth_element(auth: AuthHeader) -> etree._Element:
    el = etree.Element(f"{{{AUTH_NS}}}authHeader", nsmap={"auth": AUTH_NS})
    for name, value in (
        ("user", auth.user),
        ("password", auth.password),
        ("locale", auth.locale),
        ("appName", auth.app_name),
        ("appVersion", auth.app_version),
        ("gzipResponse", auth.gzip_response),
        ("faultHttpStatusCode", auth.fault_http_status_code),
    ):
        if value is not None:
            etree.SubElement(el, f"{{{AUTH_NS}}}{name}").text = format_value(value)
    return el


def format_value(value: Any) -> str:
    """xsd lexical form of a Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value)


# ---------------------------------------------------------------------------------------- safe parsing


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


class _Parsers(threading.local):
    """One parser per thread: big answers are parsed in a worker thread, and an lxml parser is not to be
    used by two threads at once."""

    def __init__(self) -> None:
        self.parser = _hardened_parser()


_PARSERS = _Parsers()


def parse_xml(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted bytes; refuse DTDs (the door to entity expansion) and anything over `max_bytes`.

    A document that fails only because of what XML cannot carry (invalid UTF-8, a raw control character or a
    reference to one, in one job's name) is read again with those characters replaced by U+FFFD: one bad
    field must not blind a company to every other job. Anything still malformed after that is refused.
    """
    if len(data) > max_bytes:
        raise IpsParseError(f"response body of {len(data)} bytes exceeds the {max_bytes}-byte cap")
    # A lone byte search is nearly free; the exact ones run only if a "!" appears at all.
    if b"!" in data and (b"<!DOCTYPE" in data or b"<!ENTITY" in data):
        raise IpsParseError("response contains a DTD, which SOAP forbids")
    try:
        root = etree.fromstring(data, _PARSERS.parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        repaired = repair(data)
        if repaired is None:
            raise IpsParseError(f"malformed XML: {exc}") from None
        try:
            root = etree.fromstring(repaired, _PARSERS.parser)
        except (etree.XMLSyntaxError, ValueError):
            raise IpsParseError(f"malformed XML: {exc}") from None
    if root is None:
        raise IpsParseError("empty XML document")
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise IpsParseError("response contains a DTD, which SOAP forbids")
    return root


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DECLARATION = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*""")
# What XML 1.0 cannot carry, raw: C0 controls but tab, LF and CR; U+FFFE and U+FFFF; lone surrogates.
_UNCARRIABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")


def repair(data: bytes) -> bytes | None:
    """`data` decoded as it declares (invalid bytes → U+FFFD), with every character XML cannot carry, raw or as
    a reference, replaced by U+FFFD, as UTF-8; None when that changes nothing (the fault lies elsewhere)."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    declared = _DECLARED.match(data)
    encoding = encoding or (declared.group(1).decode("ascii") if declared else "utf-8")
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:  # an encoding Python does not know: read what it can as UTF-8
        text = data.decode("utf-8", errors="replace")
    text = _UNCARRIABLE.sub("\ufffd", text.removeprefix("\ufeff"))
    text = _CHAR_REF.sub(_carriable_reference, text)
    repaired = _DECLARATION.sub(r"\1UTF-8", text, count=1).encode("utf-8")
    return None if repaired == data else repaired


def _carriable_reference(match: re.Match[str]) -> str:
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    if code > 0x10FFFF or (code <= 0xFFFF and _UNCARRIABLE.match(chr(code))):
        return "&#xFFFD;"
    return match.group(0)


def find_child(el: etree._Element, name: str) -> etree._Element | None:
    for child in el:
        if local(child.tag) == name:
            return child
    return None


def response_element(
    data: bytes, operation: str, max_bytes: int = DEFAULT_MAX_BYTES, namespace: str | None = None
) -> etree._Element:
    """The `<operationReturn>` element of a response, or the typed fault / parse error it stands for.

    With `namespace` (the API version's), a return element in any other namespace is refused: it is another
    API, or another version of it, whose fields may mean something else. Its prefix may be anything.
    """
    root = parse_xml(data, max_bytes)
    if local(root.tag) != "Envelope":
        raise IpsParseError(f"expected a SOAP Envelope, got <{local(root.tag)}>")
    body = find_child(root, "Body")
    if body is None:
        raise IpsParseError("SOAP Envelope has no Body")
    fault = find_child(body, "Fault")
    if fault is not None:
        raise parse_fault(fault)
    ret = find_child(body, f"{operation}Return")
    if ret is None:
        first = next((local(c.tag) for c in body if local(c.tag)), "nothing")
        raise IpsParseError(f"expected <{operation}Return> in the SOAP Body, got <{first}>")
    found = etree.QName(ret).namespace or ""
    if namespace is not None and found != namespace:
        raise IpsParseError(f"<{operation}Return> is in namespace {found!r}, not the configured API's {namespace!r}")
    return ret


def html_page(data: bytes) -> str | None:
    """What an HTML page (a proxy's error or login page) calls itself — its title, or "" — else None."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not (head.startswith((b"<!doctype html", b"<html")) or (head.startswith(b"<") and b"<html" in head[:512])):
        return None
    title = re.search(rb"<title[^>]*>(.*?)</title", data[:8192], re.IGNORECASE | re.DOTALL)
    text = title.group(1).decode("utf-8", "replace") if title else ""
    return " ".join(text.split())[:100]


_FAULT_KINDS = {"authenticationFault": "authentication", "authorizationFault": "authorization", "ipsApiFault": "ipsApi"}


def parse_fault(fault: etree._Element, http_status: int | None = None) -> IpsFault:
    """A SOAP 1.1 Fault with the IPS detail (authenticationFault / authorizationFault / ipsApiFault)."""
    faultcode = element_text(find_child(fault, "faultcode")) or ""
    faultstring = element_text(find_child(fault, "faultstring")) or ""
    kind, code, reason = "unknown", None, None
    detail = find_child(fault, "detail")
    for child in detail if detail is not None else ():
        if local(child.tag) in _FAULT_KINDS:
            kind = _FAULT_KINDS[local(child.tag)]
            code = _fault_code(element_text(find_child(child, "code")))
            reason = element_text(find_child(child, "reason"))
            break
    return IpsFault(
        faultcode=faultcode, faultstring=faultstring, kind=kind, code=code, reason=reason, http_status=http_status
    )


def _fault_code(text: str | None) -> int | None:
    # A fault must always come through as a fault, so an unreadable code is dropped rather than raised.
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None
