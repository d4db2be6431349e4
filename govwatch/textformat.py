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


def format_blocks(blocks: list[dict[str, Any]]) -> str:
    """Diff blocks (storage.context) as text: the section, context sentences dimmed, changed
    sentences marked, unchanged runs collapsed to a count, changed figures called out."""
    lines: list[str] = []
    for block in blocks:
        if block["skipped"]:
            lines.append(click.style(f"  … {block['skipped']} unchanged sentence(s)", dim=True))
        if block["heading"]:
            lines.append(click.style(f"§ {block['heading']}", bold=True))
        for figure in block["numbers"]:
            lines.append(click.style(f"  ▶ {figure}", fg="yellow", bold=True))
        lines += [click.style(f"  {s}", dim=True) for s in block["before"]]
        for op in block["ops"]:
            lines += [click.style(f"  {s}", dim=True) for s in op["between"]]
            pairs = list(zip(op["old"], op["new"], strict=False)) if op["op"] == "replace" else []
            for old, new in pairs:
                lines.append(click.style("- ", fg="red") + _marked(old, new, "-"))
                lines.append(click.style("+ ", fg="green") + _marked(old, new, "+"))
                lines.append(click.style("~ " + render_inline(old, new), dim=True))
            lines += [click.style(f"- {old}", fg="red") for old in op["old"][len(pairs) :]]
            lines += [click.style(f"+ {new}", fg="green") for new in op["new"][len(pairs) :]]
        lines += [click.style(f"  {s}", dim=True) for s in block["after"]]
        lines.append("")
    if blocks and blocks[-1].get("skipped_after"):
        lines.append(
            click.style(f"  … {blocks[-1]['skipped_after']} unchanged sentence(s)", dim=True)
        )
    return "\n".join(lines).rstrip()
