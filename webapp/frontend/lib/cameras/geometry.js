// The geometry of a camera's drawing: the region of interest and the lanes, in normalised image coordinates
// (x and y in 0..1 of the picture, so a drawing made on a snapshot of any size fits the analysed frame of any
// size; vision/config.py reads the same JSON). A lane's direction is a unit vector in picture pixels (x right,
// y down): "towards the top right" must look so on the picture whatever its aspect.
// Pure functions only: the editor (editor.js) keeps its state in these shapes and the tests check them here.

export const DECIMALS = 4; // 0.1 ‰ of the picture: finer than a pixel of a 4K frame's width / 2.5
export const MIN_POINTS = 3;

export function clamp01(value) {
  if (!Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}

export function round(value, decimals = DECIMALS) {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor + 0; // + 0: never -0 in the JSON
}

// A point of the picture from a pointer's position over a box (the overlay's getBoundingClientRect()).
export function toNormalised(clientX, clientY, rect) {
  if (!rect || rect.width <= 0 || rect.height <= 0) return [0, 0];
  return [round(clamp01((clientX - rect.left) / rect.width)), round(clamp01((clientY - rect.top) / rect.height))];
}

export function toPixels(point, width, height) {
  return [point[0] * width, point[1] * height];
}

// The unit vector from `from` to `to` (normalised points) as it looks on a width × height picture; null when
// the two are (nearly) the same place, so a tap does not set a direction.
export function directionBetween(from, to, width, height) {
  const dx = (to[0] - from[0]) * width;
  const dy = (to[1] - from[1]) * height;
  const length = Math.hypot(dx, dy);
  if (length < 1e-6 || !Number.isFinite(length)) return null;
  return [round(dx / length), round(dy / length)];
}

export function rotate(direction, degrees) {
  const a = (degrees * Math.PI) / 180;
  const [x, y] = direction;
  const rx = x * Math.cos(a) - y * Math.sin(a);
  const ry = x * Math.sin(a) + y * Math.cos(a);
  const length = Math.hypot(rx, ry) || 1;
  return [round(rx / length), round(ry / length)];
}

// The centre of a polygon's area (its vertices' mean when the area is nil): where a lane's name and arrow go.
export function centroid(points) {
  if (!points.length) return [0.5, 0.5];
  let area = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < points.length; i += 1) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    const cross = x0 * y1 - x1 * y0;
    area += cross;
    cx += (x0 + x1) * cross;
    cy += (y0 + y1) * cross;
  }
  if (Math.abs(area) < 1e-9) {
    const sum = points.reduce((s, p) => [s[0] + p[0], s[1] + p[1]], [0, 0]);
    return [sum[0] / points.length, sum[1] / points.length];
  }
  return [cx / (3 * area), cy / (3 * area)];
}

// Where a point added by keyboard goes: halfway along the edge after `index` (the last point's edge closes the
// polygon), or the picture's centre for an empty shape, or a little right of a lone point.
export function pointAfter(points, index) {
  if (!points.length) return [0.5, 0.5];
  if (points.length === 1) return [round(clamp01(points[0][0] + 0.1)), points[0][1]];
  const i = index == null || index < 0 || index >= points.length ? points.length - 1 : index;
  const a = points[i];
  const b = points[(i + 1) % points.length];
  return [round((a[0] + b[0]) / 2), round((a[1] + b[1]) / 2)];
}

export function movePoint(point, dx, dy) {
  return [round(clamp01(point[0] + dx)), round(clamp01(point[1] + dy))];
}

function isPair(value) {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v));
}

function cleanPoints(value) {
  if (!Array.isArray(value)) return [];
  return value.filter(isPair).map(([x, y]) => [round(clamp01(x)), round(clamp01(y))]);
}

// The hidden fields' JSON as the editor's state. What cannot be read is dropped, and said: `problems` lists
// "roi" and/or "lanes" when a field held something other than the shapes (the page then warns before saving).
export function parseDrawing(roiText, lanesText) {
  const problems = [];
  let roi = [];
  let lanes = [];
  const roiRaw = (roiText || "").trim();
  if (roiRaw && roiRaw !== "null") {
    try {
      const value = JSON.parse(roiRaw);
      if (value !== null) {
        roi = cleanPoints(value);
        if (!Array.isArray(value) || roi.length !== value.length) problems.push("roi");
      }
    } catch (e) {
      problems.push("roi");
    }
  }
  const lanesRaw = (lanesText || "").trim();
  if (lanesRaw) {
    try {
      const value = JSON.parse(lanesRaw);
      if (!Array.isArray(value)) throw new Error("not a list");
      for (const lane of value) {
        if (!lane || typeof lane !== "object" || Array.isArray(lane)) {
          problems.push("lanes");
          continue;
        }
        const polygon = cleanPoints(lane.polygon);
        const direction = isPair(lane.direction) && Math.hypot(...lane.direction) > 1e-6
          ? lane.direction.map((v) => round(v)) : [0, 0];
        lanes.push({ name: typeof lane.name === "string" ? lane.name : "", polygon, direction });
      }
    } catch (e) {
      problems.push("lanes");
      lanes = [];
    }
  }
  return { roi, lanes, problems: [...new Set(problems)] };
}

// The state as the hidden fields' JSON: "" for no region of interest (the whole picture), a list of lanes.
export function serialiseRoi(roi) {
  return roi && roi.length ? JSON.stringify(roi.map(([x, y]) => [round(x), round(y)])) : "";
}

export function serialiseLanes(lanes) {
  return JSON.stringify(lanes.map((lane) => ({
    name: lane.name.trim(),
    polygon: lane.polygon.map(([x, y]) => [round(x), round(y)]),
    direction: lane.direction.map((v) => round(v)),
  })));
}

// What the server would refuse, as keys the page turns into its language's words (the server checks again).
export function problemsOf(roi, lanes) {
  const found = [];
  if (roi.length && roi.length < MIN_POINTS) found.push({ shape: "roi", key: "few_points" });
  const names = new Set();
  lanes.forEach((lane, index) => {
    if (lane.polygon.length < MIN_POINTS) found.push({ shape: "lane", index, key: "few_points" });
    const name = lane.name.trim();
    if (!name) found.push({ shape: "lane", index, key: "no_name" });
    else if (names.has(name.toLowerCase())) found.push({ shape: "lane", index, key: "same_name" });
    names.add(name.toLowerCase());
    if (!(Math.hypot(...lane.direction) > 1e-6)) found.push({ shape: "lane", index, key: "no_direction" });
  });
  return found;
}

// A name no lane has yet: "<base> 1", "<base> 2"…
export function nextLaneName(lanes, base) {
  const taken = new Set(lanes.map((l) => l.name.trim().toLowerCase()));
  for (let n = 1; ; n += 1) {
    const name = `${base} ${n}`;
    if (!taken.has(name.toLowerCase())) return name;
  }
}
