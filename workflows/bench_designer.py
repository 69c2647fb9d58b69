"""The designer's benchmark: a valid process of about 200 elements, and the figures of its runs.

`ioc bench designer` opens it in headless chromium with the canvas checks (bpmnlint's rules, the
project's pack and the server's check) and times import + checks until the problems list is shown.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

BLOCK_NODES = 6  # user task, script task, split, two branches, join
BLOCK_ELEMENTS = 13  # its 6 nodes and 7 sequence flows
LANES = (("lane_officer", "Cán bộ xử lý"), ("lane_system", "Hệ thống"))


def element_count(blocks: int) -> int:
    """Elements of a process of `blocks` blocks: the nodes, flows, start, end, lanes and pool."""
    return BLOCK_ELEMENTS * blocks + 2 + 1 + len(LANES) + 1  # start, end, last flow, lanes, pool


def blocks_for(elements: int) -> int:
    """The number of blocks whose process has at least `elements` elements."""
    blocks = 1
    while element_count(blocks) < elements:
        blocks += 1
    return blocks


def process_xml(elements: int = 200, process_id: str = "bench_designer") -> str:
    """A valid executable process (what `ioc deploy` takes) of about `elements` elements, with its diagram."""
    blocks = blocks_for(elements)
    nodes: list[tuple[str, str, str, int, int, int, int]] = []  # (xml, id, lane, x, y, w, h)
    flows: list[tuple[str, str, str, str | None]] = []  # (id, source, target, condition)
    x = 200

    def add(xml: str, node_id: str, lane: str, w: int = 100, h: int = 80, dy: int = 0) -> None:
        base = 140 if lane == "lane_officer" else 390
        nodes.append((xml, node_id, lane, x, base - h // 2 + dy, w, h))

    add('<bpmn:startEvent id="start" name="Bắt đầu"/>', "start", "lane_officer", 36, 36)
    previous = "start"
    for b in range(blocks):
        x += 140
        add(f'<bpmn:userTask id="review_{b}" name="Xem xét {b + 1}"/>', f"review_{b}", "lane_officer")
        flows.append((f"f_{b}_a", previous, f"review_{b}", None))
        x += 150
        add(f'<bpmn:scriptTask id="score_{b}" name="Tính điểm {b + 1}"><bpmn:script>score_{b} = {b} + 1'
            "</bpmn:script></bpmn:scriptTask>", f"score_{b}", "lane_system")
        flows.append((f"f_{b}_b", f"review_{b}", f"score_{b}", None))
        x += 150
        add(f'<bpmn:exclusiveGateway id="split_{b}" name="Điểm cao?" default="f_{b}_low"/>', f"split_{b}",
            "lane_system", 50, 50)
        flows.append((f"f_{b}_c", f"score_{b}", f"split_{b}", None))
        x += 110
        add(f'<bpmn:scriptTask id="high_{b}" name="Cao {b + 1}"><bpmn:script>level = "high"</bpmn:script>'
            "</bpmn:scriptTask>", f"high_{b}", "lane_system", dy=-70)
        add(f'<bpmn:scriptTask id="low_{b}" name="Thấp {b + 1}"><bpmn:script>level = "low"</bpmn:script>'
            "</bpmn:scriptTask>", f"low_{b}", "lane_system", dy=70)
        flows.append((f"f_{b}_high", f"split_{b}", f"high_{b}", f"score_{b} > 5"))
        flows.append((f"f_{b}_low", f"split_{b}", f"low_{b}", None))
        x += 150
        add(f'<bpmn:exclusiveGateway id="join_{b}"/>', f"join_{b}", "lane_system", 50, 50)
        flows.append((f"f_{b}_d", f"high_{b}", f"join_{b}", None))
        flows.append((f"f_{b}_e", f"low_{b}", f"join_{b}", None))
        previous = f"join_{b}"
    x += 140
    add('<bpmn:endEvent id="end" name="Kết thúc"/>', "end", "lane_officer", 36, 36)
    flows.append(("f_end", previous, "end", None))

    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for flow_id, source, target, _condition in flows:
        outgoing.setdefault(source, []).append(flow_id)
        incoming.setdefault(target, []).append(flow_id)

    def with_refs(xml: str, node_id: str) -> str:
        refs = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming.get(node_id, [])) + "".join(
            f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in outgoing.get(node_id, []))
        if xml.endswith("/>"):
            tag = xml[1:].split(" ", 1)[0]
            return f"{xml[:-2]}>{refs}</{tag}>"
        opened = xml.index(">") + 1  # the schema wants incoming/outgoing before a script task's script
        return xml[:opened] + refs + xml[opened:]

    at = {n[1]: n for n in nodes}
    width = x + 200
    lane_xml = "".join(
        f'<bpmn:lane id="{lane_id}" name={quoteattr(name)}>'
        + "".join(f"<bpmn:flowNodeRef>{n[1]}</bpmn:flowNodeRef>" for n in nodes if n[2] == lane_id)
        + "</bpmn:lane>" for lane_id, name in LANES)
    flow_xml = "".join(
        f'<bpmn:sequenceFlow id="{f}" sourceRef="{s}" targetRef="{t}"' + (' name="Cao">' if c else ">")
        + (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{c.replace(">", "&gt;")}'
           "</bpmn:conditionExpression>" if c else "")
        + "</bpmn:sequenceFlow>" for f, s, t, c in flows)
    shapes = [f'<bpmndi:BPMNShape id="pool_di" bpmnElement="pool" isHorizontal="true">'
              f'<dc:Bounds x="100" y="20" width="{width}" height="500"/></bpmndi:BPMNShape>']
    shapes += [f'<bpmndi:BPMNShape id="{lane_id}_di" bpmnElement="{lane_id}" isHorizontal="true">'
               f'<dc:Bounds x="130" y="{20 + 250 * i}" width="{width - 30}" height="250"/></bpmndi:BPMNShape>'
               for i, (lane_id, _name) in enumerate(LANES)]
    shapes += [f'<bpmndi:BPMNShape id="{n[1]}_di" bpmnElement="{n[1]}"><dc:Bounds x="{n[3]}" y="{n[4]}" '
               f'width="{n[5]}" height="{n[6]}"/></bpmndi:BPMNShape>' for n in nodes]
    edges = []
    for f, s, t, _c in flows:
        a, b = at[s], at[t]
        edges.append(f'<bpmndi:BPMNEdge id="{f}_di" bpmnElement="{f}">'
                     f'<di:waypoint x="{a[3] + a[5]}" y="{a[4] + a[6] // 2}"/>'
                     f'<di:waypoint x="{b[3]}" y="{b[4] + b[6] // 2}"/></bpmndi:BPMNEdge>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
            'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'id="defs_{process_id}" targetNamespace="http://ioc.daklak.gov.vn/bpmn">'
            f'<bpmn:collaboration id="collab"><bpmn:participant id="pool" name="Quy trình đo" processRef="{process_id}"/>'
            "</bpmn:collaboration>"
            f'<bpmn:process id="{process_id}" name="Quy trình đo" isExecutable="true">'
            f'<bpmn:laneSet id="lanes">{lane_xml}</bpmn:laneSet>'
            + "".join(with_refs(n[0], n[1]) for n in nodes) + flow_xml + "</bpmn:process>"
            '<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="collab">'
            + "".join(shapes) + "".join(edges) + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>")


@dataclass(frozen=True)
class Run:
    """One opening: milliseconds to import, to the first lint, to the server's check shown."""

    import_ms: float
    lint_ms: float
    total_ms: float
    problems: int


