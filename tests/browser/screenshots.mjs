// Screenshots of a built report for a person to look at: the overview and one partner page, at a
// phone's and a desktop's width, in light and dark mode, and the overview as printed (PDF).
//
// Usage: node tests/browser/screenshots.mjs PUBLIC_DIR OUT_DIR [PARTNER_ID]
// Needs playwright-core (npm) and Chromium at /usr/bin/chromium (or $CHROMIUM).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [site, outDir, partner] = process.argv.slice(2);
if (!site || !outDir) {
  console.error('usage: node tests/browser/screenshots.mjs PUBLIC_DIR OUT_DIR [PARTNER_ID]');
  process.exit(2);
}
const partnerId = partner
  || fs.readdirSync(path.join(site, 'partners')).sort()[0];
const pages = { overview: 'index.html', partner: `partners/${partnerId}/index.html` };
fs.mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
});
for (const [name, rel] of Object.entries(pages)) {
  for (const width of [375, 1280]) {
    for (const colorScheme of ['light', 'dark']) {
      const page = await browser.newPage({ colorScheme, viewport: { width, height: 900 } });
      await page.goto(pathToFileURL(path.resolve(site, rel)).href);
      const file = path.join(outDir, `${name}-${width}-${colorScheme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      // Anything wider than the viewport scrolls the whole page sideways on a phone.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      console.log(`${file}${overflow > 0 ? `  (page is ${overflow}px wider than the viewport)` : ''}`);
      await page.close();
    }
  }
}
const print = await browser.newPage({ viewport: { width: 794, height: 1123 } });
await print.goto(pathToFileURL(path.resolve(site, 'index.html')).href);
await print.pdf({ path: path.join(outDir, 'overview-print.pdf'), format: 'A4' });
console.log(path.join(outDir, 'overview-print.pdf'));
// The print stylesheet as a picture (A4 width at 96 dpi), for looking at without a PDF viewer.
await print.emulateMedia({ media: 'print' });
await print.screenshot({ path: path.join(outDir, 'overview-print.png'), fullPage: true });
console.log(path.join(outDir, 'overview-print.png'));
await browser.close();
