"""Memoised hot paths of the moto server (5.2.5): the same answers, computed once.

Each moto request did work whose result never changes while the process runs; at fleet
scale (tens of thousands of requests) that work was most of the local AWS's time
(docs/BENCHMARK.md, "Where the time went"). ``install()`` replaces, once per process:

- ``moto.backends.list_of_moto_modules``: the server's dispatcher lists moto's package
  directory (``os.listdir`` + ``isdir`` of ~175 entries) twice per request to match the
  Host header. The installed package does not change: the list is read once.
- ``moto.core.utils.method_names_from_class`` (as imported by ``moto.core.responses``):
  ``inspect.getmembers`` of the response class on every request, to find the action's
  method. One list per class and member count (a method added later is seen).
- ``jsonpath_ng.ext.parse`` (what moto's EventBridge input transformer calls): a new ply
  parser, with its grammar tables, for every input path of every matched target of every
  event. A parsed path is immutable: one per path text.
- ``XFormedAttributePicker.get_possible_keys`` (moto's response serialiser): six alias
  providers instantiated per attribute of every serialised object to find which Python
  attribute holds a model member. Their answer depends only on the object's class, the
  member's name and its shape in the service model: one answer per such combination; and
  ``ResponseSerializer.get_value`` then picks the field from those keys directly.
- ``xmltodict.unparse`` as moto's serialisers call it (``moto.core.serialize``; no
  document header, short empty elements, not pretty): the same XML text written with plain
  string joins instead of a SAX generator's method call per element. Any other use, or any
  input outside what moto produces (bytes, comments, namespace maps, odd names), goes to
  xmltodict itself; ``tests/integration/test_local_speedups.py`` checks both give the same
  text for every answer of a chain.
- ``ResponseSerializer._serialize_type_structure`` for a DB snapshot: its structure is
  kept while the snapshot's state (every attribute; tags by content) is unchanged, and so is
  its XML text once written (the fast writer keeps it beside the kept structure).
- ``BaseResponse._enrich_response``: moto writes a fresh request id into every answer's
  ``<RequestId>`` with a look-behind regex, tried at every character of the body (a
  100-snapshot listing is ~110 kB). With one ``<RequestId>`` (or none) the same text is
  found with ``str.find``; anything else goes to moto's regex.
- ``moto.rds.utils.apply_filter`` (as ``moto.rds.models`` calls it for every filtered
  Describe*): the filter definitions and values were looked up, and case-insensitive values
  lower-cased, again for every resource in the region. They are prepared once per call;
  the same resources match, in the same order.

Nothing here changes what moto answers or stores; tests run the same with and without it.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import xmltodict  # type: ignore[import-untyped]

_installed = False
ORIGINALS: dict[str, Any] = {}  # what was replaced, by name (tests compare both ways)


def install() -> None:
    """Patch the hot paths (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    _cache_moto_modules()
    _cache_method_names()
    _cache_jsonpath()
    _cache_attribute_keys()
    _fast_unparse()
    _cache_snapshot_structures()
    _fast_rds_filters()
    _fast_request_ids()


def _cache_moto_modules() -> None:
    from moto import backends

    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def _cache_method_names() -> None:
    from moto.core import responses, utils

    original: Callable[[object], list[str]] = utils.method_names_from_class

    @functools.cache
    def cached(clazz: object, _members: int) -> list[str]:
        return original(clazz)

    def method_names_from_class(clazz: object) -> list[str]:
        # Keyed also on how many members the class and its bases have: a method added
        # later (the local AWS's DescribeAccountAttributes, local/limits.py) is seen.
        members = sum(len(vars(c)) for c in getattr(clazz, "__mro__", ()))
        return list(cached(clazz, members))

    responses.method_names_from_class = method_names_from_class  # type: ignore[attr-defined]


def _cache_jsonpath() -> None:
    import jsonpath_ng.ext

    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)  # type: ignore[attr-defined]


