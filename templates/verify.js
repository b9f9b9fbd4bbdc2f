// sharelog's receipt check in the browser: the same checks as `sharelog verify` (see
// docs/receipts.md), with WebCrypto's SHA-256. The receipt is read from the chosen file and never
// leaves the page; results are written as text, never as HTML.
(function () {
  'use strict';
  var form = document.getElementById('verify-form');
  var input = document.getElementById('receipt-file');
  var out = document.getElementById('verify-result');
  var commitments = JSON.parse(document.getElementById('commitments').textContent);
  var msg = JSON.parse(document.getElementById('verify-messages').textContent);
  var HASH = 32;

  function fill(s, values) {
    return s.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
    });
  }

  // state: 'ok' (verified), 'unchecked' (nothing to check against) or 'failed'; `unchecked`:
  // the lines of batches without a tree, shown apart under their own heading.
  function show(state, lines, unchecked, fileName) {
    out.textContent = '';
    var p = document.createElement('p');
    var strong = document.createElement('strong');
    strong.textContent = state === 'ok' ? msg.js_verified : state === 'unchecked' ? msg.js_unchecked : msg.js_failed;
    p.appendChild(strong);
    p.className = 'verify-' + state;
    out.appendChild(p);
    if (fileName) {
      var f = document.createElement('p');
      f.textContent = fill(msg.js_file, { file: fileName });
      out.appendChild(f);
    }
    function list(items) {
      var ul = document.createElement('ul');
      items.forEach(function (l) {
        var li = document.createElement('li');
        li.textContent = l;
        ul.appendChild(li);
      });
      out.appendChild(ul);
    }
    if (lines.length) list(lines);
    if (unchecked && unchecked.length) {
      var h = document.createElement('p');
      h.textContent = msg.js_unchecked_heading;
      out.appendChild(h);
      list(unchecked);
    }
  }

  if (!window.crypto || !window.crypto.subtle) {
    out.textContent = msg.js_no_crypto;
    return;
  }
  form.hidden = false;

  // A strict JSON reader, so that the page accepts exactly what `sharelog verify` accepts: no
  // duplicate keys, numbers only as integers (digits, a minus sign at most) of at most 2^53 - 1,
  // strings without lone surrogates. Throws on anything else.
  var MAX = 9007199254740991;
  function strictParse(text) {
    var at = 0;
    var ws = /[ \t\n\r]*/y;
    var str = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
    var num = /-?(?:0|[1-9][0-9]*)(?![0-9.eE])/y;
    var lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;
    function skip() { ws.lastIndex = at; ws.exec(text); at = ws.lastIndex; }
    function fail() { throw new Error('not strict JSON at ' + at); }
    function token(re) {
      re.lastIndex = at;
      var m = re.exec(text);
      if (!m) fail();
      at = re.lastIndex;
      return m[0];
    }
    function value() {
      skip();
      var c = text[at];
      if (c === '{') {
        at++;
        var obj = Object.create(null);
        skip();
        if (text[at] === '}') { at++; return obj; }
        for (;;) {
          skip();
          var k = JSON.parse(token(str));
          if (lone.test(k) || Object.prototype.hasOwnProperty.call(obj, k)) fail();
          skip();
          if (text[at++] !== ':') fail();
          obj[k] = value();
          skip();
          c = text[at++];
          if (c === '}') return obj;
          if (c !== ',') fail();
        }
      }
      if (c === '[') {
        at++;
        var arr = [];
        skip();
        if (text[at] === ']') { at++; return arr; }
        for (;;) {
          arr.push(value());
          skip();
          c = text[at++];
          if (c === ']') return arr;
          if (c !== ',') fail();
        }
      }
      if (c === '"') {
        var s = JSON.parse(token(str));
        if (lone.test(s)) fail();
        return s;
      }
      if (text.startsWith('true', at)) { at += 4; return true; }
      if (text.startsWith('false', at)) { at += 5; return false; }
      if (text.startsWith('null', at)) { at += 4; return null; }
      var t = token(num);
      if (t === '-0') fail();
      var n = Number(t);
      if (!Number.isSafeInteger(n)) fail();
      return n;
    }
    var v = value();
    skip();
    if (at !== text.length) fail();
    return v;
  }

  // Whether `o` is an object with exactly the keys `required`, and perhaps some of `optional`.
  function shape(o, required, optional) {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return false;
    var keys = Object.keys(o);
    return required.every(function (k) { return keys.indexOf(k) >= 0; }) &&
      keys.every(function (k) { return required.indexOf(k) >= 0 || (optional || []).indexOf(k) >= 0; });
  }
  function isStr(s) { return typeof s === 'string'; }
  function isMark(b) { return b === null || typeof b === 'boolean'; }
  function isYear(y) { return Number.isSafeInteger(y) && y >= -2147483648 && y <= 2147483647; }
  var CELL = ['category', 'deleted', 'explicit', 'items', 'minor', 'private', 'suspended', 'year'];
  var FLAGS = ['private', 'deleted', 'suspended', 'explicit', 'minor'];
  var RECORD = ['cells', 'export', 'exported_at', 'items', 'opted_out_at_export', 'opted_out_now', 'owner', 'partner', 'salt'];

  // Every field of the receipt has the type `sharelog verify` reads it as (else: not a receipt).
  function wellTyped(receipt) {
    if (!shape(receipt, ['receipt', 'owner', 'report', 'exports']) || !isStr(receipt.receipt) ||
        !isStr(receipt.owner) || !shape(receipt.report, ['title', 'published']) ||
        !isStr(receipt.report.title) || !isStr(receipt.report.published) || !Array.isArray(receipt.exports)) {
      return false;
    }
    return receipt.exports.every(function (e) {
      if (!shape(e, ['export', 'committed', 'record'], ['leaf_index', 'tree_size', 'sums', 'path']) ||
          !isStr(e.export) || typeof e.committed !== 'boolean' ||
          !(e.leaf_index === undefined || e.leaf_index === null || isCount(e.leaf_index)) ||
          !(e.tree_size === undefined || e.tree_size === null || isCount(e.tree_size)) ||
          !(e.sums === undefined || (Array.isArray(e.sums) && e.sums.every(isStr))) ||
          !(e.path === undefined || (Array.isArray(e.path) && e.path.every(function (p) {
            return shape(p, ['hash', 'sums']) && isStr(p.hash) && Array.isArray(p.sums) && p.sums.every(isCount);
          })))) {
        return false;
      }
      var r = e.record;
      return shape(r, RECORD) && Array.isArray(r.cells) && isStr(r.export) && isStr(r.exported_at) &&
        isCount(r.items) && isMark(r.opted_out_at_export) && isMark(r.opted_out_now) && isStr(r.owner) &&
        isStr(r.partner) && isStr(r.salt) && r.cells.every(function (c) {
          return shape(c, CELL) && isStr(c.category) && isYear(c.year) && isCount(c.items) &&
            FLAGS.every(function (f) { return isCount(c[f]); });
        });
    });
  }

  // How many leaves each sibling on the path of leaf `index` covers, from the leaf up.
  function siblingSizes(index, size) {
    var out = [];
    var lo = 0, n = size;
    while (n > 1) {
      var k = 1;
      while (k * 2 < n) k *= 2;
      if (index < lo + k) { out.push(n - k); n = k; } else { out.push(k); lo += k; n -= k; }
    }
    return out.reverse();
  }

  // The record's canonical JSON: keys sorted, no spaces (as serde_json writes sharelog's record).
  function canonical(v) {
    if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
    if (v !== null && typeof v === 'object') {
      return '{' + Object.keys(v).sort().map(function (k) {
        return JSON.stringify(k) + ':' + canonical(v[k]);
      }).join(',') + '}';
    }
    return JSON.stringify(v);
  }

  function isCount(n) {
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX;
  }

  function sha256(parts) {
    var len = parts.reduce(function (a, p) { return a + p.length; }, 0);
    var buf = new Uint8Array(len);
    var at = 0;
    parts.forEach(function (p) { buf.set(p, at); at += p.length; });
    return crypto.subtle.digest('SHA-256', buf).then(function (d) { return new Uint8Array(d); });
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function fromHex(s) {
    if (typeof s !== 'string' || !/^[0-9a-f]{64}$/.test(s)) return null;
    var out = new Uint8Array(HASH);
    for (var i = 0; i < HASH; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  }

  // A node: its hash and its sums (BigInt), as bytes: hash then each sum as a 64-bit big-endian
  // unsigned integer.
  function nodeBytes(hash, sums) {
    var b = new Uint8Array(HASH + 8 * sums.length);
    b.set(hash, 0);
    var view = new DataView(b.buffer);
    sums.forEach(function (s, i) { view.setBigUint64(HASH + 8 * i, s); });
    return b;
  }

  function parent(left, right) {
    var sums = left.sums.map(function (s, i) { return s + right.sums[i]; });
    if (sums.some(function (s) { return s >= (1n << 64n); })) return Promise.reject(new Error('overflow'));
    return sha256([new Uint8Array([1]), nodeBytes(left.hash, left.sums), nodeBytes(right.hash, right.sums)])
      .then(function (h) { return { hash: h, sums: sums }; });
  }

  // RFC 9162 section 2.1.3.2, with sums.
  function rootFromPath(leaf, index, size, path) {
    if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
      return Promise.resolve(null);
    }
    var fn = index, sn = size - 1, k = 0;
    function step(r) {
      if (k === path.length) return sn === 0 ? r : null;
      if (sn === 0) return null;
      var p = path[k++];
      var next;
      if (fn % 2 === 1 || fn === sn) {
        next = parent(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        next = parent(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
      return next.then(step);
    }
    return step(leaf);
  }

  function recordSums(record, names) {
    var out = [];
    for (var i = 0; i < names.length; i++) {
      var n = names[i];
      if (n === 'items') out.push(BigInt(record.items));
      else if (n === 'owners') out.push(1n);
      else if (n === 'owners_opted_out' && typeof record.opted_out_at_export === 'boolean') {
        out.push(record.opted_out_at_export ? 1n : 0n);
      } else return null;
    }
    return out;
  }

  function yesNo(b) {
    return b === true ? msg.js_yes : b === false ? msg.js_no : msg.js_unknown;
  }

  function checkEntry(receipt, entry) {
    var c = commitments.exports.find(function (e) { return e.export === entry.export; });
    var r = entry.record;
    var fail = function (key, more) {
      var values = { export: entry.export };
      Object.keys(more || {}).forEach(function (k) { values[k] = more[k]; });
      return Promise.resolve({ ok: false, line: fill(msg[key], values) });
    };
    if (!c) return fail('js_no_batch');
    if (c.reason === 'no-listing' || c.reason === 'empty') return fail('js_declared_only');
    var total = 0;
    var field = null;
    r.cells.forEach(function (cell) {
      total += cell.items;
      if (cell.items === 0 || FLAGS.some(function (f) { return cell[f] > cell.items; })) field = field || 'cells';
    });
    if (r.export !== entry.export) field = 'export';
    else if (r.owner !== receipt.owner) field = 'owner';
    else if (r.partner !== c.partner) field = 'partner';
    else if (r.exported_at !== c.exported_at) field = 'exported_at';
    else if (!/^[0-9a-f]{64}$/.test(r.salt)) field = 'salt';
    else if (r.items !== total || r.items === 0) field = 'items';
    if (field) return fail('js_record', { field: msg['js_field_' + field] || field });
    var info = msg.exports[c.export] || { partner: c.partner, date: c.exported_at };
    var opted = r.opted_out_at_export === null && r.opted_out_now === null ? msg.js_opted_unknown
      : fill(msg.js_opted, { at_export: yesNo(r.opted_out_at_export), now: yesNo(r.opted_out_now), report_date: msg.report_date });
    var given = function (v) { return v !== undefined && v !== null; };
    var line = fill(r.items === 1 ? msg.js_entry_one : msg.js_entry, {
      items: r.items, export: c.export, partner: info.partner, date: info.date, opted: opted
    });
    if (!entry.committed) {
      if (c.committed) return fail('js_no_path');
      if (given(entry.leaf_index) || given(entry.tree_size) || (entry.sums && entry.sums.length) ||
          (entry.path && entry.path.length)) {
        return fail('js_path_without_tree');
      }
      return Promise.resolve({ ok: true, checked: false, line: line + ' ' + fill(msg.js_not_checked, { export: c.export, reason: info.reason || '' }) });
    }
    if (!c.committed) return fail('js_not_committed');
    var steps = entry.path || [];
    if (JSON.stringify(entry.sums || []) !== JSON.stringify(c.sums) || entry.tree_size !== c.tree_size ||
        !isCount(entry.leaf_index)) {
      return fail('js_shape');
    }
    var sums = recordSums(r, c.sums);
    if (!sums) return fail('js_shape');
    var sizes = siblingSizes(entry.leaf_index, c.tree_size);
    var at = function (name) { return c.sums.indexOf(name); };
    var path = [];
    for (var i = 0; i < steps.length; i++) {
      var p = steps[i];
      var h = fromHex(p.hash);
      if (!h || p.sums.length !== c.sums.length) return fail('js_shape');
      var owners = at('owners') >= 0 ? p.sums[at('owners')] : null;
      if (owners !== null && ((i < sizes.length && owners !== sizes[i]) ||
          (at('items') >= 0 && p.sums[at('items')] < owners) ||
          (at('owners_opted_out') >= 0 && p.sums[at('owners_opted_out')] > owners))) {
        return fail('js_impossible', { sibling: i + 1 });
      }
      path.push({ hash: h, sums: p.sums.map(function (s) { return BigInt(s); }) });
    }
    var bytes = new TextEncoder().encode(canonical(r));
    return sha256([new Uint8Array([0]), bytes])
      .then(function (h) { return rootFromPath({ hash: h, sums: sums }, entry.leaf_index, c.tree_size, path); })
      .then(function (root) {
        if (root === null || hex(root.hash) !== c.root) return { ok: false, line: fill(msg.js_mismatch, { export: c.export }) };
        var totals = c.sums.map(function (n) { return BigInt(c.totals[n]); });
        if (!root.sums.every(function (s, i) { return s === totals[i]; })) {
          return { ok: false, line: fill(msg.js_totals, { export: c.export }) };
        }
        return { ok: true, checked: true, line: line };
      }, function () { return { ok: false, line: fill(msg.js_mismatch, { export: c.export }) }; });
  }

  // What is wrong with the embedded commitments themselves (as `sharelog verify` checks them).
  function commitmentProblems() {
    var out = [];
    commitments.exports.forEach(function (c) {
      if (!c.committed) return;
      var keys = Object.keys(c.totals || {}).sort();
      if (c.sums[0] !== 'items' || c.sums[1] !== 'owners' || JSON.stringify(c.sums.slice().sort()) !== JSON.stringify(keys) ||
          c.tree_size !== c.totals.owners || !/^[0-9a-f]{64}$/.test(c.root)) {
        out.push(fill(msg.js_bad_commitment, { export: c.export }));
      }
    });
    return out;
  }

  // Each chosen file's check has a number; only the latest one's result is shown, so that a
  // slow check of an earlier file never overwrites a later one's.
  var latest = 0;

  function check(text, name, token) {
    var say = function (state, lines, unchecked) {
      if (token === latest) show(state, lines, unchecked, name);
    };
    var receipt;
    try { receipt = strictParse(text); } catch (e) { receipt = null; }
    if (!receipt || !wellTyped(receipt)) {
      say('failed', [msg.js_bad_file]);
      return Promise.resolve();
    }
    if (receipt.receipt !== 'sharelog-receipt/1' || receipt.exports.length === 0) {
      say('failed', [msg.js_bad_file]);
      return Promise.resolve();
    }
    if (receipt.report.title !== commitments.report.title ||
        receipt.report.published !== commitments.report.published) {
      say('failed', [msg.js_other_report]);
      return Promise.resolve();
    }
    var bad = commitmentProblems();
    if (bad.length) {
      say('failed', bad);
      return Promise.resolve();
    }
    var seen = Object.create(null);
    var twice = receipt.exports.some(function (e) { var d = seen[e.export]; seen[e.export] = true; return d; });
    if (twice) {
      say('failed', [msg.js_bad_file]);
      return Promise.resolve();
    }
    return Promise.all(receipt.exports.map(function (e) { return checkEntry(receipt, e); }))
      .then(function (results) {
        var ok = results.every(function (r) { return r.ok; });
        var checked = results.some(function (r) { return r.checked; });
        var lines = function (f) { return results.filter(f).map(function (r) { return r.line; }); };
        if (!ok) say('failed', lines(function (r) { return !r.ok; }));
        else if (!checked) say('unchecked', lines(function () { return true; }));
        else say('ok', lines(function (r) { return r.checked; }), lines(function (r) { return !r.checked; }));
      });
  }

  input.addEventListener('change', function () {
    var file = input.files && input.files[0];
    if (!file) return;
    latest += 1;
    var token = latest;
    out.textContent = '';
    // As `sharelog verify` reads a receipt: at most 64 MiB of UTF-8, one leading byte order mark
    // ignored.
    if (file.size > 64 * 1024 * 1024) {
      show('failed', [msg.js_bad_file], [], file.name);
      return;
    }
    file.arrayBuffer()
      .then(function (b) { return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b); })
      .then(function (text) { return check(text.replace(/^\ufeff/, ''), file.name, token); })
      .catch(function () { if (token === latest) show('failed', [msg.js_bad_file], [], file.name); });
  });
}());
