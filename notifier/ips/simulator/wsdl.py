"""The simulator's WSDL: document/literal, generated from the same field tables the responses are rendered
from, so a WSDL-driven client (zeep, Axis2, .NET) reads exactly what the simulator sends, and elements the
published schema requires are required here too (the tests validate every answer against this schema).

It covers only the operations the notifier uses, with the authHeader as a SOAP header and the three IPS
fault elements, which is what a generated client needs to call them.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from notifier.ips import schema
from notifier.ips.envelope import AUTH_NS, api_namespace
from notifier.models import JOB_DETAIL_KINDS

_SIMPLE = {"string", "int", "long", "double", "boolean", "dateTime"}
_FAULTS = ("authenticationFault", "authorizationFault", "ipsApiFault")
_AUTH_FIELDS = (
    ("user", "string"),
    ("password", "string"),
    ("locale", "string"),
    ("appName", "string"),
    ("appVersion", "string"),
    ("gzipResponse", "boolean"),
    ("faultHttpStatusCode", "int"),
)
# operation → (request fields as (name, type, required)), (response wrapper, its type)
_OPERATIONS: dict[str, tuple[tuple[tuple[str, str, bool], ...], tuple[str, str]]] = {
    "getActiveJobs": (
        (("companyHandle", "string", False), ("jobHandle", "string", False), ("originalName", "string", False),
         ("includeWaitingJobs", "boolean", False)),
        ("jobArray", "ActiveJobArray"),
    ),
    "getJobLogs": (
        (("companyHandle", "string", False), ("userHandle", "string", False), ("sortBy", "string", False),
         ("sortDirection", "string", False), ("startDate", "dateTime", False), ("endDate", "dateTime", False),
         ("numRows", "int", False)),
        ("jobLogArray", "JobLogArray"),
    ),
    "getJobLogDetails": (
        (("companyHandle", "string", True), ("jobHandle", "string", False), ("originalName", "string", False),
         ("logTypeArray", "StringArray", False), ("recordsPerPage", "int", False), ("resultsPage", "int", False),
         ("sortBy", "string", False), ("sortDirection", "string", False)),
        ("jobLogArray", "JobLogArray"),
    ),
    "getCompanyInfo": (
        (("companyHandle", "string", False), ("companyName", "string", False)),
        ("companyInfo", "CompanyInfo"),
    ),
    "getScheduledJobs": (
        (("companyHandle", "string", True), ("jobHandle", "string", False), ("originalName", "string", False)),
        ("jobArray", "ScheduledJobArray"),
    ),
}  # fmt: skip


def _type_ref(xsd_type: str) -> str:
    return f"xsd:{xsd_type}" if xsd_type in _SIMPLE else f"tns:{xsd_type}"


def _element(name: str, xsd_type: str, *, required: bool = False, many: bool = False) -> str:
    occurs = ("" if required else ' minOccurs="0"') + (' maxOccurs="unbounded"' if many else "")
    return f'<xsd:element name="{name}" type="{_type_ref(xsd_type)}"{occurs}/>'


def _complex(name: str, elements: list[str]) -> str:
    return f'<xsd:complexType name="{name}"><xsd:sequence>{"".join(elements)}</xsd:sequence></xsd:complexType>'


def _from_fields(name: str, fields: tuple[schema.Field, ...], extra: list[str] | None = None) -> str:
    """A complex type whose elements are required where the published schema requires them."""
    elements = [_element(el, xsd_type, required=schema.required(name, el)) for el, _, xsd_type in fields]
    return _complex(name, elements + (extra or []))


def _types() -> list[str]:
    """Every complex type of the versioned schema."""
    detail_kinds = [f'<xsd:element name="{kind}" type="tns:JobDetail" minOccurs="0"/>' for kind in JOB_DETAIL_KINDS]
    types = [
        _from_fields("ActiveJob", schema.ACTIVE_JOB_FIELDS, detail_kinds),
        # What the simulator's details hold; a real server's carry more per kind, which the parser keeps as pairs.
        _from_fields("JobDetail", schema.JOB_DETAIL_FIELDS),
        _from_fields("TaskProgress", schema.TASK_PROGRESS_FIELDS),
        _complex("TaskItemProgress", [_element(n, t, required=True) for n, t in schema.TASK_ITEM_ELEMENTS]),
        _from_fields("JobLog", schema.JOB_LOG_FIELDS),
        _from_fields("JobLogDetail", schema.LOG_DETAIL_FIELDS),
        _from_fields("JobLogDetailAux", schema.AUX_FIELDS),
        _from_fields("CompanyInfo", schema.COMPANY_FIELDS),
        _from_fields("ScheduledJob", schema.SCHEDULED_JOB_FIELDS),
        _complex("StringArray", [_element("items", "string", many=True)]),
    ]
    items = {"TaskProgressArray": "TaskProgress", "TaskItemProgressArray": "TaskItemProgress",
             "JobLogDetailArray": "JobLogDetail", "JobLogDetailAuxArray": "JobLogDetailAux",
             "ActiveJobArray": "ActiveJob", "JobLogArray": "JobLog", "ScheduledJobArray": "ScheduledJob"}  # fmt: skip
    for array, item_type in items.items():
        item_name = schema.ARRAY_TYPES[array][0] if array in schema.ARRAY_TYPES else "items"
        types.append(_complex(array, [_element(item_name, item_type, many=True)]))
    for operation, (request, (wrapper, wrapper_type)) in _OPERATIONS.items():
        params = [_element(name, xsd_type, required=required) for name, xsd_type, required in request]
        types.append(f'<xsd:element name="{operation}Param"><xsd:complexType><xsd:sequence>{"".join(params)}'
                     "</xsd:sequence></xsd:complexType></xsd:element>")  # fmt: skip
        returned = _element(wrapper, wrapper_type, required=True)
        types.append(f'<xsd:element name="{operation}Return"><xsd:complexType><xsd:sequence>{returned}'
                     "</xsd:sequence></xsd:complexType></xsd:element>")  # fmt: skip
    return types


def _auth_schema() -> str:
    optional = ' minOccurs="0"'
    fields = "".join(
        f'<xsd:element name="{name}" type="xsd:{xsd_type}"{"" if name in ("user", "password") else optional}/>'
        for name, xsd_type in _AUTH_FIELDS
    )
    faults = "".join(f'<xsd:element name="{fault}" type="auth:IpsFault"/>' for fault in _FAULTS)
    return (
        f'<xsd:schema targetNamespace="{AUTH_NS}" elementFormDefault="qualified">'
        f'<xsd:element name="authHeader"><xsd:complexType><xsd:sequence>{fields}</xsd:sequence></xsd:complexType>'
        '</xsd:element><xsd:complexType name="IpsFault"><xsd:sequence><xsd:element name="code" type="xsd:int"/>'
        '<xsd:element name="reason" type="xsd:string" minOccurs="0"/></xsd:sequence></xsd:complexType>'
        f"{faults}</xsd:schema>"
    )


def _messages() -> list[str]:
    parts = ['<wsdl:message name="authHeader"><wsdl:part name="authHeader" element="auth:authHeader"/></wsdl:message>']
    for fault in _FAULTS:
        parts.append(f'<wsdl:message name="{fault}"><wsdl:part name="fault" element="auth:{fault}"/></wsdl:message>')
    for op in _OPERATIONS:
        parts.append(f'<wsdl:message name="{op}Request"><wsdl:part name="parameters" element="tns:{op}Param"/>'
                     f'</wsdl:message><wsdl:message name="{op}Response">'
                     f'<wsdl:part name="parameters" element="tns:{op}Return"/></wsdl:message>')  # fmt: skip
    return parts


def _port_type() -> str:
    faults = "".join(f'<wsdl:fault name="{f}" message="tns:{f}"/>' for f in _FAULTS)
    ops = "".join(
        f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Request"/>'
        f'<wsdl:output message="tns:{op}Response"/>{faults}</wsdl:operation>'
        for op in _OPERATIONS
    )
    return f'<wsdl:portType name="IpsApiPortType">{ops}</wsdl:portType>'


def _binding() -> str:
    header = '<soap:header message="tns:authHeader" part="authHeader" use="literal"/>'
    faults = "".join(f'<wsdl:fault name="{f}"><soap:fault name="{f}" use="literal"/></wsdl:fault>' for f in _FAULTS)
    ops = "".join(
        f'<wsdl:operation name="{op}"><soap:operation soapAction="{op}" style="document"/>'
        f'<wsdl:input><soap:body use="literal"/>{header}</wsdl:input>'
        f'<wsdl:output><soap:body use="literal"/></wsdl:output>{faults}</wsdl:operation>'
        for op in _OPERATIONS
    )
    return (
        '<wsdl:binding name="IpsApiSoapBinding" type="tns:IpsApiPortType">'
        f'<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>{ops}</wsdl:binding>'
    )


def wsdl(api_version: str, location: str) -> bytes:
    """The WSDL of `api_version` with the service at `location` (the IpsApiService endpoint URL)."""
    ns = api_namespace(api_version)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:tns="{ns}" xmlns:auth="{AUTH_NS}" targetNamespace="{ns}">'
        f"<wsdl:types>{_auth_schema()}"
        f'<xsd:schema targetNamespace="{ns}" elementFormDefault="qualified">{"".join(_types())}</xsd:schema>'
        f"</wsdl:types>{''.join(_messages())}{_port_type()}{_binding()}"
        '<wsdl:service name="IpsApiService"><wsdl:port name="IpsApiSoapPort" binding="tns:IpsApiSoapBinding">'
        f"<soap:address location={quoteattr(location)}/></wsdl:port></wsdl:service></wsdl:definitions>"
    ).encode()
