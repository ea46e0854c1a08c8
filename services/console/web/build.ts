/**
 * Bundles the console's pages: web/main.ts with ECharts (the parts the pages use) into one minified
 * app.js, with index.html and style.css beside it. The console bundles in memory when it runs from its
 * sources (src/assets.ts); `npm run build` writes the files into services/console/dist/public/:
 *   tsx --conditions=@clm/source services/console/web/build.ts [OUT_DIR]
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const WEB = fileURLToPath(new URL("./", import.meta.url));

export async function bundleWeb(): Promise<Map<string, Buffer>> {
  const result = await build({
    entryPoints: [join(WEB, "main.ts")],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    write: false,
    legalComments: "none",
    conditions: ["@clm/source"],
    logLevel: "silent",
  });
  const app = result.outputFiles[0]!;
  return new Map([
    ["index.html", readFileSync(join(WEB, "index.html"))],
    ["style.css", readFileSync(join(WEB, "style.css"))],
    ["app.js", Buffer.from(app.contents)],
  ]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const out = process.argv[2] ?? fileURLToPath(new URL("../dist/public/", import.meta.url));
  mkdirSync(out, { recursive: true });
  for (const [name, body] of await bundleWeb()) writeFileSync(join(out, name), body);
  console.log(`console pages written to ${out}`);
}
