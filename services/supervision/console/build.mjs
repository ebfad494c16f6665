// Build the console into dist/: src/main.js bundled and minified (ECharts included, only the parts
// imported) as console.js, with index.html and style.css beside it. Prints what it wrote.
// Usage: npm ci && npm run build (from this folder, or with --prefix).

import { build } from "esbuild";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

await build({
  entryPoints: [join(here, "src/main.js")],
  outfile: join(dist, "console.js"),
  bundle: true,
  minify: true,
  format: "esm", // loaded as <script type="module">; keeps import.meta.url (the console's base)
  target: "es2021", // ??= / ||= and friends; any browser of the last few years
  legalComments: "eof", // ECharts is Apache-2.0: keep its notices
  logLevel: "warning",
});
await copyFile(join(here, "index.html"), join(dist, "index.html"));
await copyFile(join(here, "style.css"), join(dist, "style.css"));

let raw = 0;
let gzip = 0;
for (const name of ["index.html", "style.css", "console.js"]) {
  const bytes = await readFile(join(dist, name));
  const zipped = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gzip += zipped;
  console.log(`dist/${name.padEnd(12)} ${kb(bytes.length).padStart(10)}  gzip ${kb(zipped).padStart(10)}`);
}
console.log(`${"total".padEnd(17)} ${kb(raw).padStart(10)}  gzip ${kb(gzip).padStart(10)}`);

function kb(n) {
  return `${(n / 1024).toFixed(1)} KiB`;
}
