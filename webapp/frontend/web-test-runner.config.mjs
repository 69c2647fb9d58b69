// The modeler's JavaScript tests: Web Test Runner in Debian's headless chromium (never a downloaded browser).
import { chromeLauncher } from "@web/test-runner-chrome";
import { commonjsPackages } from "./test/commonjs-plugin.mjs";

export default {
  rootDir: ".",
  files: ["frontend/test/**/*.test.js"],
  nodeResolve: true,
  plugins: [commonjsPackages(["bpmnlint", "classnames", "css.escape", "escape-html"])],
  concurrency: 1,
  testFramework: { config: { timeout: 10000 } },
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"],
      },
    }),
  ],
};