def table(runs: list[Run]) -> str:
    """Median and max of the runs, as lines."""
    lines = [f"{'':<28}{'median':>10}{'max':>10}"]
    for label, values in (("import (ms)", [r.import_ms for r in runs]),
                          ("first problems shown (ms)", [r.lint_ms for r in runs]),
                          ("+ server's check shown (ms)", [r.total_ms for r in runs])):
        lines.append(f"{label:<28}{statistics.median(values):>10.0f}{max(values):>10.0f}")
    return "\n".join(lines)


def build_page(frontend: Path, out_dir: Path) -> Path:
    """Bundle the bench page (frontend/lib/lint/bench-page.js) as the front-end build does; its folder."""
    esbuild = frontend.parent / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        raise RuntimeError("the front-end packages are not installed: run `make assets` (npm ci) first")
    subprocess.run([str(esbuild), str(frontend / "lib" / "lint" / "bench-page.js"), "--bundle", "--format=iife",
                    "--minify", "--target=chrome100", "--loader:.woff=file", "--loader:.woff2=file",
                    "--loader:.ttf=file", "--loader:.eot=file", "--loader:.svg=file", "--log-level=warning",
                    f"--outfile={out_dir / 'bench.js'}"], check=True, cwd=frontend.parent)
    return out_dir


