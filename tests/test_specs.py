"""The trimmed vendor documents in tests/specs: complete for what okrsync uses, descriptive
text gone, and (when ../shared/specs is beside the checkout) exact sub-trees of the full
documents that the trimmer reproduces byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from .helpers.spec_check import SAMPLES, SPECS
from .specs import trim

FULL = Path(__file__).resolve().parents[2] / "shared" / "specs"  # the full documents, when the shared folder is beside the checkout
FULL_SAMPLES = FULL.parent / "research" / "samples"
needs_full = pytest.mark.skipif(not FULL.is_dir(), reason=f"{FULL} is not beside the checkout: the trimmed copies "
                                                          "in tests/specs are not compared with the full documents")


def subtree_mismatch(small: Any, big: Any, at: str = "") -> str | None:
    """Where ``small`` is not an exact sub-tree of ``big`` (dicts: a subset of keys, each a sub-tree;
    lists and values: the same), or None."""
    if isinstance(small, dict):
        if not isinstance(big, dict):
            return at or "/"
        for k, v in small.items():
            if k not in big:
                return f"{at}/{k} (absent from the full document)"
            found = subtree_mismatch(v, big[k], f"{at}/{k}")
            if found:
                return found
        return None
    if isinstance(small, list):
        if not isinstance(big, list) or len(small) != len(big):
            return f"{at} (a list of another length)"
        return next((m for i, (s, b) in enumerate(zip(small, big)) if (m := subtree_mismatch(s, b, f"{at}/{i}"))), None)
    return None if type(small) is type(big) and small == big else f"{at}: {small!r} != {big!r}"


def test_the_subtree_check_finds_what_differs():
    big = {"a": {"b": [1, {"c": 2, "d": 3}]}, "e": 200}
    assert subtree_mismatch({"a": {"b": [1, {"c": 2}]}}, big) is None
    assert subtree_mismatch({"a": {"b": [1, {"c": 3}]}}, big) == "/a/b/1/c: 3 != 2"
    assert subtree_mismatch({"a": {"b": [1]}}, big) == "/a/b (a list of another length)"
    assert subtree_mismatch({"e": "200"}, big) == "/e: '200' != 200"  # a YAML integer code is not its string
    assert subtree_mismatch({"x": 1}, big) == "/x (absent from the full document)"


@pytest.mark.parametrize("name", list(trim.KEEP))
def test_every_kept_operation_and_reference_is_there_and_no_prose(name):
    doc = trim.load(SPECS / name)
    keep = trim.KEEP[name]
    discovery = isinstance(keep, list)
    if discovery:
        assert len(trim._method_pointers(doc, keep)) == len(keep) == 5
    else:
        assert {(p, m) for p, item in doc["paths"].items() for m in item if m != "parameters"} >= \
            {(p, m) for p, methods in keep.items() for m in methods}
    refs = trim._refs(doc, discovery)
    assert refs, "a vendor document without references: the closure was not exercised"
    for pointer in refs:
        trim._get(doc, pointer)  # KeyError names a dangling reference
    assert trim._strip(doc) == doc  # no description, summary, example, tag or x- extension left


@needs_full
@pytest.mark.parametrize("name", list(trim.KEEP))
def test_each_trimmed_document_is_an_exact_subtree_of_the_full_one(name):
    small, big = trim.load(SPECS / name), trim.load(FULL / name)
    assert subtree_mismatch(small, big) is None, f"{name}: {subtree_mismatch(small, big)}"
    sha = hashlib.sha256((FULL / name).read_bytes()).hexdigest()
    assert sha in (SPECS / "SOURCES.md").read_text(), f"{name}: SOURCES.md records another source"


@needs_full
def test_running_the_trimmer_again_gives_the_same_bytes():
    for name, text in trim.build(FULL).items():
        assert (SPECS / name).read_bytes() == text.encode(), f"tests/specs/{name} differs: run python tests/specs/trim.py {FULL}"
    if FULL_SAMPLES.is_dir():
        copies = sorted(p.name for p in SAMPLES.iterdir())
        assert copies == sorted(p.name for p in FULL_SAMPLES.iterdir())
        for name in copies:
            assert (SAMPLES / name).read_bytes() == (FULL_SAMPLES / name).read_bytes(), f"samples/{name} differs"
