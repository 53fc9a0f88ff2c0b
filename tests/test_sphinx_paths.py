"""The paths extension's pieces that need no build: reading a page's front matter as Sphinx keeps
it, finding a chapter's pages in the table of contents, and the tables it writes."""
from __future__ import annotations

import re
from types import SimpleNamespace

from cnnbook_lib import sphinx_paths as P


def env(metadata: dict, includes: dict, numbers: dict | None = None):
    return SimpleNamespace(metadata=metadata, toctree_includes=includes, config=SimpleNamespace(root_doc="intro"),
                           toc_secnumbers={d: {"": n} for d, n in (numbers or {}).items()}, titles={},
                           found_docs=set(metadata) | set(includes) | {c for cs in includes.values() for c in cs})


def test_front_matter_arrives_as_json_text_or_a_dict():
    e = env({"a": {"cnnbook": '{"path": "deeper", "assumes": ["chapters/01/04_cost"]}'},
             "b": {"cnnbook": {"path": "core"}}, "c": {"cnnbook": "exercises"}, "d": {"kernelspec": "x"}}, {})
    assert P.page_info(e, "a") == P.PageInfo("deeper", ("chapters/01/04_cost",))
    assert P.page_info(e, "b") == P.PageInfo("core")
    assert P.page_info(e, "c") == P.PageInfo("exercises")
    assert P.page_info(e, "d") is None and P.page_info(e, "missing") is None


def test_a_chapter_is_the_nearest_page_above_without_a_path():
    meta = {d: {"cnnbook": {"path": p}} for d, p in
            [("c/1", "core"), ("c/deeper", "deeper"), ("c/2", "deeper"), ("c/ex", "exercises")]}
    e = env(meta, {"intro": ["front", "ch"], "ch": ["c/1", "c/deeper", "c/ex"], "c/deeper": ["c/2"]})
    infos = P._infos(e)
    assert P._chapters(e, infos) == {"ch": ["c/1", "c/deeper", "c/2", "c/ex"]}
    rows = P._chapter_rows(["c/1", "c/deeper", "c/2", "c/ex"], infos,
                           {"c/1": 14, "c/deeper": 1, "c/2": 25, "c/ex": 90}, {"c/ex": 6})
    assert rows == {"core": {"pages": 1, "minutes": 14, "exercises": 0},
                    "deeper": {"pages": 2, "minutes": 26, "exercises": 0},
                    "exercises": {"pages": 1, "minutes": 90, "exercises": 6}}
    table = P.path_table(rows)
    assert re.findall(r'data-path="(\w+)" data-pages="(\d+)" data-minutes="(\d+)"', table) == [
        ("core", "1", "14"), ("deeper", "2", "26"), ("exercises", "1", "90")]
    assert "6 exercises" in table and "Going deeper" in table
    e.toc_secnumbers = {"ch": {"": (2,)}}
    row = P.reading_times_table(e, {"ch": rows})
    assert 'data-core="14" data-deeper="26" data-exercises="90"' in row and "2. ch" in row
    assert "none yet" in P.reading_times_table(e, {"ch": {"core": rows["core"]}})
