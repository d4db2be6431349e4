"""The README stays true: every setting of ours and every CLI command is documented."""

from __future__ import annotations

import re

from click.testing import CliRunner

from crawler import settings
from govwatch.cli import main
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
OUR_PREFIXES = ("SOURCES_", "VERSIONS_", "EXTRACT_", "LIST_", "KNOWN_DOCUMENTS_")


def test_every_setting_of_ours_is_in_the_readme():
    ours = [n for n in dir(settings) if n.startswith(OUR_PREFIXES)]
    assert len(ours) >= 8
    missing = [n for n in ours if f"`{n}`" not in README]
    assert not missing


def test_every_command_is_in_the_readme():
    commands = set(main.commands)
    assert {"crawl", "changes", "show", "history", "extract", "demo"} <= commands
    missing = [c for c in commands if not re.search(rf"govwatch [^\n]*\b{c}\b", README)]
    assert not missing


def test_help_runs():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "changes" in result.output
