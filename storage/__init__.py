"""govwatch's SQLite storage: the only package that writes SQL. Imports nothing of ours."""

from .base import StoreError, now_iso, text_hash
from .diff import Diff, mark_changes, render_inline, sentence_diff, split_sentences
from .prepared import Prepared, prepare
from .queries import UnknownChange, UnknownDocument
from .schema import ensure_schema
from .store import FACTS, Change, VersionStore

__all__ = [
    "FACTS",
    "Change",
    "Diff",
    "Prepared",
    "StoreError",
    "UnknownChange",
    "UnknownDocument",
    "VersionStore",
    "ensure_schema",
    "mark_changes",
    "now_iso",
    "prepare",
    "render_inline",
    "sentence_diff",
    "split_sentences",
    "text_hash",
]
