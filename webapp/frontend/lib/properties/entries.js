// Generic entries of the panel: a text, a text area, a select and a pair of move buttons, each given the
// functions that read and write its value. Components are built with preact's `h` (no JSX in the build).
import {
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
  isSelectEntryEdited,
  isTextAreaEntryEdited,
  isTextFieldEntryEdited,
} from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import { useEffect, useState } from "@bpmn-io/properties-panel/preact/hooks";
import { useService } from "bpmn-js-properties-panel";

function Text(props) {
  const debounce = useService("debounceInput");
  const { element, id, label, description, get, set, validate, area, monospace, rows } = props;
  const common = {
    element, id, label, description, debounce, validate,
    getValue: () => get() || "",
    setValue: (value) => set((value || "").trim() === "" ? "" : value),
  };
  return area ? TextAreaEntry({ ...common, rows: rows || 3, monospace, autoResize: true }) : TextFieldEntry(common);
}

function Select(props) {
  const { element, id, label, description, get, set, options, validate, refresh } = props;
  // `refresh`: options that are read asynchronously (the bundle's files); drawn again once they are in.
  const [, setTick] = useState(0);
  useEffect(() => {
    let live = Boolean(refresh);
    if (refresh) refresh().then((changed) => live && changed && setTick((tick) => tick + 1));
    return () => { live = false; };
  }, [element]);
  return SelectEntry({
    element, id, label, description, validate,
    getValue: () => get() || "",
    setValue: (value) => set(value),
    getOptions: () => options(),
  });
}

function Move(props) {
  const { id, up, down, upLabel, downLabel } = props;
  const button = (label, onClick, name) => h("button", {
    type: "button", class: `ioc-move-button ioc-move-${name}`, onClick, disabled: !onClick,
  }, label);
  return h("div", { class: "bio-properties-panel-entry ioc-move", "data-entry-id": id },
    button(upLabel, up, "up"), button(downLabel, down, "down"));
}

/** A text entry: {id, label, description?, get, set, validate?}. */
export const textEntry = (spec) => ({ component: Text, isEdited: isTextFieldEntryEdited, ...spec });
/** A multi-line entry (scripts, instructions). */
export const areaEntry = (spec) => ({ component: Text, area: true, isEdited: isTextAreaEntryEdited, ...spec });
/** A select entry: {id, label, get, set, options: () => [{value, label}], refresh?: () => Promise<changed>}. */
export const selectEntry = (spec) => ({ component: Select, isEdited: isSelectEntryEdited, ...spec });
/** Move up / down buttons: {id, up?, down?, upLabel, downLabel}. */
export const moveEntry = (spec) => ({ component: Move, ...spec });
