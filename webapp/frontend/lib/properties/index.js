// The properties panel for the engine's `spiffworkflow` extensions (shell: filled in by the panel's work).
export default { additionalModules: [], moddleExtensions: {} };
