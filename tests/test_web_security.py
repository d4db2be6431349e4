"""The review UI is safe to share: CSRF, safe redirects and links, headers, login, error pages.

Flask's test client drives the real app over a real SQLite file; the last test starts the real
``govwatch serve`` command.
"""

from __future__ import annotations

import re

import pytest

from govwatch.web import create_app
from govwatch.web.security import safe_next
from pipelines.text.normalize import normalizer
from storage import VersionStore
from tests.conftest import govwatch

EVIL_URL = "javascript:alert(1)"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "g.db"
    with VersionStore(path) as store:
        for text in ("第一句。第二句。", "第一句。第二句改了。"):
            store.record(EVIL_URL, source="s", text=text, norm_text=normalizer()(text), title="t")
    return path


def token(client, path="/change/2"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_review_needs_the_csrf_token_and_our_origin(db):
    client = create_app(str(db)).test_client()
    assert client.post("/change/2/review").status_code == 403
    good = token(client)
    evil = {"Origin": "http://evil.example"}
    refused = client.post("/change/2/review", data={"csrf_token": good}, headers=evil)
    assert refused.status_code == 403
    assert "cross-site" in refused.get_data(as_text=True)
    with VersionStore(db) as store:
        assert store.change(2)["reviewed_at"] is None
    ok = client.post(
        "/change/2/review", data={"csrf_token": good}, headers={"Origin": "http://localhost"}
    )
    assert ok.status_code == 302
    with VersionStore(db) as store:
        assert store.change(2)["reviewed_at"]


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        ("http://evil.example/x", "/change/2"),
        ("//evil.example/x", "/change/2"),
        ("/\\evil.example", "/change/2"),
        ("javascript:alert(1)", "/change/2"),
        ("/?kind=changed", "/?kind=changed"),
    ],
)
def test_next_goes_only_to_our_own_paths(db, target, lands):
    client = create_app(str(db)).test_client()
    data = {"csrf_token": token(client), "next": target}
    answer = client.post("/change/2/review", data=data)
    assert answer.headers["Location"] == lands
    assert safe_next(target, "/change/2") == lands


def test_headers_live_links_and_error_pages(db):
    client = create_app(str(db)).test_client()
    page = client.get("/change/2")
    html = page.get_data(as_text=True)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert 'href="javascript:' not in html
    assert "javascript:alert(1)" in html  # shown, as text
    missing = client.get("/change/999")
    assert missing.status_code == 404
    assert "页面不存在" in missing.get_data(as_text=True)
    assert missing.headers["X-Frame-Options"] == "DENY"


def test_login_when_a_password_is_set(db):
    client = create_app(str(db), password="苏州-secret").test_client()
    first = client.get("/change/2")
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/login?next=/change/2")
    assert client.get("/feed.atom").status_code == 401
    csrf = token(client, "/login")
    wrong = client.post("/login", data={"csrf_token": csrf, "password": "x", "next": "/"})
    assert "Wrong password" in wrong.get_data(as_text=True)
    good = client.post(
        "/login", data={"csrf_token": csrf, "password": "苏州-secret", "next": "/change/2"}
    )
    assert good.headers["Location"] == "/change/2"
    cookie = good.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert client.get("/change/2").status_code == 200
    other = create_app(str(db), password="苏州-secret").test_client()
    feed = other.get("/feed.atom", auth=("reader", "苏州-secret"))
    assert feed.status_code == 200


def test_serving_beyond_loopback_without_a_password_is_refused(db, tmp_path):
    out = govwatch("serve", "--host", "0.0.0.0", "--port", "8799", db=db)
    assert out.returncode == 1
    assert "needs a login" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    bad_port = govwatch("serve", "--port", "70000", db=db)
    assert bad_port.returncode == 2
    assert "70000" in bad_port.stderr
