"""The docs say what the code does: docs/architectures.md is generated from the factories'
default configs, the architectures' signatures and their docstrings; every setting and
argument is described; the README stays short and its links resolve."""

import re
import subprocess
import sys

from tests.helpers import ROOT

SCRIPT = ROOT / "scripts" / "document_architectures.py"


def test_architectures_reference_is_up_to_date(tmp_path):
    out = tmp_path / "architectures.md"
    result = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == (ROOT / "docs" / "architectures.md").read_text(), (
        "docs/architectures.md is out of date: run python scripts/document_architectures.py docs/architectures.md"
    )


def test_every_setting_and_argument_is_described():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import document_architectures
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert document_architectures.missing() == []


def test_readme_is_short_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 160
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
