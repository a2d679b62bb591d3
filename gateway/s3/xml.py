"""S3 XML: a small fast writer for responses and a hardened parser for request bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import overload

from lxml import etree

from gateway.s3.errors import S3Error

__all__ = [
    "S3_NS",
    "XML_DECL",
    "XmlWriter",
    "attribute",
    "bool_element",
    "child_text",
    "children",
    "escape",
    "iso8601",
    "leaf_text",
    "local",
    "parse_xml",
    "s3_time",
    "sole_text",
    "xml_bool",
]

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
# A carriage return is written as a reference too: XML parsers read a literal one (and
# CR LF) as a line feed, so a key holding one would come back as another key.
_NEEDS_ESCAPE = re.compile(r"[&<>\"'\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _ESCAPES.get(ch) or f"&#x{ord(ch):x};"


def escape(text: str) -> str:
    """Escape for element text; control characters become character references."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return _NEEDS_ESCAPE.sub(_escape_char, text)


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(62))
_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))


def iso8601(when: datetime) -> str:
    """A date a client chose (an Object Lock retain-until date), to the millisecond:
    ``2006-02-03T16:45:09.123Z`` (``when`` in UTC).

    Built from the wall-clock fields with lookup tables, milliseconds truncated as
    ``isoformat(timespec="milliseconds")`` does, at about half its cost.
    """
    two = _TWO_DIGITS
    return (
        f"{when.year:04d}-{two[when.month]}-{two[when.day]}T{two[when.hour]}:"
        f"{two[when.minute]}:{two[when.second]}{_MILLIS[when.microsecond // 1000]}"
    )


def s3_time(when: datetime) -> str:
    """When something happened (LastModified, CreationDate, Initiated) as S3 writes it in
    XML bodies: whole seconds, ``2006-02-03T16:45:09.000Z`` (``when`` in UTC).

    S3 keeps these times to the second, so a listing and the ``Last-Modified`` header of
    the same object agree. Tools compare them: ``aws s3 sync --exact-timestamps`` sets a
    downloaded file's mtime from the listing to the second and downloads every object
    again whose listed time has milliseconds. Built with lookup tables (listing pages
    format 1,000 of these).
    """
    two = _TWO_DIGITS
    return (
        f"{when.year:04d}-{two[when.month]}-{two[when.day]}T{two[when.hour]}:"
        f"{two[when.minute]}:{two[when.second]}.000Z"
    )


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}(?::[A-Za-z_][A-Za-z0-9_.-]{0,127})?")
_checked_names: set[str] = set()


def _name(name: str) -> str:
    """An element or attribute name, checked once per distinct name (names come from code,
    but an upstream error's extra fields or a checksum algorithm could carry anything)."""
    if name not in _checked_names:
        if _NAME.fullmatch(name) is None:
            raise ValueError(f"not an XML name: {name!r}")
        if len(_checked_names) < 4096:
            _checked_names.add(name)
    return name


def attribute(value: str) -> str:
    """Escape for a double-quoted attribute value."""
    return escape(value)


class XmlWriter:
    """Appends elements to a list of strings; ``bytes()`` joins once.

    Every text and attribute value is escaped here and every name checked, so a value a
    client chose (a key, a region, an upload id) can never close an element or open one.
    ``raw`` is for fragments assembled from already escaped parts only (the listing's hot
    path); ``tests/security/test_xml_output.py`` pins where it may be called.
    """

    __slots__ = ("_parts",)

    def __init__(self, root: str | None = None, *, namespace: bool = True) -> None:
        self._parts: list[str] = [XML_DECL]
        if root is not None:
            self.open(root, namespace=namespace)

    def open(
        self, name: str, *, namespace: bool = False, attrs: Mapping[str, str] | None = None
    ) -> None:
        """A start tag; ``attrs`` (qualified names allowed, ``xmlns:xsi``) are escaped."""
        tag = _name(name)
        if namespace:
            tag += f' xmlns="{S3_NS}"'
        for attr, value in (attrs or {}).items():
            tag += f' {_name(attr)}="{attribute(value)}"'
        self._parts.append(f"<{tag}>")

    def close(self, name: str) -> None:
        self._parts.append(f"</{_name(name)}>")

    def el(self, name: str, value: object) -> None:
        """An element with text; ``None`` writes nothing, booleans are ``true``/``false``."""
        if value is None:
            return
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, datetime):
            text = s3_time(value)
        else:
            text = escape(str(value))
        name = _name(name)
        self._parts.append(f"<{name}>{text}</{name}>")

    def text(self, value: str) -> None:
        """Text inside the element last opened (escaped)."""
        self._parts.append(escape(value))

    def raw(self, fragment: str) -> None:
        """A fragment whose every value was escaped by the caller (hot paths only)."""
        self._parts.append(fragment)

    def __bytes__(self) -> bytes:
        return "".join(self._parts).encode("utf-8")


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def parse_xml(
    body: bytes,
    *,
    error_code: str = "MalformedXML",
    max_elements: int | None = None,
    too_many: str | None = None,
) -> etree._Element:
    """Parse a request body; DOCTYPEs (and so entities) are refused outright.

    ``max_elements``: the most elements the document's schema allows. Every element
    starts with ``<``, so a body holding more than twice as many (an opening and a closing
    tag each, plus a declaration) has more elements than the schema allows and is refused
    from that count, before lxml builds a tree of them: a tree costs about 110 bytes of
    memory per element, so 8 MB of ``<a/>`` is over 100 MB (``tests/security/
    test_xml_entry_counts.py``). ``too_many``: the error code of that refusal, when not
    ``error_code``. Cost: one ``bytes.count`` over the body.

    An element holding both text and elements (``<Key>a<x/>b</Key>``) is ``error_code``
    too: no S3 schema has mixed content, and lxml's ``.text`` is only the text before the
    first child, so the key read was ``a`` where the document says ``ab`` (a DeleteObjects
    deleted another object than the one its body names, a tag was stored as another key).
    So is an element in a namespace other than none or S3's (``<Delete xmlns="urn:x">``),
    as S3 answers it (``docs/s3-compatibility.md``). Cost: one walk over the tree (about
    1 us for a small document, 11 ms for a completion of 10,000 parts whose parsing takes
    14 ms)."""
    if not body.strip():
        raise S3Error(error_code)
    if max_elements is not None and body.count(b"<") > 2 * max_elements + 8:
        raise S3Error(too_many or error_code)
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise S3Error(error_code) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise S3Error(error_code, "DOCTYPE declarations are not allowed")
    refusal = _unreadable(root)
    if refusal is not None:
        raise S3Error(error_code, refusal)
    return root


