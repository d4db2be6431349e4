"""Notification digests through Apprise to a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from govwatch.notify import Rule, build_digest, mask
from storage import VersionStore
from tests.conftest import scrapy_crawl, write_sources

SECRET = "s3cr3t-token-do-not-log"


class Receiver:
    """A webhook endpoint that fails the first ``failures`` requests with HTTP 500."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = len(receiver.requests) >= receiver.failures
                receiver.requests.append(
                    {
                        "ok": ok,
                        "body": json.loads(body or b"{}"),
                        "auth": self.headers.get("Authorization"),
                    }
                )
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://govwatch:{SECRET}@127.0.0.1:{self.server.server_port}/hook"

    @property
    def delivered(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["ok"]]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(failures=0):
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for r in made:
        r.stop()


def crawl(db, sources, name="sample_invest"):
    result = scrapy_crawl(
        name, db, sources, NOTIFY_RETRY_PAUSE="0.2", NOTIFY_BASE_URL="http://127.0.0.1:8700"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_digest_delivered_once_per_run_with_retry_on_500(site, tmp_path, db_path, receiver):
    hook = receiver(failures=1)
    entry = site.sources()[0]
    entry["notify"] = [
        {
            "urls": [hook.url],
            "kinds": ["new", "changed"],
            "keywords": ["政府工作报告", "签约"],
            "baseline": "notify",
        }  # the first crawl's backlog too, as a digest
    ]
    sources = write_sources(tmp_path / "s.yaml", [entry])
    first = crawl(db_path, sources)
    assert len(hook.requests) == 2  # a 500, then the retry went through
    (digest,) = hook.delivered
    assert digest["title"].startswith("govwatch:")
    message = digest["message"]
    assert "2018年太仓市人民政府工作报告" in message  # keyword 政府工作报告 (in the text)
    assert "昆山市陆家镇签约24个数字化项目" in message  # keyword 签约
    assert "香港苏州商会成立" not in message  # no keyword: not notified
    assert "http://127.0.0.1:8700/change/" in message
    assert "[太仓市]" in message
    assert SECRET not in first.stderr
    with VersionStore(db_path) as store:
        (row,) = list(store.db["notifications"].rows)
        assert (row["status"], row["target"]) == ("sent", "json://***")
        dump = "\n".join(str(r) for r in store.db["notifications"].rows)
        assert SECRET not in dump
    site.edit("/invest/news/1003.html", "2023年", "2024年")
    crawl(db_path, sources)
    assert len(hook.delivered) == 2
    assert "changed: 昆山市陆家镇签约24个数字化项目" in hook.delivered[1]["message"]
    crawl(db_path, sources)  # nothing new: no digest
    assert len(hook.delivered) == 2


def test_failed_notification_never_fails_the_crawl_and_is_retried(
    site, tmp_path, db_path, receiver
):
    hook = receiver(failures=100)
    entry = site.sources()[3]  # the mirror: one document
    entry["notify"] = {"urls": hook.url, "baseline": "notify"}
    sources = write_sources(tmp_path / "s.yaml", [entry])
    result = crawl(db_path, sources, entry["name"])
    assert "Notification 1 failed" in result.stderr
    assert SECRET not in result.stderr
    with VersionStore(db_path) as store:
        (run,) = store.runs()
        assert run["outcome"] == "ok"
        (row,) = list(store.db["notifications"].rows)
        assert row["status"] == "failed"
        assert row["attempts"] == 1
    hook.failures = 0  # the webhook is back: the next run delivers the missed digest
    crawl(db_path, sources, entry["name"])
    assert len(hook.delivered) == 1
    assert "常熟市人民政府工作報告 [常熟市]" in hook.delivered[0]["message"]
    with VersionStore(db_path) as store:
        assert [r["status"] for r in store.db["notifications"].rows] == ["sent"]


def test_rules_and_masking():
    change = {
        "kind": "new",
        "region": "吴江区",
        "source": "s",
        "title": "吴江区政府工作报告",
        "summary": "new",
        "id": 7,
        "url": "http://x/1",
    }
    assert Rule(("json://h",), kinds=frozenset({"new"})).wants(change, "")
    assert not Rule(("json://h",), regions=frozenset({"太仓市"})).wants(change, "")
    assert Rule(("json://h",), keywords=("政府工作报告",)).wants(change, "")
    assert not Rule(("json://h",), keywords=("招商",)).wants(change, "正文")
    assert mask("dingtalk://SECRETTOKEN/") == "dingtalk://***"
    assert mask("mailto://user:pass@example.com") == "mailto://***"
    digest = build_digest("来源", [change], "http://127.0.0.1:8700/")
    assert "http://127.0.0.1:8700/change/7" in digest.body
