import { expect } from "chai";
import {
  centroid, directionBetween, nextLaneName, parseDrawing, pointAfter, problemsOf, rotate, serialiseLanes,
  serialiseRoi, toNormalised,
} from "../lib/cameras/geometry.js";
import { RegionEditor } from "../lib/cameras/editor.js";

const text = {
  overlay: "Drawing", roi: "Region", lane_base: "Lane", point: "Point {n} ({x} %, {y} %)", arrow: "Direction of {name}",
  edit_lane: "Edit", name_label: "Name", rotate_left: "↺", rotate_right: "↻", reverse: "⇅", delete_lane: "Delete lane",
  drawing_roi: "Drawing the region", drawing_lane: "Drawing {name}", whole_picture: "Whole picture",
  problems: { few_points: "{name}: 3 points", no_name: "{name}: no name", same_name: "{name}: twice", no_direction: "{name}: no direction" },
};

describe("camera drawing: geometry and what the fields hold", () => {
  it("turns a pointer's position into picture coordinates, clamped to 0..1 and rounded", () => {
    const rect = { left: 100, top: 50, width: 400, height: 200 };
    expect(toNormalised(300, 150, rect)).to.deep.equal([0.5, 0.5]);
    expect(toNormalised(50, 300, rect)).to.deep.equal([0, 1]); // outside the picture: its edge
    expect(toNormalised(100 + 400 / 3, 50, rect)).to.deep.equal([0.3333, 0]);
    expect(toNormalised(1, 1, { left: 0, top: 0, width: 0, height: 0 })).to.deep.equal([0, 0]);
  });

  it("measures a direction as it looks on the picture, not in stretched 0..1 units", () => {
    // On a 16:9 picture, a drag from the middle to (0.6, 0.6) is not 45°: it goes farther right than down.
    const [x, y] = directionBetween([0.5, 0.5], [0.6, 0.6], 1600, 900);
    expect(Math.hypot(x, y)).to.be.closeTo(1, 1e-3);
    expect(x / y).to.be.closeTo(1600 / 900, 1e-2);
    expect(directionBetween([0.2, 0.2], [0.2, 0.2], 640, 360)).to.equal(null); // a tap sets nothing
    expect(rotate([0, -1], 90)).to.deep.equal([1, 0]); // up, turned clockwise on screen (y down), is right
    expect(rotate([1, 0], 180)).to.deep.equal([-1, 0]);
  });

  it("finds a polygon's centre and where a keyboard's new point goes", () => {
    expect(centroid([[0, 0], [1, 0], [1, 1], [0, 1]])).to.deep.equal([0.5, 0.5]);
    expect(centroid([[0.2, 0.2], [0.4, 0.4]])).to.deep.equal([0.30000000000000004, 0.30000000000000004]);
    expect(pointAfter([], null)).to.deep.equal([0.5, 0.5]);
    expect(pointAfter([[0.2, 0.2], [0.4, 0.2], [0.4, 0.6]], 0)).to.deep.equal([0.3, 0.2]);
    expect(pointAfter([[0.2, 0.2], [0.4, 0.2], [0.4, 0.6]], null)).to.deep.equal([0.3, 0.4]); // closing edge
  });

  it("reads back what it writes, and says what it could not read", () => {
    const lanes = [{ name: " Làn 1 ", polygon: [[0.1, 0.2], [0.3, 0.2], [0.3333333, 0.9]], direction: [0, 1] }];
    const roiText = serialiseRoi([[0, 0], [1, 0], [0.5, 0.123456]]);
    expect(roiText).to.equal("[[0,0],[1,0],[0.5,0.1235]]");
    const lanesText = serialiseLanes(lanes);
    expect(JSON.parse(lanesText)).to.deep.equal([{ name: "Làn 1", polygon: [[0.1, 0.2], [0.3, 0.2], [0.3333, 0.9]], direction: [0, 1] }]);
    const back = parseDrawing(roiText, lanesText);
    expect(back.problems).to.deep.equal([]);
    expect(back.roi).to.deep.equal([[0, 0], [1, 0], [0.5, 0.1235]]);
    expect(back.lanes[0].polygon[2]).to.deep.equal([0.3333, 0.9]);
    expect(serialiseRoi([])).to.equal(""); // no region: the whole picture
    expect(parseDrawing("", "").roi).to.deep.equal([]);
    expect(parseDrawing("null", "[]").problems).to.deep.equal([]);
    expect(parseDrawing("{oops", "[1]").problems).to.deep.equal(["roi", "lanes"]);
    expect(parseDrawing("[[0.1, 2], [\"a\", 0]]", "").roi).to.deep.equal([[0.1, 1]]); // clamped; the bad pair dropped
  });

  it("lists what the server would refuse", () => {
    const good = { name: "A", polygon: [[0, 0], [1, 0], [1, 1]], direction: [1, 0] };
    expect(problemsOf([], [good])).to.deep.equal([]);
    expect(problemsOf([[0, 0], [1, 1]], [])).to.deep.equal([{ shape: "roi", key: "few_points" }]);
    const found = problemsOf([], [good, { name: " a ", polygon: [[0, 0]], direction: [0, 0] }, { ...good, name: "" }]);
    expect(found.map((p) => `${p.index}:${p.key}`)).to.deep.equal(["1:few_points", "1:same_name", "1:no_direction", "2:no_name"]);
    expect(nextLaneName([{ name: "Lane 1" }, { name: "lane 3" }], "Lane")).to.equal("Lane 2");
  });
});