def _cache_attribute_keys() -> None:
    from moto.core.serialize import XFormedAttributePicker

    original = XFormedAttributePicker.get_possible_keys
    ORIGINALS["get_possible_keys"] = original
    keys: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def get_possible_keys(self: Any, context: Any) -> Iterator[str]:
        service = getattr(context.service_model, "service_name", None)
        cache_key = _keys_key(type(self), context.obj, context.key, service, context.shape)
        found = keys.get(cache_key)
        if found is None:
            found = keys[cache_key] = tuple(original(self, context))
        return iter(found)

    XFormedAttributePicker.get_possible_keys = get_possible_keys  # type: ignore[method-assign,assignment]
    _fast_get_value(keys)


def _keys_key(picker: type, obj: Any, key: str, service: str | None, shape: Any) -> tuple[Any, ...]:
    """What a member's possible keys depend on: the picker, the object's class, the member's
    name, the service, and the member's shape (name, type, serialised name, parent)."""
    parent = getattr(shape, "parent", None)
    return (
        picker,
        type(obj),
        key,
        service,
        None if shape is None else (shape.name, shape.type_name),
        None if shape is None else shape.serialization.get("name"),
        None if parent is None else (parent.name, parent.type_name),
    )


def _fast_get_value(keys: dict[tuple[Any, ...], tuple[str, ...]]) -> None:
    """``ResponseSerializer.get_value`` for a member whose possible keys are known: what
    ``AttributePicker.__call__`` does without transformers (the first key the object has,
    else None), minus a context object and a joined path per member. Anything else (a
    picker with response transformers, another picker, keys not yet known) goes the
    original way, which also fills ``keys``."""
    from moto.core.constants import MISSING
    from moto.core.serialize import ResponseSerializer, XFormedAttributePicker
    from moto.core.utils import get_value as value_of

    original = ResponseSerializer.get_value
    ORIGINALS["get_value"] = original

    def get_value(self: Any, value: Any, key: str, shape: Any) -> Any:
        picker = self._value_picker
        if type(picker) is XFormedAttributePicker and not picker.response_transformers:
            service = self.operation_model.service_model.service_name
            found = keys.get(_keys_key(XFormedAttributePicker, value, key, service, shape))
            if found is not None:
                for possible in found:
                    picked = value_of(value, possible, MISSING)
                    if picked is not MISSING:
                        return picked
                return None
        return original(self, value, key, shape)

    ResponseSerializer.get_value = get_value  # type: ignore[method-assign]


class _Unsupported(Exception):
    """Input the fast writer does not handle: xmltodict writes it."""


_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*\Z")


def unparse(
    input_dict: Any,
    output: Any = None,
    encoding: str = "utf-8",
    full_document: bool = True,
    short_empty_elements: bool = False,
    **kwargs: Any,
) -> Any:
    """``xmltodict.unparse``, faster for the one way moto calls it (same text)."""
    fast = (
        output is None
        and not full_document
        and short_empty_elements
        and encoding == "utf-8"
        and not kwargs.get("pretty")
        and set(kwargs) <= {"pretty"}
    )
    if fast:
        parts: list[str] = []
        try:
            for key, value in input_dict.items():
                _emit(key, value, parts)
        except _Unsupported:
            pass
        else:
            return "".join(parts)
    return xmltodict.unparse(
        input_dict,
        output,
        encoding,
        full_document=full_document,
        short_empty_elements=short_empty_elements,
        **kwargs,
    )


def _text(value: Any) -> str:
    """xmltodict's conversion of a value to text (bytes are left to xmltodict)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _Unsupported
    return str(value)


def _emit(key: Any, value: Any, out: list[str]) -> None:
    """One key of xmltodict's ``_emit``: an element per item, attributes from ``@`` keys,
    text from ``#text``, an empty element as ``<key/>``."""
    if not isinstance(key, str) or not _SAFE_NAME.match(key):
        raise _Unsupported
    if not hasattr(value, "__iter__") or isinstance(
        value, (str, bytes, bytearray, memoryview, dict)
    ):
        value = [value]
    for item in value:
        shared = _SHARED.get(id(item)) if isinstance(item, dict) else None
        if shared is None or shared[0] is not item:
            _emit_item(key, item, out)
            continue
        text_of = shared[1].get(key)
        if text_of is None:  # written once the ordinary way, then kept
            fragment: list[str] = []
            _emit_item(key, item, fragment)
            text_of = shared[1][key] = "".join(fragment)
        out.append(text_of)


