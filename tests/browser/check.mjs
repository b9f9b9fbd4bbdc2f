// Opens every page of a built report in headless Chromium and runs axe-core on it, in light and
// dark mode, at the WCAG 2.0/2.1/2.2 A and AA levels, and checks that no page is wider than a
// 375-pixel phone screen (tables scroll inside their own box). Prints each violation; exits 1 if any.
//
// Usage: node tests/browser/check.mjs PUBLIC_DIR [PUBLIC_DIR...]
// Needs playwright-core and axe-core (npm) and Chromium at /usr/bin/chromium (or $CHROMIUM).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
// axe's best-practice rules for what the issue asks beyond the WCAG tags: one h1, headings in
// order, one main landmark, all content in landmarks, a working skip link.
const structure = ['page-has-heading-one', 'heading-order', 'landmark-one-main', 'region', 'skip-link'];

// Earlier releases (releases/<date>/data/) are archives: the bytes that release published, pages
// included, checked when it was built; their links to the rest of that site no longer resolve.
const archive = /(^|\/)releases\/\d{4}-\d{2}-\d{2}$/;

function pages(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return archive.test(p) ? [] : pages(p);
    return e.name.endsWith('.html') ? [p] : [];
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let violations = 0;
let checked = 0;
for (const site of process.argv.slice(2)) {
  for (const file of pages(site).sort()) {
    for (const colorScheme of ['light', 'dark']) {
      // Light mode on a phone's width, dark mode on a desktop's.
      const width = colorScheme === 'light' ? 375 : 1280;
      const page = await browser.newPage({ colorScheme, viewport: { width, height: 800 } });
      // No request may leave the site: anything but file: URLs is a failure.
      const external = [];
      page.on('request', (r) => { if (!r.url().startsWith('file:')) external.push(r.url()); });
      await page.goto(pathToFileURL(path.resolve(file)).href);
      await page.addScriptTag({ path: axePath });
      const result = await page.evaluate(async ([t, r]) => {
        const byTag = await globalThis.axe.run(document, { runOnly: { type: 'tag', values: t } });
        const byRule = await globalThis.axe.run(document, { runOnly: { type: 'rule', values: r } });
        return { violations: byTag.violations.concat(byRule.violations) };
      }, [tags, structure]);
      checked += 1;
      const rel = path.relative(site, file);
      for (const v of result.violations) {
        violations += 1;
        console.log(`${site}/${rel} (${colorScheme}): ${v.id} [${v.impact}] ${v.help}`);
        for (const n of v.nodes.slice(0, 3)) console.log(`    ${n.target.join(' ')}: ${n.failureSummary.split('\n').slice(1).join(' ')}`);
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (overflow > 0) {
        violations += 1;
        console.log(`${site}/${rel} (${width}px): the page is ${overflow}px wider than the screen`);
      }
      for (const url of external) {
        violations += 1;
        console.log(`${site}/${rel}: a request leaves the site: ${url}`);
      }
      await page.close();
    }
  }
}
await browser.close();
console.log(`axe: ${checked} page views, ${violations} violation(s)`);
process.exit(violations ? 1 : 0);