describe("camera drawing: the editor over a picture", () => {
  let box;
  let editor;
  let fields;

  function press(x, y, target) {
    const overlay = box.querySelector("svg");
    const rect = overlay.getBoundingClientRect();
    const at = { clientX: rect.left + x * rect.width, clientY: rect.top + y * rect.height, bubbles: true, pointerId: 1, button: 0 };
    (target || overlay).dispatchEvent(new PointerEvent("pointerdown", at));
    return at;
  }

  function moveTo(x, y) {
    const overlay = box.querySelector("svg");
    const rect = overlay.getBoundingClientRect();
    overlay.dispatchEvent(new PointerEvent("pointermove", { clientX: rect.left + x * rect.width, clientY: rect.top + y * rect.height, bubbles: true, pointerId: 1 }));
  }

  function release() {
    box.querySelector("svg").dispatchEvent(new PointerEvent("pointerup", { bubbles: true, pointerId: 1 }));
  }

  function click(x, y) {
    press(x, y);
    release();
  }

  beforeEach(() => {
    box = document.body.appendChild(document.createElement("div"));
    const stage = box.appendChild(document.createElement("div"));
    stage.style.cssText = "position: relative; width: 640px; height: 360px;";
    const tools = box.appendChild(document.createElement("div"));
    for (const action of ["edit-roi", "add-lane", "add-point", "delete-point", "delete-shape", "undo"]) {
      const b = tools.appendChild(document.createElement("button"));
      b.type = "button";
      b.dataset.action = action;
    }
    fields = { roi: document.createElement("input"), lanes: document.createElement("input") };
    const laneList = box.appendChild(document.createElement("ol"));
    const status = box.appendChild(document.createElement("p"));
    editor = new RegionEditor({ stage, fields, laneList, status, text, toolbar: tools });
    box.querySelector("svg").style.cssText = "position: absolute; inset: 0; width: 100%; height: 100%;";
    editor.load([], []);
  });

  afterEach(() => box.remove());

  it("draws a region by clicks, moves a point by dragging, deletes and undoes", () => {
    click(0.1, 0.1);
    click(0.9, 0.1);
    expect(box.querySelector("p").textContent).to.contain("Region: 3 points");
    click(0.5, 0.9);
    expect(JSON.parse(fields.roi.value)).to.deep.equal([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]);
    expect(box.querySelector("svg polygon").getAttribute("points")).to.equal("64.0,36.0 576.0,36.0 320.0,324.0");
    // drag the third point
    press(0.5, 0.9, box.querySelector('[data-point="2"] .dot'));
    moveTo(0.5, 0.75);
    release();
    expect(JSON.parse(fields.roi.value)[2]).to.deep.equal([0.5, 0.75]);
    box.querySelector('[data-action="undo"]').click();
    expect(JSON.parse(fields.roi.value)[2]).to.deep.equal([0.5, 0.9]);
    box.querySelector('[data-action="delete-point"]').click(); // the selected (last) point
    expect(JSON.parse(fields.roi.value)).to.have.length(2);
    box.querySelector('[data-action="delete-shape"]').click();
    expect(fields.roi.value).to.equal("");
    expect(box.querySelector("p").textContent).to.contain("Whole picture");
  });

  it("draws a named lane with its direction dragged from its centre; names stay text", () => {
    box.querySelector('[data-action="add-lane"]').click();
    const name = box.querySelector("ol input");
    expect(name.value).to.equal("Lane 1");
    expect(document.activeElement).to.equal(name);
    name.value = "<b>Hướng Hà Nội</b>";
    name.dispatchEvent(new Event("input"));
    click(0.2, 0.2);
    click(0.4, 0.2);
    click(0.4, 0.8);
    click(0.2, 0.8);
    let lanes = JSON.parse(fields.lanes.value);
    expect(lanes[0].polygon).to.deep.equal([[0.2, 0.2], [0.4, 0.2], [0.4, 0.8], [0.2, 0.8]]);
    expect(lanes[0].direction).to.deep.equal([0, 0]);
    expect(box.querySelector("p").textContent).to.contain("no direction");
    expect(fields.roi.value).to.equal(""); // the lane's points went to the lane
    expect(box.querySelector("svg b")).to.equal(null);
    expect(box.querySelector("svg .lane text").textContent).to.equal("<b>Hướng Hà Nội</b>");
    // drag the arrow's grip from the lane's centre downwards: traffic comes towards the camera
    press(0.3, 0.5, box.querySelector("[data-arrow] .grip"));
    moveTo(0.3, 0.7);
    release();
    lanes = JSON.parse(fields.lanes.value);
    expect(lanes[0].direction).to.deep.equal([0, 1]);
    expect(box.querySelector("p").textContent).not.to.contain("no direction");
    box.querySelector('[data-lane-action="reverse"]').click();
    expect(JSON.parse(fields.lanes.value)[0].direction).to.deep.equal([0, -1]);
    // the region of interest is chosen by its button; a press over the lane then adds to the region
    box.querySelector('[data-action="edit-roi"]').click();
    click(0.3, 0.3);
    expect(JSON.parse(fields.roi.value)).to.deep.equal([[0.3, 0.3]]);
    expect(JSON.parse(fields.lanes.value)[0].polygon).to.have.length(4);
    // and the lane, chosen again from its list, takes a point lying inside the region
    click(0.9, 0.1);
    click(0.9, 0.9);
    box.querySelector("ol li button").click();
    click(0.35, 0.85);
    expect(JSON.parse(fields.lanes.value)[0].polygon).to.have.length(5);
    expect(JSON.parse(fields.roi.value)).to.have.length(3);
  });

  it("works from the keyboard: add points, move them with the arrows, delete them", () => {
    const add = box.querySelector('[data-action="add-point"]');
    add.click();
    add.click();
    add.click();
    expect(JSON.parse(fields.roi.value)).to.deep.equal([[0.5, 0.5], [0.6, 0.5], [0.55, 0.5]]);
    const handle = box.querySelector('[data-point="2"]');
    expect(document.activeElement).to.equal(handle);
    handle.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", shiftKey: true, bubbles: true }));
    expect(JSON.parse(fields.roi.value)[2]).to.deep.equal([0.55, 0.52]);
    document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: "Delete", bubbles: true }));
    expect(JSON.parse(fields.roi.value)).to.have.length(2);
    document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: "z", ctrlKey: true, bubbles: true }));
    expect(JSON.parse(fields.roi.value)).to.have.length(3);
  });
});