def _emit_item(key: str, item: Any, out: list[str]) -> None:
    """One element ``key`` for one item: text, or a dict's attributes and children."""
    if item is None:
        item = {}
    elif not isinstance(item, (dict, str)):
        item = _text(item)
    if isinstance(item, str):
        out.append(f"<{key}>{escape(item)}</{key}>" if item else f"<{key}/>")
        return
    text: str | None = None
    attributes: list[str] = []
    children: list[str] = []
    for inner_key, inner in item.items():
        if inner_key == "#text":
            text = None if inner is None else _text(inner)
            continue
        if isinstance(inner_key, str) and inner_key.startswith("@"):
            name = inner_key[1:]
            if isinstance(inner, dict) or not _SAFE_NAME.match(name):
                raise _Unsupported  # namespace maps, odd names
            attributes.append(f" {name}={quoteattr('' if inner is None else _text(inner))}")
            continue
        if inner_key == "#comment":
            raise _Unsupported
        if isinstance(inner, list) and not inner:
            continue  # xmltodict skips empty lists
        _emit(inner_key, inner, children)
    out.append(f"<{key}{''.join(attributes)}")
    if children or text:
        out.append(">")
        out.extend(children)
        if text:
            out.append(escape(text))
        out.append(f"</{key}>")
    else:
        out.append("/>")


# Structures kept by _cache_snapshot_structures: id → (the dict, held so its id is not
# reused while kept; its XML as the fast writer wrote it, by element name). Such a dict is
# never changed (moto only reads it), so its text cannot go stale; both are dropped when
# the snapshot's state changes.
_SHARED: dict[int, tuple[dict[str, Any], dict[str, str]]] = {}


def _share(fresh: dict[str, Any], old: dict[str, Any] | None) -> None:
    for structure in (old or {}).values():
        if isinstance(structure, dict):
            _SHARED.pop(id(structure), None)
    for structure in fresh.values():
        if isinstance(structure, dict):
            _SHARED[id(structure)] = (structure, {})


_PLAIN = frozenset({str, int, float, bool, datetime, type(None)})


def _state(obj: Any) -> tuple[Any, ...]:
    """Everything a DB snapshot's answer is made of: its own attributes (plain values as
    they are, lists and dicts such as its tags by content, other objects - its private copy
    of the instance, its backend - by identity, as moto never changes them)."""
    state = []
    for name, value in vars(obj).items():
        # type(value) in _PLAIN: the common case, without isinstance's walk of the union
        if type(value) in _PLAIN or isinstance(value, str | int | float | datetime):
            state.append((name, value))
        elif isinstance(value, list | dict | tuple):
            state.append((name, repr(value)))
        else:
            state.append((name, id(value)))
    return tuple(state)


def _cache_snapshot_structures() -> None:
    """A DB snapshot's serialised structure, kept while its state is unchanged.

    Each event's fill lists every source and copy in flight (rds_backup/limits/): at 100
    databases, most of a night is moto writing the same unchanged snapshots again. The
    structure (moto's dict before XML) is kept per snapshot, serialiser class and member,
    with the snapshot's full state (:func:`_state`); any change of state writes it anew.
    The dict is shared, never changed afterwards (moto only reads it to write XML)."""
    from moto.core.serialize import ResponseSerializer
    from moto.rds.models import DBSnapshot

    original = ResponseSerializer._serialize_type_structure
    ORIGINALS["_serialize_type_structure"] = original
    kept: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if not key or type(value) is not DBSnapshot:
            original(self, serialized, value, shape, key)
            return
        where = (id(value), type(self), self.operation_model.name, shape.name, key)
        state = _state(value)
        known = kept.get(where)
        if known is None or known[0] != state:
            fresh: dict[str, Any] = {}
            original(self, fresh, value, shape, key)
            _share(fresh, None if known is None else known[1])
            kept[where] = known = (state, fresh)
        serialized.update(known[1])

    ResponseSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]


