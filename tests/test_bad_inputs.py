"""Bad input gets one clear line and a non-zero exit, never a traceback, and loses nothing.

Each case runs the real CLI in-process (click's runner): the exit code, the last line of what it
printed, and that no exception escaped.
"""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from govwatch.cli import main
from storage import VersionStore

SOURCE = {"name": "s", "title": "t", "region": "苏州市", "category": "news",
          "start_urls": ["http://127.0.0.1:9/list.html"], "links": "ul a"}  # fmt: skip
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
) + "sources: []\n"  # fmt: skip


@pytest.fixture
def env(tmp_path):
    db = tmp_path / "g.db"
    VersionStore(db).close()
    sources = tmp_path / "s.yaml"
    sources.write_text(yaml.safe_dump({"sources": [SOURCE]}), encoding="utf-8")
    return tmp_path, db, sources


def with_source(tmp_path, **fields):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"sources": [{**SOURCE, **fields}]}), encoding="utf-8")
    return path


CASES = {
    "alias bomb": (lambda t: ("--sources", _write(t, BOMB), "sources"), "YAML aliases"),
    "huge change id": (lambda t: ("show", "99999999999999999999999"), "99999999999999999999999"),
    "change id 0": (lambda t: ("review", "0"), "review"),
    "since overflow": (lambda t: ("changes", "--since", "99999999999d"), "too far back"),
    "huge limit": (lambda t: ("changes", "--limit", "99999999999999999999"), "--limit"),
    "runs limit 0": (lambda t: ("runs", "--limit", "0"), "--limit"),
    "export into a missing folder": (
        lambda t: ("export", "changes", "-o", str(t / "missing" / "x.csv")),
        "cannot write",
    ),
    "export onto a folder": (lambda t: ("export", "changes", "-o", str(t)), "directory"),
    "port -1": (lambda t: ("serve", "--port", "-1"), "--port"),
    "port 70000": (lambda t: ("serve", "--port", "70000"), "70000"),
    "extract /dev/zero": (lambda t: ("extract", "/dev/zero"), "not a regular file"),
    "extract a folder": (lambda t: ("extract", str(t)), "not a regular file"),
    "per-source db path": (
        lambda t: ("--sources", with_source(t, settings={"VERSIONS_DB_PATH": "/x"}), "sources"),
        "settings.VERSIONS_DB_PATH': cannot be set per source",
    ),
    "template with {m}": (
        lambda t: (
            "--sources",
            with_source(t, pages={"template": "http://x/{m}{n}", "last": 2}),
            "sources",
        ),
        "pages.template",
    ),
    "delay abc": (
        lambda t: ("--sources", with_source(t, settings={"DOWNLOAD_DELAY": "abc"}), "sources"),
        "settings.DOWNLOAD_DELAY': 'abc' is not a number",
    ),
    "concurrency 0": (
        lambda t: (
            "--sources",
            with_source(t, settings={"CONCURRENT_REQUESTS_PER_DOMAIN": 0}),
            "sources",
        ),
        "out of range",
    ),
    "every 0.0001s": (
        lambda t: ("--sources", with_source(t, schedule={"every": "0.0001s"}), "sources"),
        "out of range",
    ),
    "missing database on a read command": (
        lambda t: ("--db", str(t / "typo.db"), "changes"),
        "no database at",
    ),
    "database is a folder": (lambda t: ("--db", str(t), "changes"), "is a folder"),
    "garbage database": (
        lambda t: ("--db", _write(t, "garbage " * 100, "x.db"), "changes"),
        "cannot open database",
    ),
    "crawl jobs 0": (lambda t: ("crawl", "-j", "0"), "--jobs"),
}


def _write(tmp_path, text, name="bomb.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_clear_line(env, case):
    tmp_path, db, sources = env
    make_args, words = CASES[case]
    args = [str(a) for a in make_args(tmp_path)]
    if "--db" not in args:
        args = ["--db", str(db), *args]
    if "--sources" not in args:
        args = ["--sources", str(sources), *args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error:") or ": error: " in last, result.output  # extract: per input
    assert words in result.output
    assert "Traceback" not in result.output
    assert db.exists()  # nothing lost


def test_read_command_does_not_create_a_database(tmp_path):
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "typo.db"), "runs"])
    assert result.exit_code == 1
    assert not (tmp_path / "typo.db").exists()


def test_database_from_a_newer_govwatch_is_refused_by_name(tmp_path):
    db = tmp_path / "g.db"
    with VersionStore(db) as store:
        store.db["_migrations"].insert({"name": "m999_from_the_future", "applied_at": "x"})
        store.db.conn.commit()
    result = CliRunner().invoke(main, ["--db", str(db), "changes"])
    assert result.exit_code == 1
    assert "newer govwatch (schema m999_from_the_future)" in result.output
