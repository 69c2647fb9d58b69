// The leaders' figures page (/leaders/): every chart of the report drawn by vega-embed from the Vega-Lite spec
// the server wrote in a JSON block — the very spec the PDF converts to SVG, so screen and paper agree.
// The CSP forbids eval: expressions run in vega's interpreter (ast: true + vega-interpreter). Nothing here
// builds HTML from data; a chart that fails shows its translated note (the table beside it has the figures).
import embed from "vega-embed";
import { expressionInterpreter } from "vega-interpreter";

function drawAll() {
  const lang = (document.documentElement.lang || "vi").startsWith("en") ? "en" : "vi";
  document.querySelectorAll(".report-chart .chart[data-spec]").forEach((holder) => {
    const source = document.getElementById(holder.dataset.spec);
    if (!source) {
      return;
    }
    const spec = JSON.parse(source.textContent);
    embed(holder, spec, {
      actions: false,
      defaultStyle: false, // vega-embed's own <style> element: the CSP refuses it (css/leaders.css has ours)
      renderer: "svg",
      ast: true,
      expr: expressionInterpreter,
      tooltip: { theme: "light", disableDefaultStyle: true },
      i18n: lang === "vi" ? { CLICK_TO_VIEW_ACTIONS: "Bấm để xem thao tác" } : undefined,
    })
      .then(() => {
        holder.dataset.drawn = "true";
      })
      .catch((error) => {
        holder.dataset.drawn = "failed";
        const note = holder.parentElement.querySelector(".chart-error");
        if (note) {
          note.hidden = false;
        }
        console.error(error);
      });
  });
}

drawAll();
