"""The zoomable view: one self-contained HTML file (inline SVG and a little JS, nothing fetched).

Wheel to zoom at the pointer, drag to pan, type a router name to find it, tick layers on and
off (truth tunnels per class, uTNT's tunnels, hosts); hover a node for its vendor, domain and
addresses. Same layout as the PNG (graph.py) and one colour meaning (`colour`) as there."""
from __future__ import annotations

import html
import json

from testbed.experiments.layout import _graph, _layout, node_colours, tunnel_colour, tunnel_segments

W, H = 1200.0, 800.0

JS = """
const svg=document.getElementById('v'), vp=document.getElementById('vp');
let s=1,tx=0,ty=0,drag=null;
function apply(){vp.setAttribute('transform',`translate(${tx},${ty}) scale(${s})`);
  document.querySelectorAll('text.l').forEach(t=>t.style.fontSize=(10/Math.sqrt(s))+'px');}
svg.addEventListener('wheel',e=>{e.preventDefault();const r=svg.getBoundingClientRect();
  const mx=(e.clientX-r.left)*svg.viewBox.baseVal.width/r.width, my=(e.clientY-r.top)*svg.viewBox.baseVal.height/r.height;
  const k=e.deltaY<0?1.2:1/1.2; tx=mx-(mx-tx)*k; ty=my-(my-ty)*k; s*=k; apply();},{passive:false});
svg.addEventListener('mousedown',e=>{drag=[e.clientX,e.clientY,tx,ty];});
window.addEventListener('mouseup',()=>drag=null);
window.addEventListener('mousemove',e=>{if(!drag)return;const r=svg.getBoundingClientRect(),f=svg.viewBox.baseVal.width/r.width;
  tx=drag[2]+(e.clientX-drag[0])*f; ty=drag[3]+(e.clientY-drag[1])*f; apply();});
document.querySelectorAll('input[data-layer]').forEach(c=>c.addEventListener('change',()=>{
  document.querySelectorAll('.'+c.dataset.layer).forEach(x=>x.style.display=c.checked?'':'none');}));
document.getElementById('q').addEventListener('input',e=>{const q=e.target.value.trim().toLowerCase();
  document.querySelectorAll('g.n').forEach(n=>{const hit=q&&n.dataset.name.includes(q);
    n.querySelector('circle,rect').setAttribute('stroke',hit?'#ff00aa':'#333');
    n.querySelector('circle,rect').setAttribute('stroke-width',hit?4:0.6);});
  const m=[...document.querySelectorAll('g.n')].find(n=>q&&n.dataset.name.split('|').includes(q));
  if(m){s=3;tx=W/2-m.dataset.x*s;ty=H/2-m.dataset.y*s;apply();}});
document.getElementById('reset').addEventListener('click',()=>{s=1;tx=0;ty=0;apply();});
apply();
"""


