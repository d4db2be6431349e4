"""Recognising an anti-bot gateway's answer, so that it is reported, never parsed or cracked.

Government sites behind 瑞数 (Rivers Security) answer HTTP 412 with a script that computes a
cookie; 加速乐 (Jiasule/Knownsec) answers 521 with ``document.cookie=...`` and a reload; other
WAFs answer 403, or 200 with a tiny page whose only content is such a script. Circumventing
these can be unlawful: govwatch records an error of kind ``blocked`` and backs off.
"""

from __future__ import annotations

import re

BLOCKED_STATUSES = {403, 412, 521}
# Markers seen in challenge pages: cookie names and script variables of the common gateways.
MARKERS = re.compile(
    rb"__jsl_clearance|__jsluid|\$_ts\s*=|FSSBBIl1UgzbN7N|acw_sc__v2|_yunsuo_|"
    rb"cdn_sec_tc|waf_sc|TSPD_101",
    re.I,
)
# what each marker must contain, lower-cased: found with one lower() and substring tests, the
# regular expressions only run on a page that has one (most pages are 20-60 KiB of text)
LITERALS = (b"__jsl_clearance", b"__jsluid", b"$_ts", b"fssbbil1ugzbn7n", b"acw_sc__v2",
            b"_yunsuo_", b"cdn_sec_tc", b"waf_sc", b"tspd_101")  # fmt: skip
COOKIE_SCRIPT = re.compile(rb"document\.cookie\s*=", re.I)
RELOAD = re.compile(rb"location(\.href|\.replace|\.reload|\s*=)|setTimeout\s*\(", re.I)
SCRIPT = re.compile(rb"<script\b.*?</script\s*>", re.I | re.S)
TAGS = re.compile(rb"<[^>]+>")
MAX_CHALLENGE_BYTES = 64 * 1024


def challenge_reason(status: int, body: bytes) -> str | None:
    """Why this answer is a gateway's block or challenge, or None when it is not one."""
    if status in BLOCKED_STATUSES:
        what = "a JavaScript cookie challenge" if _looks_like_challenge(body) else "access denied"
        return f"HTTP {status}: {what} (anti-bot gateway)"
    if status == 200 and len(body) <= MAX_CHALLENGE_BYTES and _looks_like_challenge(body):
        return "a JavaScript cookie challenge instead of the page (anti-bot gateway)"
    return None


def _looks_like_challenge(body: bytes) -> bool:
    if not body:
        return False
    lowered = body.lower()
    if any(x in lowered for x in LITERALS) and MARKERS.search(body):
        return True
    if b"document.cookie" not in lowered:
        return False
    if not (COOKIE_SCRIPT.search(body) and RELOAD.search(body)):
        return False
    visible = TAGS.sub(b"", SCRIPT.sub(b"", body)).strip()
    return len(visible) < 200  # a real page has text besides its scripts
