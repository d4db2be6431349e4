"""What keeps the review UI safe to share: CSRF protection, safe redirects and links, security
headers, a login, and our own error pages.

- Every POST carries the session's CSRF token, and its Origin (or Referer) must be this host.
- ``next`` redirects go only to our own relative paths.
- Content-Security-Policy (scripts only as files of the UI itself, none inline; inline styles
  only), frame-ancestors 'none',
  X-Frame-Options, X-Content-Type-Options and Referrer-Policy on every answer.
- Only http(s) URLs are rendered as live links (the ``live`` test in templates).
- A login (a password from GOVWATCH_PASSWORD or a file, kept only as a hash; a signed session
  cookie that is HttpOnly and SameSite=Strict) is required whenever the UI listens on anything
  but loopback, and available on loopback. The Atom feed also takes HTTP Basic auth with that
  password, for feed readers.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flask import Flask, abort, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
OPEN_PATHS = ("login", "static")


class LoginRequired(ValueError):
    """The UI would listen beyond loopback without a password."""


def read_password(password_file: str | None = None) -> str | None:
    """The UI password: the file's first line, else GOVWATCH_PASSWORD; None when neither."""
    if password_file:
        try:
            with Path(password_file).open(encoding="utf-8") as fh:
                value = fh.readline().strip()
        except OSError as exc:
            raise ValueError(f"{password_file}: cannot read the password file: {exc}") from None
        if not value:
            raise ValueError(f"{password_file}: the password file is empty")
        return value
    return os.environ.get("GOVWATCH_PASSWORD") or None


def check_exposure(host: str, password: str | None) -> None:
    if host not in LOOPBACK and not password:
        raise LoginRequired(
            f"serving on {host} needs a login: set GOVWATCH_PASSWORD or --password-file "
            "(anyone who reaches this address could read and review the change log)"
        )


def safe_next(target: str | None, fallback: str) -> str:
    """``target`` if it is a path of ours (``/...``, not ``//host`` or a scheme), else fallback."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or any(c in target for c in "\r\n\\"):
        return fallback
    return target


def is_live(url: Any) -> bool:
    return isinstance(url, str) and urlparse(url.strip()).scheme in ("http", "https")


def install(app: Flask, password: str | None) -> None:
    """Wire CSRF, headers, login and error pages into ``app``."""
    app.secret_key = os.environ.get("GOVWATCH_SECRET_KEY") or secrets.token_hex(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")
    password_hash = generate_password_hash(password) if password else None
    app.config["LOGIN_ENABLED"] = password_hash is not None
    app.jinja_env.tests["live"] = is_live
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def guard() -> Any:
        if password_hash and not session.get("user") and request.endpoint not in OPEN_PATHS:
            if request.endpoint == "feed" and _basic_ok(password_hash):
                return None
            if request.endpoint == "feed":
                return app.response_class(
                    "login required", 401, {"WWW-Authenticate": 'Basic realm="govwatch"'}
                )
            return redirect(url_for("login", next=request.full_path.rstrip("?")))
        if request.method == "POST":
            _check_csrf()
        return None

    @app.after_request
    def headers(response: Any) -> Any:
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if not password_hash:
            return redirect(url_for("changes"))
        error = None
        if request.method == "POST":
            if check_password_hash(password_hash, request.form.get("password", "")):
                session.clear()
                session["user"] = "reviewer"
                return redirect(safe_next(request.form.get("next"), url_for("changes")))
            error = "密码不对 Wrong password"
        return render_template("login.html", error=error, next=request.args.get("next", ""))

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("login"))

    for code, text in ((400, "请求有误 Bad request"), (403, "不允许 Forbidden"),
                       (404, "页面不存在 Not found"), (500, "出错了 Server error")):  # fmt: skip
        app.register_error_handler(code, _error_page(code, text))


def _error_page(code: int, text: str) -> Any:
    def handler(exc: Exception) -> tuple[str, int]:
        detail = getattr(exc, "description", None) if code != 500 else None
        return render_template("error.html", code=code, text=text, detail=detail), code

    return handler


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(403, "missing or wrong CSRF token: reload the page and try again")
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin and urlparse(origin).netloc != request.host:
        abort(403, "cross-site request refused")


def _basic_ok(password_hash: str) -> bool:
    auth = request.authorization
    return bool(auth and auth.password and check_password_hash(password_hash, auth.password))
