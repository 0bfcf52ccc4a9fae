"""Plugins installed the way pip installs them: a module and its dist-info with an okrsync
entry point, in a site directory on sys.path (the fixture ``site``, offered to every test
module by tests/conftest.py)."""

import textwrap

import pytest


def make_distribution(site, name, module, source):
    """An installed distribution on sys.path: a module plus dist-info with an entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{name.replace('-', '_')}-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(f"[okrsync]\n{module} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An empty site directory first on sys.path, with entry-point plugins loaded again."""
    monkeypatch.delenv("OKRSYNC_LOAD_PLUGINS", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site
