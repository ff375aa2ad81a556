"""`testbed graph` pictures: one colour meaning each, names in the data's own spelling (Unicode,
escaped where it is markup or mathtext), canvases cut to the drawing, and big labs gathered
by place (PoPs) or community with the tunnels drawn between the groups."""
from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from testbed.experiments.layout import CLASS_COLOURS, groups, node_colours, _graph

NAMES = ["Jaén", "Zürich", "Łódź", "Αθήνα", "São Paulo", "Москва", "$\\frac{a}{b}$ <b>bold</b> & co"]


def tb(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "testbed.cli", *map(str, args)], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _ring_with_chords(n: int, seed: int, coords: bool):
    """A node-link document: a ring of n cities plus one seeded chord per city, with coordinates
    in 6 clusters (cities of a region) when `coords`."""
    rng = random.Random(seed)
    nodes = []
    for i in range(n):
        name = NAMES[i] if i < len(NAMES) else f"City {i}"
        node = {"id": i, "name": name}
        if coords:
            cx, cy = [(2, 48), (13, 52), (-3, 40), (24, 38), (37, 55), (12, 42)][i % 6]
            node["pos"] = [cx + rng.uniform(-0.8, 0.8), cy + rng.uniform(-0.8, 0.8)]
        nodes.append(node)
    edges = [{"source": i, "target": (i + 1) % n} for i in range(n)]
    edges += [{"source": i, "target": rng.randrange(n)} for i in range(n)]
    edges = [e for e in edges if e["source"] != e["target"]]
    return {"directed": False, "multigraph": False, "graph": {"name": "chords"}, "nodes": nodes, "edges": edges}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A 60-router import with Unicode (and hostile) names and coordinates, and its lab."""
    d = tmp_path_factory.mktemp("pics")
    src = d / "cities.json"
    src.write_text(json.dumps(_ring_with_chords(60, 4, coords=True), ensure_ascii=False), encoding="utf-8")
    lab_file = d / "cities.yaml"
    tb("import", src, "-o", lab_file, "--vendors", "cisco=0.5,juniper=0.3,linux=0.2", "--domains", "2",
            "--classes", "explicit,invisible-php", "--vps", "3", "--dsts", "4", "--seed", "1")
    from testbed.lab import load_lab
    return d, lab_file, load_lab(str(lab_file))


def test_import_keeps_the_datas_spelling_as_label(imported):
    _d, lab_file, lab = imported
    labels = {n.label for n in lab.routers}
    for name in NAMES[:6]:
        assert name in labels, (name, sorted(x for x in labels if x)[:10])
    jaen = next(n for n in lab.routers if n.label == "Jaén")
    assert jaen.name.isascii() and jaen.display == "Jaén"        # the node name stays an interface-safe name
    assert "label: Jaén" in lab_file.read_text(encoding="utf-8")


def test_svg_and_html_carry_unicode_names_escaped(imported):
    d, lab_file, _lab = imported
    svg, page = d / "cities.svg", d / "cities.html"
    tb("graph", lab_file, "-o", svg, "--aggregate", "none")
    text = svg.read_text(encoding="utf-8")
    for name in ("Jaén", "Zürich", "Łódź", "Αθήνα", "Москва"):
        assert name in text                                         # text, not paths: searchable
    tb("graph", lab_file, "-o", page)
    html = page.read_text(encoding="utf-8")
    assert "Jaén" in html and "Αθήνα" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    # a `$...$` label is drawn as it is written, not as mathtext
    assert "\\frac{a}{b}" in text or "frac" not in text


def test_label_rule_in_lab_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: badlabel\nrouters:\n  r1: {label: \"two\\nlines\"}\n  r2: {}\nhosts: [h1, h2]\n"
                   "links: [[h1, r1], [r1, r2], [r2, h2]]\n")
    r = tb("validate", bad, check=False)
    assert r.returncode == 2
    assert "label" in r.stderr and "one line" in r.stderr and "bad.yaml" in r.stderr


@pytest.mark.parametrize("mode", ["class", "vendor", "domain"])
def test_one_colour_meaning_per_picture(mode, imported, tmp_path):
    _d, lab_file, lab = imported
    out = tmp_path / f"p-{mode}.png"
    doc = json.loads(tb("graph", lab_file, "-o", out, "--colour", mode, "--aggregate", "none", "--json").stdout)
    fill, _legend = node_colours(lab, mode)
    hues = {c for c in fill.values() if len({c[1:3], c[3:5], c[5:7]}) > 1}     # not a grey
    if mode == "class":
        assert not hues                                                         # routers in greys only
        assert doc["legend"] and all(x.startswith(("truth: ", "uTNT: ")) for x in doc["legend"])
        assert {x[len("truth: "):] for x in doc["legend"] if x.startswith("truth: ")} <= set(CLASS_COLOURS)
    else:
        assert len(hues) >= 2                                                   # routers carry the meaning
        assert "truth: tunnel" in doc["legend"]                                # tunnels one dark grey
        assert not any(x[len("truth: "):] in CLASS_COLOURS for x in doc["legend"] if x.startswith("truth: "))
        kinds = [x for x in doc["legend"] if not x.startswith(("truth: ", "uTNT: "))]
        if mode == "vendor":
            assert {x.split(" (")[0] for x in kinds} == {r.vendor for r in lab.routers}
        else:
            assert {x.split(" (")[0] for x in kinds} >= {f"domain {d}" for d in lab.domains}


def _margins(png) -> list[float]:
    """Blank share of the canvas on each side (left, right, top, bottom)."""
    import matplotlib.image as mpimg
    import numpy as np
    a = mpimg.imread(str(png))[:, :, :3]
    ink = (a < 0.97).any(axis=2)
    rows, cols = np.where(ink.any(axis=1))[0], np.where(ink.any(axis=0))[0]
    h, w = ink.shape
    return [cols[0] / w, (w - 1 - cols[-1]) / w, rows[0] / h, (h - 1 - rows[-1]) / h]


@pytest.mark.parametrize("lab_arg", ["mixed", "imported"])
def test_canvas_is_cut_to_the_drawing(lab_arg, imported, tmp_path):
    _d, lab_file, _lab = imported
    out = tmp_path / "tight.png"
    tb("graph", "mixed" if lab_arg == "mixed" else lab_file, "-o", out, "--aggregate", "none")
    assert max(_margins(out)) < 0.08, _margins(out)


def test_big_lab_is_drawn_by_place_with_tunnels_between_places(imported, tmp_path):
    _d, lab_file, lab = imported
    out = tmp_path / "pops.png"
    doc = json.loads(tb("graph", lab_file, "-o", out, "--aggregate", "pop", "--json").stdout)
    parts = groups(lab, _graph(lab), "pop")
    assert doc["groups"] == len(parts) and 6 <= len(parts) <= 12               # the six regions, about
    assert sorted(r for m in parts.values() for r in m) == sorted(r.name for r in lab.routers)
    assert any(x.startswith("truth: ") for x in doc["legend"])                 # tunnels cross the groups
    assert max(_margins(out)) < 0.08


def test_without_coordinates_groups_are_seeded_communities(tmp_path):
    src = tmp_path / "plain.json"
    src.write_text(json.dumps(_ring_with_chords(90, 7, coords=False)))
    lab_file = tmp_path / "plain.yaml"
    tb("import", src, "-o", lab_file, "--domains", "1", "--classes", "explicit", "--vps", "2", "--dsts", "3",
            "--seed", "1")
    from testbed.lab import load_lab
    lab = load_lab(str(lab_file))
    a, b = groups(lab, _graph(lab), "pop"), groups(lab, _graph(lab), "pop")
    assert a == b and 2 <= len(a) < 45                                          # the same picture every time
    doms = groups(lab, _graph(lab), "domain")
    for d in lab.domains.values():                                              # a domain is one group
        assert sorted(d.routers) in doms.values()
    assert sorted(r for m in doms.values() for r in m) == sorted(r.name for r in lab.routers)
    out = tmp_path / "plain.svg"
    doc = json.loads(tb("graph", lab_file, "-o", out, "--aggregate", "domain", "--json").stdout)
    assert doc["groups"] == len(doms)
