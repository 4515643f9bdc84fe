"""Free-text checks: HTML markup, media URLs, language tags."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls

from civicflow.streams.validation import text as validation_text


@pytest.mark.parametrize("text", ["a < b", "1<2", "x <= y", "<3 this park", "a < b > c", "ends with <", "a <\nb",
                                  "if a <= b >= c", "Tom & Jerry &amp; co", ""])
def test_plain_text_with_angle_brackets_is_not_html(text):
    assert not validation_text.has_html(text)


@pytest.mark.parametrize("text", ["<b>", "a<br/>b", "</p>", "<!-- note -->", "<!DOCTYPE html>", "<?php echo 1 ?>",
                                  '<a href="http://x">click</a>', "see <img src=x onerror=alert(1)> here",
                                  "<SCRIPT>alert(1)</SCRIPT>"])
def test_tags_comments_and_declarations_are_html(text):
    assert validation_text.has_html(text)


NO_LT = st.text(alphabet=st.characters(blacklist_characters="<"))
# '<' followed by something that cannot open a tag, comment or declaration
LONE_LT = st.sampled_from(["< ", "<=", "<3", "<-", "<.", "<\t", "<\n", "<)"])


@given(st.lists(st.one_of(NO_LT, LONE_LT)).map("".join))
def test_text_whose_angle_brackets_open_nothing_is_plain(text):
    assert not validation_text.has_html(text)


TAG_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,9}", fullmatch=True)
TAG = st.one_of(TAG_NAME.map("<{}>".format), TAG_NAME.map("</{}>".format), TAG_NAME.map("<{}/>".format),
                TAG_NAME.map('<{} class="x">'.format))


@given(NO_LT, TAG, NO_LT)
def test_any_tag_is_html_wherever_it_stands(before, tag, after):
    assert validation_text.has_html(before + tag + after)


@pytest.mark.parametrize("url", ["http://example.org/a.jpg", "https://cdn.example.org/x.png?size=2#top",
                                 "HTTPS://EXAMPLE.ORG", " https://example.org/a.png ", "http://127.0.0.1:8080/p",
                                 "http://[::1]/x"])
def test_http_urls_with_a_host_are_media_urls(url):
    assert validation_text.is_media_url(url)


@pytest.mark.parametrize("url", ["", "ftp://example.org/a.jpg", "javascript:alert(1)", "data:image/png;base64,AAAA",
                                 "file:///etc/passwd", "mailto:a@example.org", "http://", "https:///a.jpg",
                                 "http://:80/a", "//example.org/a.jpg", "example.org/a.jpg", "http://[::1/x"])
def test_other_urls_are_not_media_urls(url):
    assert not validation_text.is_media_url(url)


@given(urls())
def test_generated_http_urls_are_accepted(url):
    assert validation_text.is_media_url(url)


@given(st.sampled_from(["http", "https", "HTTP", "hTtPs", "ftp", "file", "ws", "wss", "gopher", "httpx"]),
       st.one_of(st.just(""), domains()), st.sampled_from(["", "/", "/a.jpg", "/p?q=1#f"]))
def test_only_http_or_https_with_a_host_is_accepted(scheme, host, path):
    expected = scheme.lower() in ("http", "https") and host != ""
    assert validation_text.is_media_url(f"{scheme}://{host}{path}") == expected


@pytest.mark.parametrize("tag", ["en", "EN", "haw", "en-US", "zh-Hant-TW", "es-419", "sl-rozaj-biske"])
def test_language_tags(tag):
    assert validation_text.is_language_tag(tag)


@pytest.mark.parametrize("tag", ["", "e", "english", "en_US", "en-", "-en", "en US", "en-toolongsubtag", "en\n"])
def test_not_language_tags(tag):
    assert not validation_text.is_language_tag(tag)
