// The properties panel for the engine's `spiffworkflow` extensions, for bpmn-js's Modeler:
//
//   import properties from "../lib/properties/index.js";
//   import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";   // in the page entry only
//   new BpmnModeler({
//     container, propertiesPanel: { parent: "#properties" },
//     iocProperties: { files: async () => ({ "a.bpmn": xml, "b.dmn": xml }) },
//     additionalModules: [...properties.additionalModules], moddleExtensions: { ...properties.moddleExtensions },
//   });
//
// The registry comes from GET /designer/api/registry (`iocProperties.registryUrl` for another URL, or
// `iocProperties.registry`: its JSON at hand). `files` (a function, sync or async) gives the bundle being
// edited: its DMN decisions and processes are offered to business rule tasks and call activities.
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import spiffworkflow from "./moddle.js";
import IocPropertiesProvider from "./provider.js";
import IocRegistry from "./registry.js";

const IocPropertiesModule = {
  __init__: ["iocPropertiesProvider"],
  iocPropertiesProvider: ["type", IocPropertiesProvider],
  iocRegistry: ["type", IocRegistry],
};

export { spiffworkflow, IocPropertiesModule };
// Vietnamese for bpmn-js-properties-panel's own words, for the modeler's translate module.
export { PANEL_VI } from "./i18n.js";

export default {
  additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, IocPropertiesModule],
  moddleExtensions: { spiffworkflow },
};
