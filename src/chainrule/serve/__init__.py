"""``chainrule serve``: a local web app to explore derivations, train toy networks and answer exercises.

``create_app()`` is the ASGI application (Starlette, served by uvicorn); the
page's script calls the same HTTP API that docs/serve.md documents, and every
number it shows comes from the library's explain, fit and check code.
"""

from .app import create_app

__all__ = ["create_app"]
