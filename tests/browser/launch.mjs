// One headless chromium for the browser tests: Debian's chromium (or
// $CHROMIUM), driven by playwright-core, with a throwaway profile.
//
//   const browser = await launch();
//   try { const page = await browser.context.newPage(); ... }
//   finally { await browser.close(); }

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), "evloop-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout: 60_000,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
