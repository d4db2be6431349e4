"""govwatch's SQLite storage: the only package that writes SQL. Imports nothing of ours."""

from .diff import Diff, mark_changes, render_inline, sentence_diff, split_sentences
from .schema import ensure_schema
from .store import (
    Change,
    StoreError,
    UnknownChange,
    UnknownDocument,
    VersionStore,
    now_iso,
    text_hash,
)

__all__ = [
    "Change",
    "Diff",
    "StoreError",
    "UnknownChange",
    "UnknownDocument",
    "VersionStore",
    "ensure_schema",
    "mark_changes",
    "now_iso",
    "render_inline",
    "sentence_diff",
    "split_sentences",
    "text_hash",
]
