// The drawing page of a camera (/cameras/<code>/regions): the region of interest and the lanes over the camera's
// live snapshot, saved by the page's form from two hidden fields (JSON, normalised coordinates). The words come
// from the page (a JSON block the server wrote in the reader's language). The snapshot is fetched, not linked,
// so that when the camera cannot be reached the page says why (the server's reason) and draws on the stored
// reference view, or on an empty frame, instead of a broken image.
import { parseDrawing } from "../lib/cameras/geometry.js";
import { RegionEditor } from "../lib/cameras/editor.js";

async function picture(stage, img, editor) {
  const problem = document.getElementById("snapshot-problem");
  const say = (words) => {
    problem.textContent = words;
    problem.hidden = !words;
  };
  stage.classList.add("loading");
  stage.dataset.state = "loading";
  let message = null;
  try {
    const response = await fetch(stage.dataset.snapshot, { credentials: "same-origin", cache: "no-store" });
    if (response.ok && (response.headers.get("Content-Type") || "").startsWith("image/")) {
      img.src = URL.createObjectURL(await response.blob());
      await img.decode();
      stage.dataset.state = "live";
    } else {
      const body = await response.json().catch(() => ({}));
      message = body.message || stage.dataset.failed;
    }
  } catch (e) {
    message = stage.dataset.failed;
  }
  if (message) {
    if (stage.dataset.reference) {
      img.src = stage.dataset.reference;
      try {
        await img.decode();
        say(`${message} ${stage.dataset.fallback}`);
        stage.dataset.state = "reference";
      } catch (e) {
        say(message);
      }
    } else {
      say(message);
    }
    if (stage.dataset.state === "loading") {
      img.removeAttribute("src");
      stage.classList.add("no-picture"); // an empty 16:9 frame: the drawing can still be read and changed
      stage.dataset.state = "none";
    }
  }
  stage.classList.remove("loading");
  // Only a live picture can become the reference view (the server takes a fresh one, but not from a dead camera).
  const reference = document.getElementById("reference-save");
  if (reference) reference.disabled = stage.dataset.state !== "live";
  editor.render();
}

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
    readOnly: stage.classList.contains("read-only"),
  });
  const drawing = parseDrawing(fields.roi.value, fields.lanes.value);
  editor.load(drawing.roi, drawing.lanes);
  if (drawing.problems.length) document.getElementById("region-unreadable").hidden = false;
  picture(stage, stage.querySelector("img"), editor).finally(() => {
    stage.dataset.ready = "true";
  });
}

start();
