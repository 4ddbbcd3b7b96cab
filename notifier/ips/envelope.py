"""Pure SOAP envelope building and response parsing for the IPS operations the notifier uses.

Parsing maps lxml elements straight onto the frozen models (no generic dict layer) because a poll cycle
may hold tens of thousands of jobs. It is lenient where real Axis2 servers vary — any namespace prefix,
omitted optional elements, unknown elements from newer API versions — and strict where the XML itself is
malformed or unsafe: DTDs and entities are refused and bodies are capped before parsing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from notifier.ips.errors import IpsFault, IpsParseError

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
AUTH_NS = "http://www.scene7.com/IpsApi/xsd"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
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

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def parse_xml(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted bytes; refuse DTDs (the door to entity expansion) and anything over `max_bytes`."""
    if len(data) > max_bytes:
        raise IpsParseError(f"response body of {len(data)} bytes exceeds the {max_bytes}-byte cap")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise IpsParseError("response contains a DTD, which SOAP forbids")
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise IpsParseError(f"malformed XML: {exc}") from None
    if root is None:
        raise IpsParseError("empty XML document")
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise IpsParseError("response contains a DTD, which SOAP forbids")
    return root


def local(tag: object) -> str:
    """Local name of an element tag, whatever namespace prefix the server chose."""
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1 :]


def find_child(el: etree._Element, name: str) -> etree._Element | None:
    for child in el:
        if local(child.tag) == name:
            return child
    return None


def response_element(data: bytes, operation: str, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """The `<operationReturn>` element of a response, or the typed fault / parse error it stands for."""
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
    return ret


_FAULT_KINDS = {"authenticationFault": "authentication", "authorizationFault": "authorization", "ipsApiFault": "ipsApi"}


def parse_fault(fault: etree._Element, http_status: int | None = None) -> IpsFault:
    """A SOAP 1.1 Fault with the IPS detail (authenticationFault / authorizationFault / ipsApiFault)."""
    faultcode = _text(find_child(fault, "faultcode")) or ""
    faultstring = _text(find_child(fault, "faultstring")) or ""
    kind, code, reason = "unknown", None, None
    detail = find_child(fault, "detail")
    for child in detail if detail is not None else ():
        if local(child.tag) in _FAULT_KINDS:
            kind = _FAULT_KINDS[local(child.tag)]
            code = _fault_code(_text(find_child(child, "code")))
            reason = _text(find_child(child, "reason"))
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


# -------------------------------------------------------------------------------------- value converters


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.get(XSI_NIL) in ("true", "1"):
        return None
    return el.text or ""


def to_str(el: etree._Element) -> str | None:
    return _text(el)


def to_int(el: etree._Element) -> int | None:
    text = _text(el)
    if text is None or not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise IpsParseError(f"<{local(el.tag)}> is not an integer: {text[:40]!r}") from None


def to_float(el: etree._Element) -> float | None:
    text = _text(el)
    if text is None or not text.strip():
        return None
    try:
        return float(text.strip())
    except ValueError:
        raise IpsParseError(f"<{local(el.tag)}> is not a number: {text[:40]!r}") from None


def to_bool(el: etree._Element) -> bool | None:
    text = _text(el)
    if text is None or not text.strip():
        return None
    value = text.strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise IpsParseError(f"<{local(el.tag)}> is not a boolean: {value[:40]!r}")


def to_datetime(el: etree._Element) -> datetime | None:
    """xsd:dateTime with an offset, `Z` or none (taken as UTC), and any number of fractional digits."""
    text = _text(el)
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(_trim_fraction(value))
    except ValueError:
        raise IpsParseError(f"<{local(el.tag)}> is not a dateTime: {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _trim_fraction(value: str) -> str:
    """Python reads at most microseconds; Java may send nanoseconds."""
    dot = value.find(".", 10)
    if dot < 0:
        return value
    end = dot + 1
    while end < len(value) and value[end].isdigit():
        end += 1
    digits = value[dot + 1 : end][:6]
    return value[: dot + 1] + (digits or "0") + value[end:]


Converter = Callable[[etree._Element], Any]
FieldMap = Mapping[str, tuple[str, Converter]]


def _fields(el: etree._Element, spec: FieldMap, nested: Mapping[str, Converter] | None = None) -> dict[str, Any]:
    """Keyword arguments for a model from the children of `el`; unknown children are ignored."""
    kwargs: dict[str, Any] = {}
    for child in el:
        name = local(child.tag)
        hit = spec.get(name)
        if hit is not None:
            kwargs[hit[0]] = hit[1](child)
        elif nested and name in nested:
            key, value = nested[name](child)
            kwargs[key] = value
    return kwargs


def items(el: etree._Element | None) -> list[etree._Element]:
    """Children named `items` (or `item`, used by TaskProgressArray) of an array wrapper."""
    if el is None:
        return []
    return [c for c in el if local(c.tag) in ("items", "item")]
