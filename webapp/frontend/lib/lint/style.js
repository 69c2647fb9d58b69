// The canvas checks' styles, adopted by the document once (a constructed style sheet: the pages' CSP allows
// no inline style, and the modeler page need not import a CSS file for them).
const CSS = `
.ioc-problems { position: absolute; left: 12px; bottom: 12px; max-width: 46%; max-height: 40%; overflow: auto;
  background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 10px; font: 13px/1.4 system-ui, sans-serif;
  box-shadow: 0 1px 4px rgba(0, 0, 0, .12); z-index: 10; }
.ioc-problems-title { margin: 0 0 4px; font-size: 13px; }
.ioc-problems-fold { border: 0; background: none; padding: 0; font: inherit; font-weight: bold; color: inherit;
  cursor: pointer; }
.ioc-problems-fold::after { content: " ▾"; }
.ioc-problems-folded .ioc-problems-fold::after { content: " ▸"; }
.ioc-problems-folded .ioc-problems-list, .ioc-problems-folded .ioc-problems-status { display: none; }
.ioc-problems-status { margin: 0; color: #555; }
.ioc-problems-list { list-style: none; margin: 0; padding: 0; }
.ioc-problem-go { display: block; width: 100%; text-align: left; border: 0; background: none; padding: 3px 0;
  cursor: pointer; font: inherit; color: inherit; }
.ioc-problem-go:hover, .ioc-problem-go:focus { background: #f3f4f6; }
.ioc-problem-where { display: block; font-size: 11px; color: #666; }
.ioc-problem-blocking .ioc-problem-message::before { content: "● "; color: #c62828; }
.ioc-problem-advice .ioc-problem-message::before { content: "● "; color: #e0a800; }
.ioc-check-marker { position: relative; min-width: 18px; height: 18px; border-radius: 9px; color: #fff;
  font: bold 11px/18px system-ui, sans-serif; text-align: center; padding: 0 4px; cursor: default; }
.ioc-check-blocking { background: #c62828; }
.ioc-check-advice { background: #e0a800; }
.ioc-check-tip { display: none; position: absolute; left: 0; top: 20px; width: 280px; background: #fff; color: #222;
  border: 1px solid #d0d7de; border-radius: 4px; padding: 6px 8px 6px 20px; text-align: left; font-weight: normal;
  z-index: 20; }
.ioc-check-marker:hover .ioc-check-tip { display: block; }
.djs-element.ioc-check-error .djs-visual > :first-child { stroke: #c62828 !important; }
`;

let adopted = false;

/** Add the checks' styles to the document (once). */
export function adoptStyles(doc = document) {
  if (adopted || !doc.adoptedStyleSheets || typeof CSSStyleSheet === "undefined") return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  adopted = true;
}
