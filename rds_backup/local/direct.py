"""The local AWS without the socket: requests to the moto server handed to its WSGI app
in-process, for the fleet benchmark.

Over loopback every handler call costs a TCP connection (the server closes it after each
answer), a server thread and HTTP parsing on both sides: about a third of a simulated
night's time, none of it what the benchmark measures. With :func:`install`, a request that
botocore is about to send to the running server's URL is given, as it stands (method, path,
query, headers, body), to the very application object the server runs (moto's
``DomainDispatcherApplication``), and botocore receives the same status, headers and body
it would have read from the socket. botocore still serialises every request and parses
every answer; moto still routes, parses and serialises; the emulator's hooks run as before.

Inside that application, :func:`_answer` picks the service's Flask app and the view its URL
map matches, as Flask does, and calls the view's moto handler the way moto's Flask view
does (``convert_to_flask_response``), without Flask's request context and dispatch around
it. The answer is made as Flask makes it: the view's response, or an HTTP exception's own.
A request no route matches, or a view that is not moto's, goes through the whole app.

Requests to any other URL, and requests a fault (``local/faults.py``) or moto's own
in-process mock answers first, are not touched (registered last on ``before-send``,
botocore's documented place to answer a request without sending it).

The default stays the loopback wire (tests, demo, ``local up``); ``bench --fleet`` opts in.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import botocore.handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError
from moto.core.utils import convert_to_flask_response
from moto.moto_api import recorder
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
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
    chunks, status, headers = _answer(_apps[base], environ)
    payload = b"".join(chunks)
    answered = HTTPHeaders()
    for name, value in headers.items():
        answered[name] = value
    return AWSResponse(url, int(status.split(" ", 1)[0]), answered, _Body(payload))


def _answer(app: Any, environ: dict[str, Any]) -> tuple[Any, str, Any]:
    """What ``app`` (moto's DomainDispatcherApplication) answers ``environ``: through the
    service's view directly where one matches, else through the whole WSGI app."""
    service_app = app.get_application(environ)
    try:
        endpoint, _ = service_app.url_map.bind_to_environ(environ).match()
    except HTTPException:  # no route, or a redirect: let Flask answer it
        return run_wsgi_app(app, environ, buffered=True)
    view = service_app.view_functions.get(endpoint)
    if not isinstance(view, convert_to_flask_response):
        return run_wsgi_app(app, environ, buffered=True)
    request = service_app.request_class(environ)
    # convert_to_flask_response.__call__, without Flask's request context around it
    response = None
    try:
        recorder._record_request(request)
        result = view.callback(request, request.raw_url, dict(request.headers))
    except ClientError as error:
        result = 400, {}, error.response["Error"]["Message"]
    except HTTPException as error:  # moto's errors: Flask answers them with their response
        response = error.get_response(environ)
    if response is None:
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        response = service_app.response_class(response=content, status=status, headers=headers)
        if request.method == "HEAD" and "content-length" in headers:
            response.headers["Content-Length"] = headers["content-length"]
    app_iter, status_line, answered = response.get_wsgi_response(environ)
    return list(app_iter), status_line, Headers(answered)


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
