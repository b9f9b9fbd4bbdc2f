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

  function show(ok, lines) {
    out.textContent = '';
    var p = document.createElement('p');
    var strong = document.createElement('strong');
    strong.textContent = ok ? msg.js_verified : msg.js_failed;
    p.appendChild(strong);
    p.className = ok ? 'verify-ok' : 'verify-failed';
    out.appendChild(p);
    if (lines.length) {
      var ul = document.createElement('ul');
      lines.forEach(function (l) {
        var li = document.createElement('li');
        li.textContent = l;
        ul.appendChild(li);
      });
      out.appendChild(ul);
    }
  }

  if (!window.crypto || !window.crypto.subtle) {
    out.textContent = msg.js_no_crypto;
    return;
  }
  form.hidden = false;

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
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
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
    var fail = function (key) { return Promise.resolve({ ok: false, line: fill(msg[key], { export: String(entry.export) }) }); };
    if (!c || !r || typeof r !== 'object' || !Array.isArray(r.cells)) return fail('js_record');
    var total = 0;
    var cellsOk = r.cells.every(function (cell) {
      if (!cell || !isCount(cell.items)) return false;
      total += cell.items;
      return ['private', 'deleted', 'suspended', 'explicit', 'minor'].every(function (f) {
        return isCount(cell[f]) && cell[f] <= cell.items;
      });
    });
    if (!cellsOk || !isCount(r.items) || r.items !== total || r.items === 0 || r.export !== entry.export ||
        r.owner !== receipt.owner || r.partner !== c.partner || r.exported_at !== c.exported_at ||
        typeof r.salt !== 'string' || !/^[0-9a-f]{64}$/.test(r.salt)) {
      return fail('js_record');
    }
    var info = msg.exports[c.export] || { partner: c.partner, date: c.exported_at };
    var line = fill(msg.js_entry, {
      items: r.items, export: c.export, partner: info.partner, date: info.date,
      at_export: yesNo(r.opted_out_at_export), now: yesNo(r.opted_out_now)
    });
    if (!entry.committed) {
      if (c.committed) return fail('js_mismatch');
      return Promise.resolve({ ok: true, line: line + ' ' + fill(msg.js_not_checked, { export: c.export }) });
    }
    if (!c.committed || JSON.stringify(entry.sums) !== JSON.stringify(c.sums) ||
        entry.tree_size !== c.tree_size || !Array.isArray(entry.path)) {
      return fail('js_mismatch');
    }
    var sums = recordSums(r, c.sums);
    if (!sums) return fail('js_mismatch');
    var path = [];
    for (var i = 0; i < entry.path.length; i++) {
      var p = entry.path[i];
      var h = p && fromHex(p.hash);
      if (!h || !Array.isArray(p.sums) || p.sums.length !== c.sums.length || !p.sums.every(isCount)) {
        return fail('js_mismatch');
      }
      path.push({ hash: h, sums: p.sums.map(function (s) { return BigInt(s); }) });
    }
    var bytes = new TextEncoder().encode(canonical(r));
    return sha256([new Uint8Array([0]), bytes])
      .then(function (h) { return rootFromPath({ hash: h, sums: sums }, entry.leaf_index, c.tree_size, path); })
      .then(function (root) {
        var totals = c.sums.map(function (n) { return BigInt(c.totals[n]); });
        var ok = root !== null && hex(root.hash) === c.root &&
          root.sums.every(function (s, i) { return s === totals[i]; });
        return ok ? { ok: true, line: line } : { ok: false, line: fill(msg.js_mismatch, { export: c.export }) };
      }, function () { return { ok: false, line: fill(msg.js_mismatch, { export: c.export }) }; });
  }

  function check(text) {
    var receipt;
    try { receipt = JSON.parse(text); } catch (e) { receipt = null; }
    if (!receipt || receipt.receipt !== 'sharelog-receipt/1' || !Array.isArray(receipt.exports) ||
        receipt.exports.length === 0 || typeof receipt.owner !== 'string') {
      show(false, [msg.js_bad_file]);
      return Promise.resolve();
    }
    if (!receipt.report || receipt.report.title !== commitments.report.title ||
        receipt.report.published !== commitments.report.published) {
      show(false, [msg.js_other_report]);
      return Promise.resolve();
    }
    var seen = {};
    var twice = receipt.exports.some(function (e) { var d = seen[e.export]; seen[e.export] = true; return d; });
    if (twice) {
      show(false, [msg.js_bad_file]);
      return Promise.resolve();
    }
    return Promise.all(receipt.exports.map(function (e) { return checkEntry(receipt, e); }))
      .then(function (results) {
        var ok = results.every(function (r) { return r.ok; });
        show(ok, results.filter(function (r) { return r.ok === ok; }).map(function (r) { return r.line; }));
      });
  }

  input.addEventListener('change', function () {
    var file = input.files && input.files[0];
    if (!file) return;
    file.text().then(check).catch(function () { show(false, [msg.js_bad_file]); });
  });
}());
