import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Debian's Chromium (scripts/ensure-chromium.sh installs it); no test tool downloads a browser of its own. */
export const CHROMIUM = process.env.CLM_CHROMIUM ?? "/usr/bin/chromium";

/**
 * The flags every run of Chromium here gets: headless, no sandbox (root in CI), and nothing that reaches
 * out of the machine (no background networking, component updates, sync or QUIC), so a closed network
 * costs no time and no errors.
 */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] as const;

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Debian Chromium through playwright-core, with a fresh profile (--user-data-dir) removed on close. */
export async function launchChromium(viewport = { width: 1400, height: 900 }): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run 'bash scripts/ensure-chromium.sh' (apt-get install chromium, as root)`);
  const profile = mkdtempSync(join(tmpdir(), "clm-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS], viewport });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
