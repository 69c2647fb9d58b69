// The trend chart of an indicator (/monitoring/indicators/<code>): the page's Vega-Lite spec (a JSON block the
// server wrote, the same spec the leaders' PDF converts to SVG) drawn by vega-embed as SVG. The CSP forbids
// eval, so expressions run in vega's interpreter (ast: true + vega-interpreter), never `new Function`.
import embed from "vega-embed";
import { expressionInterpreter } from "vega-interpreter";

function draw() {
  const holder = document.getElementById("trend-chart");
  const source = document.getElementById("trend-spec");
  if (!holder || !source) {
    return;
  }
  const spec = JSON.parse(source.textContent);
  const lang = document.documentElement.lang || "vi";
  embed(holder, spec, {
    actions: false,
    defaultStyle: false, // vega-embed's own <style> element: the CSP refuses it (static/css/monitoring.css has ours)
    renderer: "svg",
    ast: true,
    expr: expressionInterpreter,
    tooltip: { theme: "light", disableDefaultStyle: true },
    i18n: lang.startsWith("vi") ? { CLICK_TO_VIEW_ACTIONS: "Bấm để xem thao tác" } : undefined,
  })
    .then(() => {
      holder.dataset.drawn = "true";
    })
    .catch((error) => {
      holder.dataset.drawn = "failed";
      const note = document.getElementById("trend-chart-error");
      if (note) {
        note.hidden = false;
      }
      console.error(error);
    });
}

draw();
