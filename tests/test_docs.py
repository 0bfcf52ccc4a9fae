"""The documentation: the site builds strictly, links resolve, and its commands run.

Every fenced ``sh`` block of README.md and docs/ is run here, page by page, on a copy of the
bundled example (config.example.yaml, examples/) and of the real files the walkthroughs read
(tests/fixtures/real/), with the okrsync this suite runs on.
Markers, an HTML comment on the line before a block:

- ``<!-- needs-account -->``: the block needs a vendor account (a Jira site, a token); skipped.
- ``<!-- runs-in-ci -->``: the block is the test command itself; .ci/run runs it.
- ``<!-- tested-by: TEST -->``: a test of this module runs it (the example plugin's install).
- ``<!-- file: NAME -->`` before any block: written to NAME in the page's copy first (a
  client profile the page's commands read).

The README's set-up commands create a virtualenv and ``pip install`` okrsync: here okrsync is
installed already (as .ci/run installs it), so those steps are left out and the rest runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
BIN = Path(sys.executable).parent  # okrsync's console script sits beside the interpreter
# a fenced block, maybe indented (inside a list item), maybe after a marker comment
FENCE = re.compile(r"^(?:(?P<mi> *)<!-- (?P<what>[a-z-]+)(?::\s*(?P<arg>\S+))? -->\n)?(?P<indent> *)```(?P<lang>\w*)\n"
                   r"(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
MARKERS = {"needs-account", "runs-in-ci", "tested-by", "file"}
INSTALL_STEPS = ("python3 -m venv .venv", ". .venv/bin/activate", "pip install")


def blocks(page: Path) -> list[dict]:
    """Every fenced block of a page: its language, body, marker and line."""
    text = page.read_text(encoding="utf-8")
    return [{"lang": m["lang"], "body": textwrap.dedent(m["body"]), "marker": m["what"], "arg": m["arg"],
             "line": text.count("\n", 0, m.start("body"))} for m in FENCE.finditer(text)]


def runnable(body: str) -> str:
    """The block as a script, the steps that install okrsync left out (it is installed)."""
    lines = []
    for line in body.splitlines():
        steps = [s for s in line.split(" && ") if not s.strip().startswith(INSTALL_STEPS)]
        lines.append(" && ".join(steps))
    return "\n".join(lines) + "\n"


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          capture_output=True, text=True, cwd=config.parent)


def test_the_site_builds_strictly_with_every_page_in_the_nav(tmp_path):
    done = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    built = {p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("index.html")}
    pages = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")}
    want = {"index.html" if p == "index" else p.removesuffix("/index") + "/index.html" for p in pages}
    assert want <= built
    assert "connectors/jira/index.html" in built and len(pages) >= 25


def test_a_broken_anchor_fails_the_strict_build(tmp_path):
    # the strict build is what catches bad links: show that it does, on a copy
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    index = tmp_path / "docs" / "index.md"
    index.write_text(index.read_text() + "\n[exit codes](commands.md#no-such-heading)\n")
    done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-heading" in done.stderr


def headings(page: Path) -> set[str]:
    """The anchors of a page's headings, as the site's table of contents makes them."""
    found, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        if not fenced and (m := re.match(r"#{1,6} (.*)", line)):
            found.add(slugify(re.sub(r"[`*]", "", m[1]), "-"))
    return found


def test_every_readme_link_into_the_repository_resolves():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert len([link for link in local if link.startswith("docs/")]) >= 10
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else ROOT / "README.md"
        assert target.exists(), f"README.md links to {link}: no such file"
        if anchor:
            assert anchor in headings(target), f"README.md links to {link}: no such heading"


def test_the_readme_keeps_the_exit_code_table_of_the_docs():
    def table(page: Path) -> list[str]:  # links point elsewhere from each: compare their text
        return [re.sub(r"\]\([^)]*\)", "]", line) for line in page.read_text(encoding="utf-8").splitlines()
                if re.match(r"\| \d \| ", line)]
    docs = table(DOCS / "commands.md")
    assert [line.split(" | ")[0] for line in docs] == [f"| {code}" for code in range(8)]
    assert table(ROOT / "README.md") == docs


def test_the_readme_starts_with_the_two_set_up_commands():
    found = [b for b in blocks(ROOT / "README.md") if b["lang"] == "sh"][:2]
    assert found[0]["body"].strip() == ("python3 -m venv .venv && . .venv/bin/activate && pip install . && "
                                        "okrsync -c config.example.yaml sync && okrsync -c config.example.yaml show")
    assert found[1]["body"].strip() == ("python3 -m venv .venv && . .venv/bin/activate && "
                                        "pip install -e '.[test]' && python -m pytest")
    assert found[1]["marker"] == "runs-in-ci"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install --quiet -e '.[test]'" in ci and "python -m pytest" in ci and "mkdocs build --strict" in ci


def test_the_benchmark_targets_are_the_code_s():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import import_bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    t = import_bench.TARGETS
    for claim in (f"CSV import of 50,000 KRs | under {t['csv_50k_s']:g} s", f"XLSX import of 50,000 KRs | under {t['xlsx_50k_s']:g} s",
                  f"peak memory | under {t['peak_rss_mb']:g} MB", f"under {t['reimport_ratio']:g} × the first import"):
        assert claim in page


SH_PAGES = [p for p in PAGES if any(b["lang"] == "sh" and not b["marker"] for b in blocks(p))]


def test_the_markers_are_known_and_tested_by_names_a_test():
    marked = [(p, b) for p in PAGES for b in blocks(p) if b["marker"]]
    assert {b["marker"] for _, b in marked} <= MARKERS
    assert len(SH_PAGES) >= 7
    for page, b in marked:
        if b["marker"] == "tested-by":
            assert callable(globals().get(b["arg"])), f"{page}: tested-by {b['arg']}: no such test here"
        if b["marker"] == "needs-account":
            assert "config.example.yaml" not in b["body"], f"{page}: runs on the bundled example, yet marked"


@pytest.mark.parametrize("page", SH_PAGES, ids=[p.relative_to(ROOT).as_posix() for p in SH_PAGES])
def test_every_shell_block_runs_on_the_bundled_example(page, tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    shutil.copy(ROOT / "config.example.yaml", work)
    shutil.copytree(ROOT / "examples", work / "examples", ignore=shutil.ignore_patterns("plugin", "__pycache__"))
    shutil.copytree(ROOT / "tests" / "fixtures" / "real", work / "tests" / "fixtures" / "real")  # the walkthroughs' files
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "OKRSYNC_LOG_FORMAT": "text"}
    env.pop("OKRSYNC_CONFIG", None)
    found = blocks(page)
    for b in found:
        if b["marker"] == "file":
            (work / b["arg"]).write_text(b["body"], encoding="utf-8")
    ran = 0
    for b in found:
        if b["lang"] != "sh" or b["marker"]:
            continue
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", runnable(b["body"])], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        where = f"{page.relative_to(ROOT)}, the block at line {b['line']}"
        assert done.returncode == 0, f"{where} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        ran += 1
    assert ran and (work / "okrsync.db").exists()


def test_the_example_plugin_installs_and_syncs(tmp_path):
    # installed into a folder of its own on PYTHONPATH, so this suite's environment is left as it was
    target = tmp_path / "site-packages"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                           str(ROOT / "examples" / "plugin")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples", ignore=shutil.ignore_patterns("plugin", "__pycache__"))
    (work / "okrsync.yaml").write_text(
        "store: okrsync.db\n"
        "endpoints:\n"
        "  planning-sheet: {type: csv, path: examples/okrs.csv, layout: flat}\n"
        "  notes: {type: example-jsonl, path: out/okrs.jsonl}\n"
        "sync:\n  order: [planning-sheet, notes]\n")
    env = {**os.environ, "PYTHONPATH": str(target), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("OKRSYNC_LOAD_PLUGINS", None)

    def okrsync(*args):
        run = subprocess.run(["okrsync", "--json", *args], cwd=work, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        return json.loads(run.stdout) if run.stdout.strip() else None

    listed = subprocess.run(["okrsync", "connectors", "example-jsonl"], cwd=work, env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "JSON Lines" in listed.stdout, listed.stderr
    okrsync("sync")
    lines = [json.loads(line) for line in (work / "out" / "okrs.jsonl").read_text().splitlines()]
    assert [sum(r["kind"] == k for r in lines) for k in ("objective", "key_result")] == [13, 39]
    kr1 = next(r for r in lines if r["id"] == "KR-1")
    assert (kr1["objective_id"], kr1["current"]) == ("CO-1", 9050000.0)

    # an edit made in the plugin's file comes back into the planning sheet
    kr1["current"] = 9300000
    (work / "out" / "okrs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    okrsync("sync")
    sheet = (work / "examples" / "okrs.csv").read_text(encoding="utf-8")
    row = next(line for line in sheet.splitlines() if ",KR-1," in line)
    assert ",8400000,9300000,10200000," in row
    # and a further sync has nothing to do
    again = okrsync("sync")
    assert again["totals"]["created"] == again["totals"]["updated"] == 0, again
