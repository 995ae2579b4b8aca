// A real browser in lesson 15's chat: Debian's chromium, driven by
// playwright-core. Two pages join, one sends a line, both must show it —
// as text, not HTML — and a screenshot is saved.
//
//   node tests/browser/chat.mjs http://127.0.0.1:8000 target/browser-chat.png

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { launch } from "./launch.mjs";

const [base, screenshot = "target/browser-chat.png"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node chat.mjs http://127.0.0.1:PORT [screenshot.png]");
  process.exit(2);
}

const browser = await launch();
const { context } = browser;

try {
  const open = async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(base);
    await page.waitForSelector("body[data-state=open]"); // the WebSocket is open
    return page;
  };
  const ada = await open();
  const bob = await open();

  // A line with markup in it: it must show up as these characters, not as bold text.
  const line = `hello from chromium <b>not bold</b> ${Date.now()}`;
  await ada.fill("#input", line);
  await ada.press("#input", "Enter");

  for (const [name, page] of [["first page", ada], ["second page", bob]]) {
    const shown = page.locator("#log li", { hasText: line });
    await shown.waitFor();
    const text = await shown.textContent();
    if (!/^guest-\d+: /.test(text) || !text.endsWith(line)) {
      throw new Error(`${name} shows ${JSON.stringify(text)}`);
    }
    if ((await page.locator("#log b").count()) !== 0) {
      throw new Error(`${name} rendered the message as HTML`);
    }
  }
  // Bob sees Ada's join announcement too.
  await bob.locator("#log li", { hasText: "joined" }).first().waitFor();

  mkdirSync(dirname(screenshot), { recursive: true });
  await bob.screenshot({ path: screenshot, fullPage: true });
  console.log(`browser: two chromium pages joined, one sent, both show it; screenshot ${screenshot}`);
} finally {
  await browser.close();
}
