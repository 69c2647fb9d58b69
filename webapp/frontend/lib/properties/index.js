// The properties panel for the engine's `spiffworkflow` extensions, for bpmn-js's Modeler:
//
//   import properties from "../lib/properties/index.js";
//   import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";   // in the page entry only
//   new BpmnModeler({
//     container, propertiesPanel: { parent: "#properties" },
//     iocProperties: { registryUrl: "/designer/api/registry", files: () => ({ "a.bpmn": xml, "b.dmn": xml }) },
//     additionalModules: [...properties.additionalModules], moddleExtensions: { ...properties.moddleExtensions },
//   });
//
// `iocProperties.registry` may give the registry's JSON instead of its URL; `files` lists the bundle being
// edited (its DMN decisions and processes are offered to business rule tasks and call activities).
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

export default {
  additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, IocPropertiesModule],
  moddleExtensions: { spiffworkflow },
};
