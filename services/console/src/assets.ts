import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** One static file of the console's pages, held in memory with its gzip form and a content hash. */
export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** The built pages: index.html, app.js (the chart library bundled in), app.css — by path under /assets/ (index.html at ""). */
export type Assets = ReadonlyMap<string, Asset>;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

export function assetsOf(files: ReadonlyMap<string, Buffer>): Assets {
  const assets = new Map<string, Asset>();
  for (const [name, body] of files) {
    assets.set(name, { type: TYPES[extname(name)] ?? "application/octet-stream", body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` });
  }
  return assets;
}

/** The directory `npm run build` writes the pages into: dist/public/ beside dist/main.js. */
export const BUILT_ASSETS_DIR = fileURLToPath(new URL("./public/", import.meta.url));

export function readAssetDir(dir: string): Map<string, Buffer> {
  if (!existsSync(join(dir, "index.html"))) throw new Error(`no console pages in ${dir}: run 'npm run build' (it bundles services/console/web)`);
  return new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));
}

/**
 * The pages for this process: read from dist/public/ when it runs from the build, bundled now (esbuild,
 * in memory, well under a second) when it runs from its TypeScript sources, so development and the
 * tests never serve a stale bundle. The bundler is a development tool: the built service never loads it.
 */
export async function loadAssets(): Promise<Assets> {
  if (!import.meta.url.endsWith(".ts")) return assetsOf(readAssetDir(BUILT_ASSETS_DIR));
  const bundler = new URL("../web/build.ts", import.meta.url).href;
  const { bundleWeb } = (await import(bundler)) as { bundleWeb: () => Promise<Map<string, Buffer>> };
  return assetsOf(await bundleWeb());
}
