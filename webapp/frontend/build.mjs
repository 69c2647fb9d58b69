// The front-end build: every webapp/frontend/pages/<name>.js becomes webapp/static/build/<name>.js
// (and <name>.css when the page imports CSS). Pages that need no bundle keep their plain static/js files.
// Usage: node frontend/build.mjs [--watch]
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const pages = readdirSync(join(here, "pages")).filter((name) => name.endsWith(".js"));

const options = {
  entryPoints: pages.map((name) => join(here, "pages", name)),
  outdir: join(here, "..", "static", "build"),
  bundle: true,
  format: "iife",
  target: ["chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  // bpmn-js and dmn-js fonts are loaded by their CSS; they are copied beside the bundle.
  loader: { ".woff": "file", ".woff2": "file", ".ttf": "file", ".eot": "file", ".svg": "file" },
  logLevel: "warning",
};

if (process.argv.includes("--watch")) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log(`watching ${pages.length} page(s)`);
} else {
  const started = Date.now();
  await esbuild.build(options);
  console.log(`built ${pages.length} page(s) into static/build in ${Date.now() - started} ms`);
}