def _fast_unparse() -> None:
    from moto.core import serialize

    shim = types.SimpleNamespace(**vars(xmltodict))
    shim.unparse = unparse
    serialize.xmltodict = shim  # type: ignore[attr-defined]


def _fast_rds_filters() -> None:
    from moto.rds import models

    ORIGINALS["apply_filter"] = vars(models)["apply_filter"]
    models.apply_filter = apply_filter  # type: ignore[attr-defined]


def apply_filter(resources: Any, filters: Any, filter_defs: dict[str, Any]) -> Any:
    """``moto.rds.utils.apply_filter`` with the filters prepared once per call.

    The same rule as moto's: a resource matches when every defined filter has one of its
    attributes among the filter's values (a case-insensitive filter lower-cases its values,
    not the attribute, as moto does) and at least one filter is defined."""
    from collections import OrderedDict

    from moto.rds.utils import get_object_value

    checks: list[tuple[tuple[str, ...], list[Any], frozenset[Any] | None]] = []
    for name, values in filters.items():
        definition = filter_defs.get(name)
        if definition is None or definition.attrs_to_check is None:
            continue
        wanted = [v.lower() for v in values] if definition.case_insensitive else list(values)
        try:
            fast: frozenset[Any] | None = frozenset(wanted)
        except TypeError:
            fast = None
        checks.append((tuple(definition.attrs_to_check), wanted, fast))
    matched: OrderedDict[Any, Any] = OrderedDict()
    if not checks:
        return matched
    for identifier, obj in resources.items():
        for attrs, wanted, fast in checks:
            if not any(_among(get_object_value(obj, a), wanted, fast) for a in attrs):
                break
        else:
            matched[identifier] = obj
    return matched


def _among(value: Any, wanted: list[Any], fast: frozenset[Any] | None) -> bool:
    if fast is not None:
        try:
            return value in fast
        except TypeError:  # an unhashable attribute (a list): compared as moto does
            pass
    return value in wanted


_OPEN, _CLOSE = "<RequestId>", "</RequestId>"


def _fast_request_ids() -> None:
    from moto.core.responses import BaseResponse

    ORIGINALS["_enrich_response"] = BaseResponse._enrich_response
    BaseResponse._enrich_response = staticmethod(_fast_enrich)  # type: ignore[method-assign]


def _fast_enrich(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    return enrich_response(ORIGINALS["_enrich_response"], headers, body)


def enrich_response(
    original: Callable[[dict[str, str], Any], tuple[dict[str, str], Any]],
    headers: dict[str, str],
    body: Any,
) -> tuple[dict[str, str], Any]:
    """moto's ``_enrich_response``: the status header as text, a new request id in the
    headers and in the body's ``<RequestId>``. moto's pattern is
    ``(?<=<RequestId>).*(?=</RequestId>)``: from the one opening tag, greedily to the last
    closing tag on the same line."""
    found = body.count(_OPEN) if isinstance(body, str) else -1
    if found not in (0, 1):
        return original(headers, body)
    from moto.utilities.aws_headers import gen_amzn_requestid_long

    if "status" in headers:
        headers["status"] = str(headers["status"])
    request_id = gen_amzn_requestid_long(headers)
    if found == 0:
        return headers, body
    start = body.index(_OPEN) + len(_OPEN)
    line_end = body.find("\n", start)
    close = body.rfind(_CLOSE, start, len(body) if line_end == -1 else line_end)
    if close == -1:
        return headers, body
    return headers, body[:start] + request_id + body[close:]
