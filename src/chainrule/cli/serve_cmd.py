"""``chainrule serve``: the local web app (Starlette, served by uvicorn; ``pip install "chainrule[serve]"``).

It binds 127.0.0.1 unless told otherwise; any other host serves a network, so
every request must then carry a token (one is made up and printed in the URL
unless ``--token`` gives one), as Jupyter does. The URL is the first line of
output; Ctrl-C stops the server cleanly.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
import threading
import webbrowser

from .common import CommandError

__all__ = ["register", "run_serve"]


def register(subparsers) -> None:
    serve = subparsers.add_parser(
        "serve", help="a local web app: explore derivations, watch a network learn, answer exercises",
        description="Run the chainrule web app. It listens on 127.0.0.1 (this machine only) unless --host says "
                    "otherwise; on any other host every page load and API call needs the token printed in the URL.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000; 0 picks a free one)")
    serve.add_argument("--no-browser", action="store_true", help="do not open the app in a web browser")
    serve.add_argument("--token", help="the token requests must carry (default: made up, when --host is not "
                                       "loopback)")
    serve.set_defaults(run=run_serve)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return int(text)


def _listening_socket(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise CommandError(f"--host {host}: cannot listen there ({error.strerror or error})") from None
    family, kind, protocol, _, address = infos[0]
    sock = socket.socket(family, kind, protocol)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        why = "the port is in use; try another --port" if error.errno in (98, 48, 10048) else error.strerror
        raise CommandError(f"cannot listen on {host}:{port}: {why}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int, token: str | None) -> str:
    shown = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def token_for(host: str, given: str | None, is_loopback) -> str | None:
    """The token requests must carry: the one given, or a new one when the host serves a network."""
    if given is not None:
        if not given.strip() or any(c.isspace() or c in "&#;=" for c in given):
            raise CommandError("--token: expected a non-empty token without spaces, '&', '#', ';' or '='")
        return given
    return None if is_loopback(host) else secrets.token_urlsafe(24)


def run_serve(args) -> int:
    try:
        import uvicorn

        from ..serve import create_app
        from ..serve.guard import is_loopback
    except ImportError as error:
        raise CommandError(f"chainrule serve needs the serve extra ({error.name} is missing): "
                           "pip install \"chainrule[serve]\"") from None
    token = token_for(args.host, args.token, is_loopback)
    sock = _listening_socket(args.host, args.port)
    url = url_for(args.host, sock.getsockname()[1], token)
    print(url, flush=True)
    if token and args.token is None:
        print("  (anyone with this link can use the app: it carries the token)", file=sys.stderr, flush=True)
    print("  Ctrl-C stops the server.", file=sys.stderr, flush=True)
    config = uvicorn.Config(create_app(host=args.host, token=token), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=3, lifespan="on",
                            timeout_keep_alive=30)  # a page idles between edits; keep its connection
    server = uvicorn.Server(config)
    if not args.no_browser:
        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down first, then passes Ctrl-C on: stopping is what was asked
        pass
    finally:
        sock.close()
    print("chainrule serve: stopped", file=sys.stderr)
    return 0
