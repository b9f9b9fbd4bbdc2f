// The verify/ page in headless Chromium (issue 22): every owner's receipt, as `sharelog receipt`
// prints it, verifies on the page; receipts with a number, an id, the salt, the leaf index or a
// sibling changed fail on the page and with `sharelog verify` alike; files the command line
// reads strictly (a count written 2.0, a duplicate key, an extra field, uppercase hex, ...) fail
// on the page too, and a receipt of batches without a tree is "nothing checked" in both. Exits 1
// on any mismatch.
//
// Usage: node tests/browser/verify.mjs SHARELOG SITE RECEIPTS_DIR [SITE RECEIPTS_DIR ...]
// Needs playwright-core (npm) and Chromium at /usr/bin/chromium (or $CHROMIUM).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [sharelog, ...pairs] = process.argv.slice(2);
if (!sharelog || pairs.length === 0 || pairs.length % 2 !== 0) {
  console.error('usage: node verify.mjs SHARELOG SITE RECEIPTS_DIR [SITE RECEIPTS_DIR ...]');
  process.exit(2);
}

// Every owner of a receipts folder, from its shards.
function owners(dir) {
  const out = new Set();
  for (const f of fs.readdirSync(path.join(dir, 'owners')).sort()) {
    for (const line of fs.readFileSync(path.join(dir, 'owners', f), 'utf8').split('\n')) {
      if (line) out.add(JSON.parse(line.split('\t')[0]));
    }
  }
  return [...out].sort();
}

function flipHex(s) {
  return s.slice(0, -1) + (s.endsWith('0') ? '1' : '0');
}

