// The drawing page of a camera (/cameras/<code>/regions): the region of interest and the lanes over the camera's
// live snapshot, saved by the page's form from two hidden fields (JSON, normalised coordinates). The words come
// from the page (a JSON block the server wrote in the reader's language).
import { parseDrawing } from "../lib/cameras/geometry.js";
import { RegionEditor } from "../lib/cameras/editor.js";

function start() {
  const stage = document.getElementById("region-stage");
  const words = document.getElementById("region-text");
  if (!stage || !words) return;
  const text = JSON.parse(words.textContent);
  const fields = { roi: document.getElementById("f-roi"), lanes: document.getElementById("f-lanes") };
  const editor = new RegionEditor({
    stage, fields, text,
    laneList: document.getElementById("lane-list"),
    status: document.getElementById("region-status"),
    toolbar: document.getElementById("region-tools"),
  });
  const drawing = parseDrawing(fields.roi.value, fields.lanes.value);
  editor.load(drawing.roi, drawing.lanes);
  if (drawing.problems.length) {
    const note = document.getElementById("region-unreadable");
    if (note) note.hidden = false;
  }
  // The picture sets the stage's size; draw again once it is known (and when the window changes it).
  const picture = stage.querySelector("img");
  if (picture && !picture.complete) picture.addEventListener("load", () => editor.render());
  stage.dataset.ready = "true";
}

start();
