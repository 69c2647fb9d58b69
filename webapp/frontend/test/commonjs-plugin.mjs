// Web Test Runner serves ES modules only; bpmnlint (its Linter, rules and configs) is CommonJS. esbuild (the
// page build's bundler) turns each such file into an ES module with its exports named, for the tests alone:
// the pages' bundles are built by esbuild, which reads CommonJS itself.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as esbuild from "esbuild";

const require = createRequire(import.meta.url);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function commonjsPackages(packages, rootDir = process.cwd()) {
  const cache = new Map();
  return {
    name: "commonjs-packages",
    async serve(context) {
      const path = context.path;
      if (!packages.some((name) => path.startsWith(`/node_modules/${name}/`)) || !path.endsWith(".js")) return undefined;
      const file = join(rootDir, path);
      if (!cache.has(file)) {
        const exported = require(file);
        const names = exported && typeof exported === "object"
          ? Object.keys(exported).filter((key) => IDENTIFIER.test(key) && key !== "default") : [];
        const result = await esbuild.build({
          stdin: {
            contents: `import m from ${JSON.stringify(file)}; export default m;`
              + (names.length ? ` export const { ${names.join(", ")} } = m;` : ""),
            resolveDir: dirname(file),
          },
          bundle: true, format: "esm", write: false, logLevel: "silent",
        });
        cache.set(file, result.outputFiles[0].text);
      }
      return { body: cache.get(file), type: "js" };
    },
  };
}