def write_html(lab, truth: dict, out: str, result: dict | None = None, colour: str = "class") -> str:
    g = _graph(lab)
    pos = _layout(lab, g, truth)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sc = min((W - 80) / max(x1 - x0, 1e-9), (H - 80) / max(y1 - y0, 1e-9))

    def xy(n):
        x, y = pos[n]
        return round(40 + (x - x0) * sc, 1), round(H - 40 - (y - y0) * sc, 1)   # y up, as on a map
    n_routers = len(lab.routers)
    fill, legend = node_colours(lab, colour)
    r = max(2.5, min(9.0, 250.0 / max(n_routers, 1) ** 0.75))
    parts = ['<g class="edges" stroke="#c8c8c8" stroke-width="0.8">']
    for a, b in g.edges:
        (ax, ay), (bx, by) = xy(a), xy(b)
        parts.append(f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}"/>')
    parts.append("</g>")
    truth_edges, _lsrs, seen_edges, revealed = tunnel_segments(lab, truth, result)
    for cls, edges in sorted(truth_edges.items()):
        top = max(edges.values())
        parts.append(f'<g class="t-{cls}" stroke="{tunnel_colour(cls, colour)}" stroke-opacity="0.55" '
                     'stroke-linecap="round">')
        for (a, b), c in edges.items():
            if a in pos and b in pos:
                (ax, ay), (bx, by) = xy(a), xy(b)
                tip = html.escape(f"truth {cls}: {lab.nodes[a].display} - {lab.nodes[b].display}, {c} probe(s)")
                parts.append(f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke-width="{1.5 + 4.5 * c / top:.1f}">'
                             f'<title>{tip}</title></line>')
        parts.append("</g>")
    if seen_edges:
        parts.append('<g class="utnt" stroke="black" stroke-width="1.2" stroke-dasharray="4 3">')
        for (a, b), c in seen_edges.items():
            if a in pos and b in pos:
                (ax, ay), (bx, by) = xy(a), xy(b)
                tip = html.escape(f"uTNT tunnel: {lab.nodes[a].display} - {lab.nodes[b].display}, {c} trace(s)")
                parts.append(f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}"><title>{tip}</title></line>')
        parts.append("</g>")
    parts.append('<g class="nodes">')
    for node in lab.nodes.values():
        if node.name not in pos:
            continue
        x, y = xy(node.name)
        tip = html.escape(f"{node.display} ({node.name}, {node.kind}, {node.vendor}"
                          + (f", domain {node.domain}" if node.domain else "") + ")\n"
                          + " ".join(str(a) for a in node.addresses()[:6]))
        paint = fill[node.name]
        cls = "n" if node.is_router else "n hosts"
        key = html.escape("|".join(dict.fromkeys([node.name, node.display.lower()])), quote=True)
        parts.append(f'<g class="{cls}" data-name="{key}" data-x="{x}" data-y="{y}"><title>{tip}</title>')
        if node.is_router:
            ring = ' stroke="black" stroke-width="2"' if node.name in revealed else ' stroke="#333" stroke-width="0.6"'
            parts.append(f'<circle cx="{x}" cy="{y}" r="{r:.1f}" fill="{paint}"{ring}/>')
        else:
            parts.append(f'<rect x="{x - r * 0.6:.1f}" y="{y - r * 0.6:.1f}" width="{r * 1.2:.1f}" '
                         f'height="{r * 1.2:.1f}" fill="{paint}" stroke="#333" stroke-width="0.6"/>')
        parts.append(f'<text class="l" x="{x + r + 1:.1f}" y="{y + 3:.1f}">{html.escape(node.display)}</text></g>')
    parts.append("</g>")
    layers = [(f"t-{c}", f"truth: {c}", tunnel_colour(c, colour)) for c in sorted(truth_edges)]
    if seen_edges:
        layers.append(("utnt", "uTNT: reported tunnels", "black"))
    layers.append(("hosts", "hosts", "#999"))
    boxes = " ".join(f'<label style="color:{c}"><input type="checkbox" data-layer="{k}" checked> {html.escape(t)}</label>'
                     for k, t, c in layers)
    vend = " ".join(f'<span style="background:{c};padding:0 6px">{html.escape(t)}</span>' for t, c in legend)
    title = html.escape(f"{lab.name}: {n_routers} routers, {len(lab.links)} links, {len(lab.domains)} MPLS domain(s)")
    doc = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:13px sans-serif;margin:8px}} svg{{border:1px solid #ddd;width:100%;height:82vh;cursor:grab;background:#fff}}
text.l{{font-size:10px;fill:#222;pointer-events:none}} label{{margin-right:12px}}</style></head>
<body><div><b>{title}</b> &nbsp; {vend} &nbsp; find: <input id="q" size="14" placeholder="router name">
<button id="reset">reset view</button> &nbsp; wheel: zoom, drag: pan</div>
<div>{boxes}</div>
<svg id="v" viewBox="0 0 {W:.0f} {H:.0f}" xmlns="http://www.w3.org/2000/svg"><g id="vp">
{chr(10).join(parts)}
</g></svg>
<script>const W={W},H={H};{JS}</script>
<script type="application/json" id="lab-data">{html.escape(json.dumps({"lab": lab.name, "routers": n_routers}))}</script>
</body></html>
"""
    with open(out, "w") as f:
        f.write(doc)
    return out
