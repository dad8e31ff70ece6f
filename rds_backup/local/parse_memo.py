"""botocore's parse of a snapshot or an export task, kept by its XML text (fleet bench only).

At fleet scale each event's fill lists every source and every copy in flight
(rds_backup/limits/): the handlers' botocore parsed the same unchanged records all night,
~150 µs each (an XML tree of ~40 elements, then a walk of the shape), a fifth of a
100-database week. With :func:`install`, before botocore builds the tree of an answer,
each ``DBSnapshot``, ``DBClusterSnapshot`` or ``ExportTask`` element whose exact text the
same kind of parser has parsed before becomes an empty placeholder, and botocore's
structure handler answers it with a copy of what it gave for that text the first time.

- Equal text, equal parse: the key is the whole element, byte for byte, with the parser's
  class and timestamp parser, and the structure's shape name is checked.
- Each caller gets fresh dicts and lists, so changing an answer changes nothing kept.
- A new or changed element is parsed by botocore as before, then kept.
- Other answers, and anything not bytes, are not touched.

Installed by ``LocalServer.dispatch_in_process()`` (``bench --fleet``), for the rest of that
process; the demo and ``local up`` parse the ordinary way. The answers are checked equal to
botocore's own in ``tests/integration/test_parse_memo.py``.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from botocore.parsers import BaseXMLResponseParser

# The elements kept: RDS's listed records. moto writes them without attributes and never
# nests one in another; a ``<`` in their text is escaped, so the first closing tag ends one.
_ELEMENT = re.compile(rb"<(DBSnapshot|DBClusterSnapshot|ExportTask)>.*?</\1>", re.DOTALL)
_OPENINGS = (b"<DBSnapshot>", b"<DBClusterSnapshot>", b"<ExportTask>")
_MARK = "rds-backup-kept"  # the placeholder's attribute (botocore reads none of these)

# (parser class, timestamp parser, tag, element text) → (shape name, botocore's parse)
_kept: dict[tuple[Any, ...], tuple[str, Any]] = {}
_answer = threading.local()  # the elements of the answer being parsed, by index
_installed = False
ORIGINALS: dict[str, Any] = {}


def install() -> None:
    """Keep parses from now on, in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    parser: Any = BaseXMLResponseParser  # (its private methods are not in the type stubs)
    ORIGINALS["dom"] = parser._parse_xml_string_to_dom
    ORIGINALS["structure"] = parser._handle_structure
    parser._parse_xml_string_to_dom = _dom
    parser._handle_structure = _structure


def _dom(self: Any, xml_string: Any) -> Any:
    elements: list[tuple[bytes, bytes]] = []
    _answer.elements = elements
    if type(xml_string) is bytes and any(opening in xml_string for opening in _OPENINGS):
        parser = (type(self), self._timestamp_parser)

        def mark(match: re.Match[bytes]) -> bytes:
            tag, text = match.group(1), match.group(0)
            elements.append((tag, text))
            attribute = b' %s="%d"' % (_MARK.encode(), len(elements) - 1)
            if (*parser, tag, text) in _kept:
                return b"<%s%s/>" % (tag, attribute)
            return b"<%s%s%s" % (tag, attribute, text[len(tag) + 1 :])

        xml_string = _ELEMENT.sub(mark, xml_string)
    return ORIGINALS["dom"](self, xml_string)


def _structure(self: Any, shape: Any, node: Any) -> Any:
    index = node.attrib.pop(_MARK, None) if node.attrib else None
    if index is None:
        return ORIGINALS["structure"](self, shape, node)
    tag, text = _answer.elements[int(index)]
    key = (type(self), self._timestamp_parser, tag, text)
    found = _kept.get(key)
    if found is None:
        found = _kept[key] = (shape.name, ORIGINALS["structure"](self, shape, node))
    elif found[0] != shape.name:  # one tag, one shape in RDS; anything else is a bug here
        raise RuntimeError(f"{tag!r} kept as {found[0]}, asked as {shape.name}")
    return _fresh(found[1])


def _fresh(value: Any) -> Any:
    """A copy of a parse: new dicts and lists; the rest (text, numbers, datetimes, bytes)
    never changes."""
    kind = type(value)
    if kind is dict:
        return {key: _fresh(item) for key, item in value.items()}
    if kind is list:
        return [_fresh(item) for item in value]
    return value
