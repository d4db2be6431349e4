"""A change as terminal text, shared by ``govwatch show`` and the demo."""

from __future__ import annotations

from typing import Any

import click

from storage import mark_changes, render_inline


def format_change(c: dict[str, Any]) -> str:
    """A change as text with ANSI colours (click strips them when not on a terminal)."""
    lines = [
        click.style(f"#{c['id']} {c['kind']}: {c['title'] or ''}", bold=True),
        f"url:      {c['url']}",
        f"source:   {c['source']}   detected: {c['detected_at']}   published: {c['published']}",
        f"summary:  {c['summary']}",
        f"counts:   {c['modified']} modified, {c['added']} added, {c['removed']} removed",
    ]
    for op in c["diff"]:
        lines.append("")
        pairs = list(zip(op["old"], op["new"], strict=False)) if op["op"] == "replace" else []
        for old, new in pairs:
            lines.append(click.style("- ", fg="red") + _marked(old, new, "-"))
            lines.append(click.style("+ ", fg="green") + _marked(old, new, "+"))
            lines.append(click.style("~ " + render_inline(old, new), dim=True))
        for old in op["old"][len(pairs) :]:
            lines.append(click.style(f"- {old}", fg="red"))
        for new in op["new"][len(pairs) :]:
            lines.append(click.style(f"+ {new}", fg="green"))
    return "\n".join(lines)


def _marked(old: str, new: str, side: str) -> str:
    colour = "red" if side == "-" else "green"
    out = []
    for tag, text in mark_changes(old, new):
        if tag == "=":
            out.append(text)
        elif tag == side:
            out.append(click.style(text, fg=colour, bold=True, underline=True))
    return "".join(out)