// The changes every receipt must fail with (on a committed entry with a path).
const changes = {
  'items': (e) => { e.record.items += 1; e.record.cells[0].items += 1; },
  'a flag': (e) => { e.record.cells[0].private = e.record.cells[0].private ? 0 : 1; },
  'the year': (e) => { e.record.cells[0].year -= 1; },
  'the owner': (e, r) => { r.owner += 'x'; e.record.owner += 'x'; },
  'the salt': (e) => { e.record.salt = flipHex(e.record.salt); },
  'opted out at the export': (e) => { e.record.opted_out_at_export = !e.record.opted_out_at_export; },
  'a sibling hash': (e) => { e.path[0].hash = flipHex(e.path[0].hash); },
  'a sibling sum': (e) => { e.path[0].sums[0] += 1; },
  'the leaf index': (e) => { e.leaf_index = e.leaf_index === 0 ? 1 : e.leaf_index - 1; },
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sharelog-verify-'));
let failures = 0;
let verified = 0;
let rejected = 0;
for (let i = 0; i < pairs.length; i += 2) {
  const [site, receipts] = [pairs[i], pairs[i + 1]];
  const page = await browser.newPage();
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:')) external.push(r.url()); });
  await page.goto(pathToFileURL(path.resolve(site, 'verify/index.html')).href);
  await page.waitForSelector('#verify-form:not([hidden])');
  let n = 0;
  // The page's verdict on a receipt's text: 'ok', 'failed', or what it showed otherwise.
  async function onPage(text, name) {
    n += 1;
    await page.evaluate(() => { document.getElementById('verify-result').textContent = ''; });
    await page.setInputFiles('#receipt-file', { name: `${name}-${n}.json`, mimeType: 'application/json', buffer: Buffer.from(text) });
    const p = await page.waitForSelector('#verify-result p');
    return ((await p.getAttribute('class')) || '').replace(/^verify-/, '');
  }
  // The page's verdicts on many receipts in one round trip: each is given to the file input as a
  // chosen file (a DataTransfer) and its change event, as a reader's choice would.
  async function onPageMany(texts) {
    return page.evaluate(async (all) => {
      const input = document.getElementById('receipt-file');
      const out = document.getElementById('verify-result');
      const verdicts = [];
      for (const text of all) {
        out.textContent = '';
        const dt = new DataTransfer();
        dt.items.add(new File([text], 'receipt.json', { type: 'application/json' }));
        input.files = dt.files;
        input.dispatchEvent(new Event('change'));
        for (let tries = 0; !out.querySelector('p') && tries < 2000; tries++) {
          await new Promise((r) => setTimeout(r, 1));
        }
        const p = out.querySelector('p');
        verdicts.push(p ? p.className.replace(/^verify-/, '') : 'nothing');
      }
      return verdicts;
    }, texts);
  }
  function onCli(text) {
    const file = path.join(tmp, 'receipt.json');
    fs.writeFileSync(file, text);
    return spawnSync(sharelog, ['verify', file, '--site', site]).status;
  }
  function onCliOut(text) {
    const file = path.join(tmp, 'receipt.json');
    fs.writeFileSync(file, text);
    const run = spawnSync(sharelog, ['verify', file, '--site', site], { encoding: 'utf8' });
    return { status: run.status, stdout: run.stdout };
  }
  const all = owners(receipts);
  // Every owner's receipt from `sharelog receipt`, 400 owners a run (one receipt a line).
  const printed = [];
  for (let k = 0; k < all.length; k += 400) {
    const chunk = all.slice(k, k + 400);
    const run = spawnSync(sharelog, ['receipt', '--receipts', receipts, ...chunk.flatMap((o) => ['--owner', o])],
      { encoding: 'utf8', maxBuffer: 1 << 30 });
    const lines = run.stdout.split('\n').filter((l) => l);
    if (run.status !== 0 || lines.length !== chunk.length) {
      console.error(`${site}: sharelog receipt exited ${run.status} with ${lines.length} of ${chunk.length} receipts: ${run.stderr}`);
      failures += 1;
    }
    printed.push(...lines);
  }
  // Every receipt on the page: the first ones chosen through Playwright's file chooser, the rest
  // in batches.
  const verdicts = [];
  for (const text of printed.slice(0, 3)) verdicts.push(await onPage(text, 'receipt'));
  for (let k = 3; k < printed.length; k += 500) {
    verdicts.push(...await onPageMany(printed.slice(k, k + 500)));
  }
  verdicts.forEach((v, k) => {
    if (v !== 'ok') {
      console.error(`${site}: the receipt of ${JSON.parse(printed[k]).owner} does not verify on the page (${v})`);
      failures += 1;
    } else {
      verified += 1;
    }
  });
  let tampered = 0;
  for (const text of printed) {
    const owner = JSON.parse(text).owner;
    const run = { stdout: text };
    // Tampered copies, for the first owners with a committed entry with a path.
    const receipt = JSON.parse(run.stdout);
    const at = receipt.exports.findIndex((e) => e.committed && (e.path || []).length > 0);
    if (at < 0 || tampered >= 5) continue;
    tampered += 1;
    for (const [what, change] of Object.entries(changes)) {
      const copy = JSON.parse(run.stdout);
      change(copy.exports[at], copy);
      const text = JSON.stringify(copy, null, 2);
      const [pageVerdict, cli] = [await onPage(text, 'changed'), onCli(text)];
      if (pageVerdict !== 'failed' || cli !== 1) {
        console.error(`${site}: ${owner}'s receipt with ${what} changed: page ${pageVerdict}, sharelog verify exit ${cli}`);
        failures += 1;
      } else {
        rejected += 1;
      }
    }
  }
  // The page reads a receipt file exactly as strictly as `sharelog verify` does.
  const base = printed.map((t) => JSON.parse(t)).find((r) => r.exports.some((e) => e.committed && (e.path || []).length > 0));
  if (base) {
    const good = JSON.stringify(base, null, 2);
    const at = base.exports.findIndex((e) => e.committed && (e.path || []).length > 0);
    const items = `"items": ${base.exports[at].record.items}`;
    const owner = `"owner": ${JSON.stringify(base.owner)}`;
    const hash = base.exports[at].path[0].hash;
    const salt = base.exports[at].record.salt;
    const edit = (f) => { const r = JSON.parse(good); f(r); return JSON.stringify(r, null, 2); };
    const variants = [
      ['a byte order mark', '\ufeff' + good, 'ok'],
      ['two byte order marks', '\ufeff\ufeff' + good, 'failed'],
      ['a count written 2.0', good.replace(items, items + '.0'), 'failed'],
      ['a count with an exponent', good.replace(items, items + 'e0'), 'failed'],
      ['a duplicate key', good.replace(owner, owner + ',\n  ' + owner), 'failed'],
      ['an extra field', good.replace('{', '{\n  "note": "x",'), 'failed'],
      ['an uppercase sibling hash', good.replace(hash, hash.toUpperCase()), 'failed'],
      ['an uppercase salt', good.replace(salt, salt.toUpperCase()), 'failed'],
      ['no opted_out_now', edit((r) => { delete r.exports[at].record.opted_out_now; }), 'failed'],
      ['a count above 2^53 - 1', good.replace(items, '"items": 9007199254740993'), 'failed'],
      ['committed as a string', edit((r) => { r.exports[at].committed = 'true'; }), 'failed'],
      ['a lone surrogate in the owner', good.split(JSON.stringify(base.owner)).join('"\\ud800"'), 'failed'],
    ];
    const commitments = JSON.parse(fs.readFileSync(path.join(site, 'data/commitments.json'), 'utf8'));
    const bare = commitments.exports.find((c) => !c.committed);
    const only = (extra) => edit((r) => {
      const e = r.exports[at];
      const entry = Object.assign({ export: bare.export, committed: false, record: Object.assign(e.record, {
        export: bare.export, partner: bare.partner, exported_at: bare.exported_at }) }, extra);
      r.exports = [entry];
    });
    if (bare && bare.reason === 'no-listing') {
      // Declared counts hold no owner's records: an entry for such a batch is a forgery.
      variants.push(['an entry for a batch of declared counts', only({}), 'failed']);
    }
    for (const [what, text, want] of variants) {
      if (text === good && want !== 'ok') {
        console.error(`${site}: the variant "${what}" changes nothing`);
        failures += 1;
        continue;
      }
      const pageVerdict = await onPage(text, 'variant');
      const cli = onCliOut(text);
      const cliVerdict = cli.status === 0 ? 'ok' : cli.stdout.startsWith('nothing checked') ? 'unchecked' : 'failed';
      if (pageVerdict !== want || cliVerdict !== want || (want !== 'ok' && cli.status !== 1)) {
        console.error(`${site}: a receipt with ${what}: page ${pageVerdict}, sharelog verify ${cliVerdict} (exit ${cli.status}); expected ${want}`);
        failures += 1;
      } else {
        rejected += want === 'ok' ? 0 : 1;
      }
    }
  }
  // A batch without a tree because its totals are hidden (here: the site's batch of declared
  // counts relabelled "hidden" in a copy): a receipt of it alone is "nothing checked" in both;
  // with a tree field it fails in both.
  if (base) {
    const commitments = JSON.parse(fs.readFileSync(path.join(site, 'data/commitments.json'), 'utf8'));
    const bare = commitments.exports.find((c) => !c.committed);
    if (bare) {
      const copy = path.join(tmp, `hidden-${i}`);
      fs.cpSync(site, copy, { recursive: true });
      for (const f of ['data/commitments.json', 'verify/index.html']) {
        const file = path.join(copy, f);
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/"reason":\s*"no-listing"/g, '"reason":"hidden"'));
      }
      const hiddenPage = await browser.newPage();
      await hiddenPage.goto(pathToFileURL(path.join(copy, 'verify/index.html')).href);
      await hiddenPage.waitForSelector('#verify-form:not([hidden])');
      const at = base.exports.findIndex((e) => e.committed && (e.path || []).length > 0);
      const make = (extra) => {
        const r = JSON.parse(JSON.stringify(base));
        const e = r.exports[at];
        r.exports = [Object.assign({ export: bare.export, committed: false, record: Object.assign(e.record, {
          export: bare.export, partner: bare.partner, exported_at: bare.exported_at }) }, extra)];
        return JSON.stringify(r, null, 2);
      };
      for (const [what, text, want] of [
        ['only a batch with hidden totals', make({}), 'unchecked'],
        ['a tree size on an entry without a tree', make({ tree_size: 5 }), 'failed'],
      ]) {
        await hiddenPage.evaluate(() => { document.getElementById('verify-result').textContent = ''; });
        await hiddenPage.setInputFiles('#receipt-file', { name: 'hidden.json', mimeType: 'application/json', buffer: Buffer.from(text) });
        const p = await hiddenPage.waitForSelector('#verify-result p');
        const pageVerdict = ((await p.getAttribute('class')) || '').replace(/^verify-/, '');
        const file = path.join(tmp, 'hidden.json');
        fs.writeFileSync(file, text);
        const cli = spawnSync(sharelog, ['verify', file, '--site', copy], { encoding: 'utf8' });
        const cliVerdict = cli.status === 0 ? 'ok' : cli.stdout.startsWith('nothing checked') ? 'unchecked' : 'failed';
        if (pageVerdict !== want || cliVerdict !== want) {
          console.error(`${site}: ${what}: page ${pageVerdict}, sharelog verify ${cliVerdict}; expected ${want}`);
          failures += 1;
        } else {
          rejected += 1;
        }
      }
      await hiddenPage.close();
    }
  }
  if (all.length === 0 || tampered === 0) {
    console.error(`${site}: no receipts to check`);
    failures += 1;
  }
  if (external.length) {
    console.error(`${site}: the verify page requested ${external.join(', ')}`);
    failures += 1;
  }
  await page.close();
}
await browser.close();
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`verify page: ${verified} receipts verified, ${rejected} changed receipts rejected (page and CLI), ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
