// A modal question built from DOM nodes (no HTML strings): a title, a list of lines, an optional note field
// and buttons. Resolves with {value, note}; Escape or Cancel gives the value of the first button.

/** A DOM element with a class and its text (never HTML). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function ask({ title, items = [], note = null, buttons }) {
  return new Promise((resolve) => {
    const dialog = el("dialog", "modeler-dialog");
    dialog.appendChild(el("h3", "", title));
    if (items.length) {
      const list = el("ul", "modeler-dialog-items");
      items.forEach((item) => list.appendChild(el("li", "", item)));
      dialog.appendChild(list);
    }
    let field = null;
    if (note !== null) {
      const label = el("label", "modeler-dialog-note", note);
      field = el("textarea");
      field.rows = 3;
      label.appendChild(field);
      dialog.appendChild(label);
    }
    const row = el("div", "actions");
    let answered = false;
    const finish = (value) => {
      if (answered) return;
      answered = true;
      const text = field ? field.value : "";
      dialog.close();
      dialog.remove();
      resolve({ value, note: text });
    };
    buttons.forEach((button, index) => {
      const node = el("button", index === 0 && buttons.length > 1 ? "secondary" : "", button.label);
      node.type = "button";
      node.dataset.value = button.value;
      node.addEventListener("click", () => finish(button.value));
      row.appendChild(node);
    });
    dialog.appendChild(row);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(buttons[0].value);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    (field || row.lastChild).focus();
  });
}
