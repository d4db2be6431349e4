"""Diffs a person can read: each change in its place in the document.

``context_blocks(old, new, ops, context)`` groups a sentence diff into blocks: the section
heading the change falls under, ``context`` unchanged sentences before and after it, the
number of unchanged sentences skipped since the previous block (collapsed in a view), and the
figures that changed in a modified sentence, called out as ``地区生产总值 1930亿元 → 1931亿元``.
"""

from __future__ import annotations

import re
from typing import Any

from .diff import split_sentences

HEADING = re.compile(
    r"^\s*(第[一二三四五六七八九十百零〇\d]+[章节部分篇条]|[一二三四五六七八九十]+[、.．]|"
    r"[(（][一二三四五六七八九十]+[)）]|\d{1,2}[、.．](?!\d))"
)
HEADING_MAX = 40  # characters: a longer line is a paragraph that starts with a number
NUMBER = re.compile(
    r"(\d[\d,，]*(?:\.\d+)?)\s*(%|‰|[亿万千百]?[元美元亩平方米公里吨人户家个项件座所辆台套]*)"
)
LABEL = re.compile(r"([^\d\s，。,；;：:、（）()]{1,10})\s*$")


def headings(text: str) -> list[tuple[int, str]]:
    """(sentence index, heading) of each heading line of ``text``, in order."""
    found, index = [], 0
    for line in text.splitlines():
        sentences = split_sentences(line)
        stripped = line.strip()
        if stripped and len(stripped) <= HEADING_MAX and HEADING.match(stripped):
            found.append((index, stripped))
        index += len(sentences)
    return found


def number_changes(old: str, new: str) -> list[str]:
    """Figures that changed between two versions of a sentence, with the words before them:
    ``["地区生产总值 1930亿元 → 1931亿元"]``."""
    a, b = list(NUMBER.finditer(old)), list(NUMBER.finditer(new))
    if len(a) != len(b):
        return []
    out = []
    for x, y in zip(a, b, strict=True):
        if x.group(0).strip() == y.group(0).strip():
            continue
        label = LABEL.search(new[: y.start()])
        words = f"{label.group(1)} " if label else ""
        out.append(f"{words}{x.group(0).strip()} → {y.group(0).strip()}")
    return out


def context_blocks(
    old: str, new: str, ops: list[dict[str, Any]], context: int = 2
) -> list[dict[str, Any]]:
    """The diff's ``ops`` (from ``sentence_diff``, with ``at`` and ``to``) as blocks in the new
    text: heading, ``context`` sentences before and after, the unchanged sentences skipped
    between blocks (``skipped``, ``skipped_text``; a view collapses them), changed figures."""
    new_s = split_sentences(new)
    marks = headings(new)
    blocks: list[dict[str, Any]] = []
    prev_end = 0  # where the previous change ended in the new text
    for op in ops:
        start = op.get("to", 0)
        end = start + len(op["new"])
        if blocks and start - prev_end <= 2 * context:
            block = blocks[-1]  # close to the previous change: one block
            block["ops"].append({**_op(op), "between": new_s[prev_end:start]})
        else:
            shown_to = min(len(new_s), prev_end + context) if blocks else 0
            before_from = max(shown_to, start - context)
            heading = next((h for i, h in reversed(marks) if i <= start), None)
            blocks.append({
                "heading": heading, "skipped": before_from - shown_to,
                "skipped_text": new_s[shown_to:before_from],
                "before": new_s[before_from:start], "ops": [_op(op)],
            })  # fmt: skip
        blocks[-1]["after"] = new_s[end : end + context]
        blocks[-1]["numbers"] = [
            n for o in blocks[-1]["ops"] for a, b in zip(o["old"], o["new"], strict=False)
            for n in number_changes(a, b)
        ]  # fmt: skip
        prev_end = end
    if blocks:
        tail = new_s[min(len(new_s), prev_end + context) :]
        blocks[-1]["skipped_after"], blocks[-1]["skipped_after_text"] = len(tail), tail
    return blocks


def _op(op: dict[str, Any]) -> dict[str, Any]:
    return {"op": op["op"], "old": op["old"], "new": op["new"], "between": []}
