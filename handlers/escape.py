"""One escaper per markup: Markdown (GitHub, hexo), Discord's Markdown, YAML scalars.

Each takes plain text and returns it on one line so that it renders literally.
"""

from __future__ import annotations

import json
import re

_BACKSLASH = r"\\(?=[!-/:-@\[-`{-~])"  # a backslash that would escape the next character
_MD_INLINE = re.compile(
    _BACKSLASH + r"|[*_`\[\]~]"  # emphasis, code spans, links, strikethrough
    r"|<(?=[A-Za-z/!?])"  # start of an HTML tag or autolink
    r"|&(?=#?\w+;)"  # start of an entity
    r"|#(?=#*$)"  # closing sequence of an ATX heading
    r"|\{(?=[{%#])"  # hexo (Nunjucks) tag or variable
)
_DISCORD_INLINE = re.compile(
    _BACKSLASH
    + r"|[*_`\[\]~|]"  # emphasis, code, masked links, strikethrough, spoilers
    + r"|<(?=[A-Za-z/!?@#:])"  # links, mentions, channels, custom emoji, timestamps
)
_MD_BLOCK_START = re.compile(r"\d+(?=[.)])|(?=[#>+\-])")
_YAML_PLAIN = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#\n\r\t]*(?<=\S)")
_YAML_DATE = re.compile(r"\d{4}-\d\d?-\d\d?\b.*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"})


def escape_markdown(text: str) -> str:
    """`text` as one line of CommonMark/GFM (GitHub, hexo) that renders literally.

    Whitespace runs collapse to one space. Emphasis, code, link and
    strikethrough characters are backslash-escaped; `<` and `&` only where they
    would start a tag or an entity, `#`, `>`, `-`, `+` and `1.` only where they
    would start a block, so ordinary text stays readable. LaTeX such as
    `$\\alpha_1$` still reaches MathJax unchanged after rendering.
    """
    return _escape(_MD_INLINE, text)


def escape_discord(text: str) -> str:
    """`text` as one line of Discord's Markdown that shows literally: as `escape_markdown`,
    and spoiler bars and the `<` of mentions, channels and custom emoji too; HTML is not
    special."""
    return _escape(_DISCORD_INLINE, text)


def _escape(inline: re.Pattern[str], text: str) -> str:
    escaped = inline.sub(_escape_match, " ".join(text.split()))
    match = _MD_BLOCK_START.match(escaped)
    if match is None:
        return escaped
    return f"{escaped[: match.end()]}\\{escaped[match.end() :]}"


def _escape_match(match: re.Match[str]) -> str:
    char = match.group()
    return "&#123;" if char == "{" else "\\" + char


def yaml_scalar(value: str) -> str:
    """`value` as a YAML scalar: plain when that is unambiguous, else double-quoted."""
    text = " ".join(value.split())
    if (
        _YAML_PLAIN.fullmatch(text)
        and text.lower() not in _YAML_WORDS
        and not _YAML_DATE.match(text)
        and not _is_number(text)
    ):
        return text
    return json.dumps(text, ensure_ascii=False)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.lower().startswith(("0x", "0o", "0b", ".inf", ".nan", "+.inf", "-.inf"))
    return True
