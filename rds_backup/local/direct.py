"""The local AWS without the socket: requests to the moto server handed to its WSGI app
in-process, for the fleet benchmark.

Over loopback every handler call costs a TCP connection (the server closes it after each
answer), a server thread and HTTP parsing on both sides: about a third of a simulated
night's time, none of it what the benchmark measures. With :func:`install`, a request that
botocore is about to send to the running server's URL is given, as it stands (method, path,
query, headers, body), to the very application object the server runs (moto's
``DomainDispatcherApplication``) through werkzeug's WSGI runner, and botocore receives the
same status, headers and body it would have read from the socket. botocore still
serialises every request and parses every answer; moto still routes, parses and
serialises; the emulator's hooks run as before. Requests to any other URL, and requests a
fault (``local/faults.py``) or moto's own in-process mock answers first, are not touched
(registered last on ``before-send``, botocore's documented place to answer a request
without sending it).

The default stays the loopback wire (tests, demo, ``local up``); ``bench --fleet`` opts in.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import botocore.handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders
from werkzeug.test import EnvironBuilder, run_wsgi_app

_apps: dict[str, Any] = {}  # server URL → its WSGI application


class _Body(BytesIO):
    """What botocore reads an answer's body from (``raw.stream()``)."""

    def stream(self, **_: Any) -> Any:
        while chunk := self.read(65536):
            yield chunk


def _dispatch(request: Any, **_: Any) -> AWSResponse | None:
    url = str(request.url)
    base = next((b for b in _apps if url.startswith(b)), None)
    if base is None:
        return None
    parts = urlsplit(url)
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    environ = EnvironBuilder(
        method=request.method,
        base_url=base,
        path=parts.path or "/",
        query_string=parts.query,
        headers=[(k, _text(v)) for k, v in request.headers.items()],
        data=body or b"",
    ).get_environ()
    chunks, status, headers = run_wsgi_app(_apps[base], environ, buffered=True)
    payload = b"".join(chunks)
    answered = HTTPHeaders()
    for name, value in headers.items():
        answered[name] = value
    return AWSResponse(url, int(status.split(" ", 1)[0]), answered, _Body(payload))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


_HOOK = ("before-send", _dispatch, botocore.handlers.REGISTER_LAST)


def install(url: str, app: Any) -> None:
    """Answer requests to ``url`` from ``app`` in-process (sessions made from now on)."""
    _apps[url] = app
    if _HOOK not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(_HOOK)


def uninstall(url: str) -> None:
    _apps.pop(url, None)
