"""Sentence diffs for Chinese text.

Chinese has no spaces between words, so a word diff on whitespace tokens sees a whole paragraph
as one token. We split at sentence ends (。！？；, their ASCII forms and line breaks), match
sentences with difflib, and mark changed characters inside a modified sentence. Sentences are
compared through an optional ``key`` (a normaliser), so two sentences that differ only in what
the key removes (a visit counter, full-width digits) count as equal, while the published form
is what a person reads.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# a sentence: up to and with its end mark, or to the end of its line (a third of the time of
# splitting at a look-behind for the marks)
_SENTENCE = re.compile(r"[^\n。！？；!?;]*[。！？；!?;]|[^\n。！？；!?;]+")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, stripped, without empty ones: each ends after 。！？；!?; or at
    a line break."""
    return [s for s in map(str.strip, _SENTENCE.findall(text)) if s]


@dataclass
class Diff:
    """What changed between two texts, sentence by sentence."""

    ops: list[dict] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    modified: int = 0

    @property
    def empty(self) -> bool:
        return not self.ops

    def summary(self, limit: int = 60) -> str:
        parts = []
        for count, word in (
            (self.modified, "modified"),
            (self.added, "added"),
            (self.removed, "removed"),
        ):
            if count:
                parts.append(f"{count} {word}")
        head = ", ".join(parts) or "no sentence changed"
        first = self.ops[0] if self.ops else None
        if not first:
            return head
        sample = (first["new"] or first["old"])[0]
        if len(sample) > limit:
            sample = sample[: limit - 1] + "…"
        return f"{head}: {sample}"


def sentence_diff(old: str, new: str, key: Callable[[str], str] | None = None) -> Diff:
    """Diff ``old`` against ``new`` at sentence level."""
    key = key or (lambda s: s)
    old_s = [s for s in split_sentences(old) if key(s)]
    new_s = [s for s in split_sentences(new) if key(s)]
    matcher = difflib.SequenceMatcher(
        a=[key(s) for s in old_s], b=[key(s) for s in new_s], autojunk=False
    )
    diff = Diff()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before, after = old_s[i1:i2], new_s[j1:j2]
        if tag == "replace":
            paired = min(len(before), len(after))
            diff.modified += paired
            diff.removed += len(before) - paired
            diff.added += len(after) - paired
        elif tag == "delete":
            diff.removed += len(before)
        else:
            diff.added += len(after)
        diff.ops.append({"op": tag, "at": i1, "to": j1, "old": before, "new": after})
    return diff


def mark_changes(old: str, new: str) -> list[tuple[str, str]]:
    """Character-level segments of a modified sentence: ("=", s), ("-", s) or ("+", s)."""
    segments: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(("=", old[i1:i2]))
            continue
        if i2 > i1:
            segments.append(("-", old[i1:i2]))
        if j2 > j1:
            segments.append(("+", new[j1:j2]))
    return segments


def render_inline(old: str, new: str) -> str:
    """One line with ``[-removed-]{+added+}`` marks, as in ``git diff --word-diff``."""
    out = []
    for tag, text in mark_changes(old, new):
        out.append(text if tag == "=" else f"[-{text}-]" if tag == "-" else f"{{+{text}+}}")
    return "".join(out)
