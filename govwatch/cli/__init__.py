"""``govwatch``: the command line, one module per command group.

``base`` holds the group and what commands share; ``crawling``, ``review``, ``documents``,
``authoring`` and ``tools`` add
their commands to it when imported here. The CLI calls down into the crawl (``govwatch.runner``,
``scheduler``), the store and the text rules; nothing below imports it.
"""

from govwatch.cli import (  # noqa: F401  (registers commands)
    authoring,
    cluster,
    crawling,
    documents,
    review,
    tools,
)
from govwatch.cli.base import main

__all__ = ["main"]
