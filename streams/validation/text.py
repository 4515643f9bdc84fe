"""Checks of free text and URLs: length, HTML markup, control characters, media URLs, language tags."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

MAX_DESCRIPTION = 4000
MAX_TEXT = 1000  # every other free-text field of a submission (address, names, ids, a text attribute's answer)
# Characters no text field may carry: C0 controls but tab, newline and carriage return (PostgreSQL refuses NUL,
# XML 1.0 refuses them all), DEL, and lone surrogates (not UTF-8).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


class _MarkupFinder(HTMLParser):
    """Records whether the parser met a tag, a comment or a declaration."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found = False

    def handle_starttag(self, tag, attrs):
        self.found = True

    def handle_endtag(self, tag):
        self.found = True

    def handle_comment(self, data):
        self.found = True

    def handle_decl(self, decl):
        self.found = True

    def handle_pi(self, data):
        self.found = True


def has_html(text: str) -> bool:
    """True when the text holds HTML tags, comments or declarations ('a < b' is plain text)."""
    if "<" not in text:
        return False
    finder = _MarkupFinder()
    finder.feed(text)
    finder.close()
    return finder.found


def has_control_characters(text: str) -> bool:
    """True when the text holds a character no text field may carry (NUL and the other C0 controls but tab,
    newline and carriage return; DEL; a lone surrogate)."""
    return _CONTROL.search(text) is not None


def is_media_url(url: str) -> bool:
    """An absolute http or https URL with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def is_language_tag(tag: str) -> bool:
    """The shape of a BCP 47 tag: a 2-3 letter language, then subtags."""
    return _LANGUAGE.fullmatch(tag) is not None
