"""Atlassian Document Format (Jira Cloud v3 rich text) to and from plain text.

``to_adf(text)`` and ``to_text(doc)`` are exact inverses for plain text: blank lines
separate paragraphs, single newlines become hard breaks, so whatever a spreadsheet cell
held comes back unchanged. Rich documents written in Jira (headings, lists, code, mentions,
links, emoji, tables) become readable text: list items get "- " or "1. ", a mention its
"@name", a link card its URL. Marks (bold, links on text) are kept as their text only.
"""

from __future__ import annotations

from typing import Any

BLOCK_SEPARATOR = "\n\n"


def to_adf(text: str | None) -> dict[str, Any] | None:
    """A plain string as an ADF document (None stays None)."""
    if text is None:
        return None
    content = []
    for block in text.split(BLOCK_SEPARATOR):
        inline: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                inline.append({"type": "hardBreak"})
            if line:  # ADF forbids empty text nodes
                inline.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


def to_text(doc: Any) -> str | None:
    """The text of an ADF document; a plain string (Jira v2 style) passes through."""
    if doc is None or isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return str(doc)
    return BLOCK_SEPARATOR.join(_block(node) for node in doc.get("content") or [])


def _block(node: dict[str, Any], depth: int = 0) -> str:
    kind = node.get("type")
    children = node.get("content") or []
    if kind in ("bulletList", "orderedList"):
        start = (node.get("attrs") or {}).get("order", 1)
        lines = []
        for n, item in enumerate(children, start):
            bullet = f"{n}. " if kind == "orderedList" else "- "
            body = "\n".join(_block(c, depth + 1) for c in item.get("content") or [])
            lines.append("  " * depth + bullet + body)
        return "\n".join(lines)
    if kind == "codeBlock":
        return "".join(_inline(c) for c in children)
    if kind in ("table",):
        return "\n".join(" | ".join(_block(cell) for cell in row.get("content") or []) for row in children)
    if kind in ("tableCell", "tableHeader", "blockquote", "panel", "expand", "nestedExpand", "layoutSection",
                "layoutColumn", "listItem", "mediaSingle", "mediaGroup"):
        return "\n".join(filter(None, (_block(c, depth) for c in children)))
    if kind == "rule":
        return "---"
    return "".join(_inline(c) for c in children)  # paragraph, heading and anything unknown


def _inline(node: dict[str, Any]) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return node.get("text", "")
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        text = attrs.get("text") or attrs.get("id", "")
        return text if text.startswith("@") else f"@{text}"
    if kind == "emoji":
        return attrs.get("text") or attrs.get("shortName", "")
    if kind in ("inlineCard", "blockCard"):
        return attrs.get("url", "")
    if kind == "date":
        return str(attrs.get("timestamp", ""))
    if kind == "status":
        return attrs.get("text", "")
    return "".join(_inline(c) for c in node.get("content") or [])
