"""govwatch's SQLite storage: the only package that writes SQL. Imports nothing of ours.

Its names load their modules when first asked for: a process that only prepares texts for
the store (a crawl's extraction process: storage.prepared) does not load sqlite-utils, its
plugins and the schema.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {  # each name, and the module that defines it
    "StoreError": "base", "now_iso": "base", "text_hash": "packing",
    "Diff": "diff", "mark_changes": "diff", "render_inline": "diff", "sentence_diff": "diff",
    "split_sentences": "diff", "Prepared": "prepared", "prepare": "prepared",
    "UnknownChange": "queries", "UnknownDocument": "queries", "ensure_schema": "schema",
    "FACTS": "store", "Change": "store", "VersionStore": "store",
}  # fmt: skip

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # asked once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
