"""MkDocs hook: the Sphinx cross-reference roles of the docstrings, shown as plain code.

The docstrings name objects the Sphinx way (``:meth:`Client.solve```,
``:class:`~equilibria.client.TlsConfig```), which mkdocstrings renders as the role's name
followed by a code span. This hook drops the role and, as Sphinx does, shows only the last
component of a ``~``-prefixed name.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:py:)?(?:meth|class|func|attr|data|mod|exc|obj|const):<code>(~?)([^<]*)</code>")


def strip_roles(html: str) -> str:
    """``html`` with ``:role:<code>name</code>`` as ``<code>name</code>``."""
    return _ROLE.sub(
        lambda m: f"<code>{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}</code>", html
    )


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: strip the roles of every page (the API reference has them)."""
    return strip_roles(html)
