"""The built wheel works outside the checkout: namespaced imports, mappings as package data."""

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("okrsync-*.whl"))
    # The fresh venv borrows the dependencies from the test run's environment through a
    # .pth line (no download); okrsync itself comes from the wheel, since the venv's own
    # site-packages comes first and .pth files of a borrowed directory are not run.
    venv.create(tmp / "venv", with_pip=False)
    py = tmp / "venv" / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "okrsync-test-deps.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--quiet", str(wheel)],
                   check=True, capture_output=True)
    return tmp, py, wheel


def test_wheel_contents_are_namespaced(installed):
    import zipfile

    _, _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "okrsync/connectors/spreadsheet.py" in names
    assert "okrsync/mappings/sheets/spreadsheet.yaml" in names
    assert "okrsync/report/catalogue.yaml" in names and "okrsync/report/templates/fit.html" in names
    assert "okrsync/schemas/okr-json-1.schema.json" in names  # okrsync validate needs it installed
    assert not any(n.startswith(("connectors/", "mappings/")) for n in names)


def test_installed_cli_runs_outside_the_checkout(installed):
    tmp, py, _ = installed
    work = tmp / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([py, "-c", "import okrsync, okrsync.connectors.spreadsheet as s; print(okrsync.__file__); print(s.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(str(tmp / "venv") in p for p in where), where
    okrsync = tmp / "venv" / "bin" / "okrsync"
    out = subprocess.run([okrsync, "connectors"], cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert "csv" in out and "xlsx" in out
    (work / "okrs.csv").write_text("Objective,Key result,Start,Target\nGrow,Reach 10 customers,0,10\n")
    subprocess.run([okrsync, "init"], cwd=work, env=env, check=True, capture_output=True)
    pulled = subprocess.run([okrsync, "--json", "pull"], cwd=work, env=env, capture_output=True, text=True, check=True)
    assert '"created": 2' in pulled.stdout
    subprocess.run([okrsync, "export", "--format", "okr-json", "-o", "okrs.okr.json"], cwd=work, env=env, check=True,
                   capture_output=True)
    valid = subprocess.run([okrsync, "validate", "okrs.okr.json"], cwd=work, env=env, capture_output=True, text=True)
    assert valid.returncode == 0 and "2 record(s): valid" in valid.stdout, valid.stdout + valid.stderr


def test_tests_and_benchmarks_import_connectors_by_their_installed_name():
    """``connectors.x`` imports only in a checkout, and there it is a second copy of
    ``okrsync.connectors.x`` (other classes: isinstance and the plugin registry disagree)."""
    import re

    bare = re.compile(r"^\s*(from connectors[.\s]|import connectors\b)", re.M)
    found = [str(p.relative_to(ROOT)) for folder in ("tests", "bench", "okrsync", "connectors")
             for p in (ROOT / folder).rglob("*.py") if bare.search(p.read_text(encoding="utf-8"))]
    assert found == [], f"import okrsync.connectors.<name> instead in: {found}"
