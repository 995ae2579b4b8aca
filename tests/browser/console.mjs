// A real browser on lesson 20's console: Debian's chromium, driven by
// playwright-core, watches the chat server while Python clients connect.
// The page must name the chat's tasks, and the deliberately blocking task
// (the server runs with --block-ms) must show up as slow within 5 s.
//
//   node tests/browser/console.mjs http://127.0.0.1:CONSOLE_PORT/ target/browser-console.png
//
// The Python clients are started by the caller (.ci/console.sh) and signal
// that they are connected by creating the file named in $CLIENTS_READY.

import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { launch } from "./launch.mjs";

const [url, screenshot = "target/browser-console.png"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node console.mjs http://127.0.0.1:PORT/ [screenshot.png]");
  process.exit(2);
}

const browser = await launch();
const { context } = browser;

try {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  await page.waitForSelector("body[data-state=open]"); // the feed is open

  // The clients are connected (the caller says so): their tasks are listed by name.
  const ready = process.env.CLIENTS_READY;
  for (let i = 0; ready && !existsSync(ready); i++) {
    if (i > 300) throw new Error("the Python clients never said they were connected");
    await page.waitForTimeout(100);
  }
  await page.waitForFunction(() =>
    document.querySelectorAll('#tasks tr[data-name="connection"]').length >= 5);
  const names = await page.$$eval("#tasks tr.task:not(.done)", (rows) => rows.map((r) => r.dataset.name));
  for (const expected of ["main", "connection", "blocker"]) {
    if (!names.includes(expected)) throw new Error(`the console does not list ${expected}: ${names}`);
  }

  // The blocking task shows up as slow within 5 s: its row lights up, and it
  // heads the list of slow polls.
  const started = Date.now();
  await page.waitForSelector('#tasks tr.slow[data-name="blocker"]', { timeout: 5_000 });
  await page.waitForSelector('#slow li[data-name="blocker"]', { timeout: 5_000 });
  const took = Date.now() - started;

  // Pause, click the blocker: its history shows its polls, the slow ones marked.
  await page.click("#pause");
  await page.click('#tasks tr[data-name="blocker"]');
  const history = await page.textContent("#history");
  if (!/poll .*SLOW/.test(history)) throw new Error(`no slow poll in the history: ${history}`);

  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`browser: the console lists ${names.length} tasks by name; the blocker was shown slow ` +
    `${took} ms after the clients connected; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