_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>bench</title>
<link rel="stylesheet" href="/designer/__bench__/bench.css"><style>
html, body {{ margin: 0; height: 100%; }} #bench {{ display: flex; height: 100vh; }}
#bench-canvas {{ flex: 1; position: relative; }} #bench-properties {{ width: 300px; overflow: auto; }}
</style></head><body><div id="bench"><div id="bench-canvas"></div><div id="bench-properties"></div></div>
<script type="application/json" id="bench-data">{data}</script>
<script src="/designer/__bench__/bench.js"></script></body></html>"""


def measure(base: str, page_dir: Path, xml: str, runs: int, username: str, password: str, chromium: str,
            log=print) -> list[Run]:
    """Open the process `runs` times (a page load each) in headless chromium signed in as `username`."""
    from playwright.sync_api import sync_playwright

    results: list[Run] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
        page.goto(base + "/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("form button[type=submit]")
        page.wait_for_load_state()
        page.goto(base + "/designer/")
        csrf = page.get_attribute('meta[name="csrf-token"]', "content")
        data = json.dumps({"xml": xml, "name": "bench.bpmn", "csrf": csrf, "checkUrl": "/designer/api/check",
                           "registryUrl": "/designer/api/registry"}).replace("</", "<\\/")
        html = _PAGE.format(data=data)

        def serve(route):
            name = route.request.url.rsplit("/", 1)[-1].split("?")[0]
            if name in ("", "__bench__"):
                return route.fulfill(status=200, content_type="text/html", body=html)
            path = page_dir / name
            if not path.is_file():
                return route.fulfill(status=404, body="")
            kind = "text/css" if name.endswith(".css") else "application/javascript" if name.endswith(".js") else None
            return route.fulfill(status=200, body=path.read_bytes(), content_type=kind or "application/octet-stream")

        page.route("**/designer/__bench__/**", serve)
        page.route("**/designer/__bench__", serve)
        for i in range(runs):
            page.goto(base + "/designer/__bench__")
            page.wait_for_function("window.benchResult !== undefined", timeout=60_000)
            result = page.evaluate("window.benchResult")
            if "error" in result:
                raise RuntimeError(result["error"])
            run = Run(import_ms=result["imported"] - result["started"], lint_ms=result["firstShown"] - result["started"],
                      total_ms=result["shown"] - result["started"], problems=len(result["problems"]))
            log(f"run {i + 1}: modeler created {result['created'] - result['started']:.0f} ms,"
                f" import {run.import_ms:.0f} ms, first problems shown {run.lint_ms:.0f} ms, with the"
                f" server's check {run.total_ms:.0f} ms ({run.problems} problems"
                + (f": {'; '.join(result['problems'][:3])}" if run.problems else "") + ")")
            results.append(run)
        browser.close()
    return results