_XML_SPACE = " \t\r\n"


_S3_DOC_NS = "http://doc.s3.amazonaws.com/2006-03-01"
"""S3's other name for its namespace: AWS's PutBucketLogging reference turns logging off
with ``<BucketLoggingStatus xmlns="http://doc.s3.amazonaws.com/2006-03-01" />``, and s3cmd's
``accesslog`` sends its documents in it."""
_S3_TAG_PREFIXES = ("{" + S3_NS + "}", "{" + _S3_DOC_NS + "}")


def _unreadable(root: etree._Element) -> str | None:
    """Why S3 would not read the document, or None: in one walk over the tree,

    - an element in a namespace other than S3's (``<Delete xmlns="urn:x">``): S3 reads
      its documents with no namespace or ``http://s3.amazonaws.com/doc/2006-03-01/``
      (the SDKs send one or the other), or its older name ``_S3_DOC_NS``, and answers any
      other ``MalformedXML``; the names are compared by ``local`` further on, so a
      foreign document was read as S3's;
    - an element holding text (beyond XML whitespace) beside child elements. The text
      after a child is that child's ``tail``: any non-blank tail is mixed."""
    for element in root.iter():
        tag = element.tag
        if isinstance(tag, str) and tag[0] == "{" and not tag.startswith(_S3_TAG_PREFIXES):
            return "An element is in a namespace other than S3's"
        tail = element.tail
        if tail and tail.strip(_XML_SPACE) and element is not root:
            return _MIXED
        if len(element):
            text = element.text
            if text and text.strip(_XML_SPACE):
                return _MIXED
    return None


_MIXED = "An element holds both text and elements"


def leaf_text(element: etree._Element) -> str:
    """The text of an element S3's schema gives text only; one holding an element
    (``<Key><x>a</x></Key>``, read as the empty key) is ``MalformedXML``."""
    if any(isinstance(child.tag, str) for child in element):
        raise S3Error("MalformedXML")
    return element.text or ""


def local(tag: object) -> str:
    """An element's name without its namespace."""
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and local(c.tag) == name]


def child_text(element: etree._Element, name: str) -> str | None:
    found = children(element, name)
    if not found:
        return None
    return leaf_text(found[0])


def sole_text(element: etree._Element, name: str) -> str | None:
    """``child_text`` of an element S3's schema allows once: given twice (``<Mode>`` of
    two values), the document says two things at once and is ``MalformedXML``."""
    found = children(element, name)
    if len(found) > 1:
        raise S3Error("MalformedXML")
    return leaf_text(found[0]) if found else None


_BOOLEANS = {"true": True, "false": False}


def xml_bool(text: str) -> bool:
    """A boolean element's text as S3 reads it in every document (``Quiet``,
    ``ExpiredObjectDeleteMarker``, ``BlockPublicAcls`` and the rest of the public access
    block, ``BucketKeyEnabled``): ``true`` or ``false`` in any case (S3 takes minio-py's
    ``True``), surrounding whitespace aside; anything else, ``1`` and ``0`` included (S3
    refuses them: no ``xsd:boolean``), is ``MalformedXML``."""
    value = _BOOLEANS.get(text.strip().lower())
    if value is None:
        raise S3Error("MalformedXML")
    return value


@overload
def bool_element(element: etree._Element, name: str, *, default: bool) -> bool: ...
@overload
def bool_element(element: etree._Element, name: str) -> bool | None: ...
def bool_element(element: etree._Element, name: str, *, default: bool | None = None) -> bool | None:
    """The boolean child ``name`` of ``element`` (:func:`xml_bool`), ``default`` when
    absent. Given twice, or holding an element, it is ``MalformedXML`` (:func:`sole_text`)."""
    text = sole_text(element, name)
    return default if text is None else xml_bool(text)
