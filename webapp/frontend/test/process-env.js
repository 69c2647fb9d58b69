// dmn-js's renderer (inferno) reads process.env.NODE_ENV, which the page build defines and the test server
// does not: import this first in a test that opens dmn-js.
globalThis.process = globalThis.process || { env: { NODE_ENV: "production" } };
