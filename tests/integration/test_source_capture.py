"""Source capture over HTTP on DynamoDB Local: the hosted page passes the page that sent the visitor and its own
utm_* on as hidden fields; a plain site's Referer is kept; both stored with the submission and counted by source."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "idea", "message": "Dark mode", "consent": "on"}
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


def _stored(services: Any, posted: Any) -> Any:
    import json
    assert posted.status_code == 201, posted.body
    return services.store.get("contact", json.loads(posted.body)["id"])


def test_the_hosted_page_passes_its_referrer_and_utm_on(client: Any, services: Any) -> None:
    page = client.http.get("/f/contact?utm_source=newsletter&utm_campaign=may&utm_medium=%3Cb%3E",
                           headers={"Referer": "https://blog.example/post?secret=1", "Accept": "text/html"})
    hidden = dict(re.findall(r'<input type="hidden" name="(_source|_utm_\w+)" value="([^"]*)">', page.body.decode()))
    assert hidden == {"_source": "https://blog.example/post", "_utm_source": "newsletter", "_utm_campaign": "may"}
    posted = client.http.post("/f/contact", headers={**FORM, "Referer": "http://localhost/f/contact"},
                              body=urlencode({**CONTACT, **hidden}))
    stored = _stored(services, posted)
    assert stored.source == {"page": "https://blog.example/post", "utm_source": "newsletter", "utm_campaign": "may"}
    assert not any(name.startswith("_") for name in stored.answers)


def test_a_plain_site_s_referer_is_kept_and_counted_by_source(client: Any, services: Any) -> None:
    posted = client.http.post("/f/contact", headers={**FORM, "Referer": "https://shop.example/contact?order=9"},
                              body=urlencode(CONTACT))
    stored = _stored(services, posted)
    assert stored.source == {"page": "https://shop.example/contact"}
    services.results.consume(stored)
    assert services.results.summary("contact")["bySource"] == {"shop.example": 1}
    hostile = client.http.post("/f/contact", headers={**FORM, "Referer": "javascript:alert(1)"},
                               body=urlencode({**CONTACT, "_utm_source": "x\r\nBcc: a@evil.example"}))
    assert _stored(services, hostile).source is None  # dropped, and the feedback still taken
