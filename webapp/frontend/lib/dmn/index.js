// dmn-js configured for the engine. The engine evaluates decision-table cells as Python (an input entry is
// compared with == unless it starts with an operator; `?` stands for the input), while dmn-js's simple-mode
// editors (Ctrl/Cmd-click on a cell, or its "simple mode" button) write FEEL: `[1..10]`, `not("a")`,
// `"a","b"`. Those editors are turned off here rather than translated on save: a translation behind the
// designer's back would show them a cell that is not what they wrote, and every new edit through the editors
// would write FEEL again. Cells are typed as text; what still arrives in FEEL (a file from another modeler)
// is refused by the server's check (engine/dmn_cells.py) with the Python to write instead, e.g.
// "rule 2 (r2), column 'Amount': [1..10] is FEEL …; write 1 <= ? <= 10", listed beside the canvas.

/** A decision table's simple mode that offers no editor: no button, no Ctrl/Cmd-click pop-up. */
export const noSimpleModeModule = {
  simpleMode: ["value", {
    registerProvider() {},
    canSimpleEdit() {
      return false;
    },
  }],
};

/** Options to spread into `new DmnModeler({container, ...dmnOptions})`. */
export const dmnOptions = {
  decisionTable: { additionalModules: [noSimpleModeModule] },
};
