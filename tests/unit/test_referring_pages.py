"""What a post's source keeps of the referring page and the `utm_*` values: exactly the page (scheme, host, port and
path), within its limits, and the values a list of fields or a padded field carries."""
from __future__ import annotations

import pytest

from chalicelib.intake.source import MAX_PAGE_CHARS, page_fields, referring_page, source_of


def test_the_page_keeps_its_port_and_path_and_loses_credentials_query_and_fragment() -> None:
    assert referring_page("http://ann:pw@Blog.Example:8080/a/b.html?x=1#top") == "http://blog.example:8080/a/b.html"
    assert referring_page("https://blog.example") == "https://blog.example"


def test_a_url_of_2000_characters_is_read_and_one_longer_is_not() -> None:
    base = "https://blog.example/"
    assert referring_page(base + "p" * (2000 - len(base))) == base + "p" * 199
    assert referring_page(base + "p" * (2001 - len(base))) is None


def test_the_path_is_cut_at_200_characters_and_the_page_at_300() -> None:
    assert referring_page("https://blog.example/" + "q" * 250) == "https://blog.example/" + "q" * 199
    host = "h" * 150 + ".example"
    page = referring_page(f"https://{host}/" + "p" * 400)
    assert page == (f"https://{host}/" + "p" * 199)[:300]
    assert page is not None and len(page) == MAX_PAGE_CHARS == 300


def test_spaces_and_control_characters_are_taken_out_of_the_path() -> None:
    assert referring_page("https://blog.example/a%20b/c\x7fd") == "https://blog.example/a%20b/cd"


def test_a_host_of_253_characters_is_kept_and_a_longer_one_is_not() -> None:
    longest = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(longest) == 253
    assert referring_page(f"https://{longest}/") == f"https://{longest}/"
    assert referring_page(f"https://{longest}c/") is None


@pytest.mark.parametrize("url", [None, "", "mailto:ann@example.com", "//blog.example/x", "https://_under.example/",
                                 "https:///no-host", "http://:8080/"])
def test_what_is_no_http_page_is_dropped(url: str | None) -> None:
    assert referring_page(url) is None


def test_a_utm_value_of_100_characters_is_kept_and_one_longer_is_not() -> None:
    assert source_of({"_utm_term": "t" * 100}, {}) == {"utm_term": "t" * 100}
    assert source_of({"_utm_term": "t" * 101}, {}) is None


def test_every_utm_field_is_kept_trimmed_from_the_last_of_repeated_fields() -> None:
    values = {"_utm_source": ["first", " newsletter "], "_utm_medium": " email", "_utm_campaign": "spring-26",
              "_utm_term": "dark mode", "_utm_content": "footer:link", "_utm_other": "x", "_source": []}
    assert source_of(values, {"referer": "https://blog.example/"}) == {
        "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring-26", "utm_term": "dark mode",
        "utm_content": "footer:link"}
    assert source_of({"_utm_source": []}, {}) is None
    assert source_of({"_utm_source": 7}, {}) is None


def test_the_hosted_page_s_source_is_the_last_one_sent_and_trimmed() -> None:
    values = {"_source": ["https://old.example/", " https://blog.example/post "]}
    assert source_of(values, {"referer": "https://forms.example/f/contact"}) == {"page": "https://blog.example/post"}


def test_the_form_page_keeps_every_plain_utm_of_its_own_address_trimmed() -> None:
    query = {"utm_source": " news ", "utm_medium": "email", "utm_campaign": "c", "utm_term": "t",
             "utm_content": "x" * 101}
    assert page_fields(None, query) == {"_source": "", "_utm_source": "news", "_utm_medium": "email",
                                        "_utm_campaign": "c", "_utm_term": "t"}
    assert page_fields("https://Blog.Example:8443/a?b", {}) == {"_source": "https://blog.example:8443/a"}
