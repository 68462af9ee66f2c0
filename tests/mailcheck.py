"""What a mail's HTML does on a phone and to the eye, read from its inline styles as a client that drops <style> would.

`fixed_widths` names every width wider than a phone; `low_contrast` every piece of visible text
whose colour and background (from its own and its ancestors' inline styles and bgcolor) fall
under WCAG's 4.5:1. Both read only what survives without the <style> element.
"""

from __future__ import annotations

import re

import lxml.html

PHONE = 375  # px: an iPhone's viewport
MIN_CONTRAST = 4.5  # WCAG 2 AA, body text

_DECLARATION = re.compile(r"([a-zA-Z-]+)\s*:\s*([^;]+)")
_PX = re.compile(r"^(\d+(?:\.\d+)?)(?:px)?$")


def styles(el) -> dict[str, str]:
    return {k.lower(): v.strip().lower() for k, v in _DECLARATION.findall(el.get("style") or "")}


def _elements(html: str):
    return lxml.html.document_fromstring(html.encode("utf-8")).iter(tag=lxml.etree.Element)


def fixed_widths(html: str, limit: int = PHONE) -> list[str]:
    """Elements whose width or min-width (inline style or attribute) is a fixed length over `limit` px."""
    found = []
    for el in _elements(html):
        declared = styles(el)
        for prop in ("width", "min-width"):
            value = _PX.match(declared.get(prop, "").replace("!important", "").strip())
            if value and float(value.group(1)) > limit and declared[prop] not in ("0",):
                found.append(f"<{el.tag}> {prop}:{declared[prop]}")
        attr = _PX.match((el.get("width") or "").strip())
        if attr and float(attr.group(1)) > limit:
            found.append(f'<{el.tag} width="{el.get("width")}">')
    return found


def _rgb(value: str) -> tuple[int, int, int] | None:
    value = value.replace("!important", "").strip()
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return tuple(int(c * 2, 16) for c in value[1:])  # type: ignore[return-value]
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    return {"white": (255, 255, 255), "black": (0, 0, 0)}.get(value)


def contrast(fg: tuple[int, int, int], bg: tuple[int, int, int]) -> float:
    def luminance(rgb):
        channels = [c / 255 for c in rgb]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _inherited(el, read):
    while el is not None:
        value = read(el)
        if value is not None:
            return value
        el = el.getparent()
    return None


def _text_colour(el):
    declared = styles(el)
    if "color" in declared:
        return _rgb(declared["color"])
    return (0, 0, 238) if el.tag == "a" else None  # a link's own colour beats its parent's


def _background(el):
    declared = styles(el)
    value = declared.get("background-color") or declared.get("background") or el.get("bgcolor") or ""
    return _rgb(value.lower()) if value else None


def _hidden(el) -> bool:
    return _inherited(el, lambda e: True if styles(e).get("display") == "none" else None) is not None


def low_contrast(html: str) -> list[str]:
    """Visible texts under 4.5:1, as 'text: ratio (colour on background)'. Links default to #0000ee, text to black."""
    found = []
    for el in _elements(html):
        if el.tag in ("style", "title", "head", "script") or _hidden(el):
            continue
        # An element's own text takes its colour; its tail takes its parent's.
        for text, owner in ((el.text, el), (el.tail, el.getparent())):
            if not (text and text.strip()) or owner is None or owner.tag in ("html", "head", "style", "title"):
                continue
            fg = _inherited(owner, _text_colour) or (0, 0, 0)
            bg = _inherited(owner, _background) or (255, 255, 255)
            ratio = contrast(fg, bg)
            if ratio < MIN_CONTRAST:
                found.append(f"{text.strip()[:20]!r}: {ratio:.2f} ({fg} on {bg})")
    return found
