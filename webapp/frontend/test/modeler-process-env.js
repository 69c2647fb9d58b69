// dmn-js's renderer (inferno) reads process.env.NODE_ENV, which the page build (esbuild) defines and the
// test runner's browser does not have: imported first by the tests that load dmn-js.
globalThis.process = globalThis.process || { env: { NODE_ENV: "production" } };
