// Checks an Assay proof of reserves (assay-por-proof/1) in the browser, on the customer's device.
//
// A port of src/assay/reserves/verify_proof.py, which is the specification: the same field rules
// in the same order, the leaf recomputed from the customer's own data and salt, both sums per
// asset carried up the path as fixed-width integers (BigInt), and the same reason codes and
// messages (tests/pages/test_reserves_verify_page.py holds the two to each other). JSON is read
// the way Python's json.loads reads it, so that 6 and 6.0 differ here as they do there.
//
// It must never send anything anywhere and never touches the page: verify-page.js is the page,
// and the only request made is by that file, for a proof the page itself names on our own server
// (#proof-source). SHA-256 is the browser's Web Crypto where the
// page is a secure context, and otherwise the small implementation below. No library, no build.
(function () {
  "use strict";

  const { ascii, utf8, printable, strip, hexOf, bytesOf, repr, reprStr, parseJson, fromJs, NotJson } =
    window.AssayPython;
  const { sha256js, hasher, hasWebCrypto, concat } = window.AssaySha256;

  const FORMAT = "assay-por-proof/1";
  const TAG_LEAF = ascii("assay-por/leaf/1");
  const TAG_NODE = ascii("assay-por/node/1");
  const TAG_ROUND = ascii("assay-por/rnd/1\0");
  const MAX_CAPACITY = 2 ** 32;
  const MAX_DECIMALS = 18;
  const MAX_ID_BYTES = 128;
  const MAX_FILE_BYTES = 32 * 1024 * 1024;
  const HEX = /^[0-9a-f]{64}$/;
  const INTEGER = /^(?:0|[1-9][0-9]*)$/;
  const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
  const CODE = /^[A-Z0-9][A-Z0-9._-]{0,19}$/;

  class Rejected extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  // ---- verify_proof.py, function by function -------------------------------------------------

  const isMap = (v) => v instanceof Map;
  const isStr = (v) => typeof v === "string";
  const limit = (a) => (1n << BigInt(8 * a.width)) - 1n;
  const sameKeys = (map, keys) => map.size === new Set(keys).size && keys.every((k) => map.has(k));
  const malformed = (what) => new Rejected("malformed-proof", `the proof is malformed: ${what}`);
  const negative = (what, value) => new Rejected("negative-amount", `${what} is negative (${value})`);
  const overflow = (what, value, a) =>
    new Rejected("amount-overflow", `${what} (${value}) does not fit ${a.code}'s ${a.width} bytes`);

  function object(value, keys, what) {
    if (!isMap(value) || !sameKeys(value, keys)) {
      throw malformed(`${what} must be an object with exactly the fields ${keys.join(", ")}`);
    }
    return value;
  }

  function int(value, what, lo, hi) {
    if (typeof value !== "bigint" || value < BigInt(lo) || value > BigInt(hi)) {
      throw malformed(`${what} must be a whole number from ${lo} to ${hi}`);
    }
    return Number(value);
  }

  function digest(value, what) {
    if (!isStr(value) || !HEX.test(value)) throw malformed(`${what} must be 64 lower-case hex digits`);
    return bytesOf(value);
  }

  function units(value, a, what) {
    if (!isStr(value) || !INTEGER.test(value)) {
      if (isStr(value) && value.startsWith("-")) throw negative(what, value);
      throw malformed(`${what} must be a whole number of minimal units as a string`);
    }
    const number = BigInt(value);
    if (number > limit(a)) throw overflow(what, value, a);
    return number;
  }

  function amount(value, a, what) {
    const match = isStr(value) ? DECIMAL.exec(value) : null;
    if (match === null) {
      if (isStr(value) && value.startsWith("-")) throw negative(what, value);
      throw malformed(`${what} must be a plain decimal number as a string, e.g. "1.5"`);
    }
    const [, whole, fraction = ""] = match;
    if (fraction.length > a.decimals) {
      throw new Rejected(
        "too-many-decimals",
        `${what} (${value}) has ${fraction.length} decimals, ${a.code} has ${a.decimals}`,
      );
    }
    const scaled = BigInt(fraction.padEnd(a.decimals, "0") || "0");
    const number = BigInt(whole) * 10n ** BigInt(a.decimals) + scaled;
    if (number > limit(a)) throw overflow(what, value, a);
    return number;
  }

  // Minimal units as a plain decimal (150000000 with 8 decimals: 1.5).
  function show(number, a) {
    const scale = 10n ** BigInt(a.decimals);
    const fraction = number % scale;
    if (!fraction) return String(number / scale);
    return `${number / scale}.${String(fraction).padStart(a.decimals, "0").replace(/0+$/, "")}`;
  }

  function assetsOf(value) {
    if (!Array.isArray(value) || !value.length) {
      throw malformed("round.assets must be a non-empty list");
    }
    const assets = value.map((item, k) => {
      const what = `round.assets[${k}]`;
      const fields = object(item, ["code", "decimals", "width", "debt_allowed"], what);
      const code = fields.get("code");
      if (!isStr(code) || !CODE.test(code)) throw malformed(`${what}.code is not an asset code`);
      const width = fields.get("width");
      if (width !== 8n && width !== 16n) throw malformed(`${what}.width must be 8 or 16`);
      const debtAllowed = fields.get("debt_allowed");
      if (typeof debtAllowed !== "boolean") {
        throw malformed(`${what}.debt_allowed must be true or false`);
      }
      const decimals = int(fields.get("decimals"), `${what}.decimals`, 0, MAX_DECIMALS);
      return { code, decimals, width: Number(width), debtAllowed };
    });
    if (new Set(assets.map((a) => a.code)).size !== assets.length) {
      throw malformed("round.assets lists an asset twice");
    }
    return assets;
  }

  // SHA-256 of the round's canonical encoding (the value every leaf binds).
  function roundDigest(roundId, capacity, assets, sha) {
    const raw = utf8(roundId);
    const sizes = new DataView(new ArrayBuffer(10));
    sizes.setBigUint64(0, BigInt(capacity));
    sizes.setUint16(8, assets.length);
    const parts = [TAG_ROUND, Uint8Array.of(raw.length), raw, new Uint8Array(sizes.buffer)];
    for (const a of assets) {
      parts.push(Uint8Array.of(a.code.length), ascii(a.code));
      parts.push(Uint8Array.of(a.decimals, a.width, a.debtAllowed ? 1 : 0));
    }
    return sha(parts);
  }

  // Equity then debt, each asset at its width, big-endian.
  function encode(assets, equity, debt) {
    const parts = [];
    for (const values of [equity, debt]) {
      assets.forEach((a, j) => {
        const out = new Uint8Array(a.width);
        let v = values[j];
        for (let b = a.width - 1; b >= 0; b -= 1, v >>= 8n) out[b] = Number(v & 0xffn);
        parts.push(out);
      });
    }
    return concat(parts);
  }

  // The sides of a leaf's siblings bottom up (levels where it is carried up have none).
  function sides(index, capacity) {
    const out = [];
    while (capacity > 1) {
      if (index % 2) out.push("left");
      else if (index + 1 < capacity) out.push("right");
      index = Math.floor(index / 2);
      capacity = Math.floor((capacity + 1) / 2);
    }
    return out;
  }

  function vector(value, assets, what) {
    if (!Array.isArray(value) || value.length !== assets.length) {
      throw malformed(`${what} must list one amount per asset (${assets.length})`);
    }
    return assets.map((a, j) => units(value[j], a, `${what}[${a.code}]`));
  }

  // sorted() on str: by code point, not by UTF-16 unit.
  function byCodePoint(x, y) {
    const [a, b] = [Array.from(x, (c) => c.codePointAt(0)), Array.from(y, (c) => c.codePointAt(0))];
    for (let j = 0; j < Math.min(a.length, b.length); j += 1) if (a[j] !== b[j]) return a[j] - b[j];
    return a.length - b.length;
  }

  function balancesOf(value, assets, what, partial) {
    const codes = assets.map((a) => a.code);
    if (!isMap(value) || (!sameKeys(value, codes) && !partial)) {
      throw malformed(`${what} must map every asset of the round (${codes.join(", ")})`);
    }
    const unknown = Array.from(value.keys()).filter((k) => !codes.includes(k)).sort(byCodePoint);
    if (unknown.length) {
      throw new Rejected("bad-argument", `${what}: ${unknown.join(", ")} is not an asset of the round`);
    }
    const get = (code) => (value.has(code) ? value.get(code) : "0");
    return assets.map((a) => amount(get(a.code), a, `${what}.${a.code}`));
  }

  function noDebt(debt, assets, what) {
    assets.forEach((a, j) => {
      if (debt[j] && !a.debtAllowed) {
        throw new Rejected("debt-not-allowed", `${what} shows debt in ${a.code}, which allows none`);
      }
    });
  }

  function add(left, right, assets, side) {
    return assets.map((a, j) => {
      const sum = left[j] + right[j];
      if (sum > limit(a)) {
        const why = `a ${side} sum of ${a.code} (${sum}) does not fit its ${a.width} bytes`;
        throw new Rejected("amount-overflow", why);
      }
      return sum;
    });
  }

  function text(value, most) {
    return isStr(value) && printable(value) && utf8(value).length > 0 && utf8(value).length <= most;
  }

  // verify_proof.read: every field's form and range, in the same order.
  function read(proof) {
    const top = object(proof, ["format", "round", "account", "index", "path", "root"], "the proof");
    if (top.get("format") !== FORMAT) {
      throw malformed(`format is ${repr(top.get("format"))}, this script reads ${FORMAT}`);
    }
    const rnd = object(top.get("round"), ["id", "capacity", "assets"], "round");
    const roundId = rnd.get("id");
    if (!text(roundId, 64)) throw malformed("round.id must be printable text of 1 to 64 bytes");
    const capacity = int(rnd.get("capacity"), "round.capacity", 1, MAX_CAPACITY);
    const assets = assetsOf(rnd.get("assets"));
    const leaf = object(top.get("account"), ["id", "salt", "equity", "debt"], "account");
    const account = leaf.get("id");
    if (!text(account, MAX_ID_BYTES)) {
      throw malformed(`account.id must be printable text of 1 to ${MAX_ID_BYTES} bytes`);
    }
    const debt = balancesOf(leaf.get("debt"), assets, "account.debt", false);
    noDebt(debt, assets, "account.debt");
    if (!Array.isArray(top.get("path"))) throw malformed("path must be a list");
    const path = top.get("path").map((item, k) => {
      const node = object(item, ["side", "hash", "equity", "debt"], `path[${k}]`);
      const side = node.get("side");
      if (side !== "left" && side !== "right") throw malformed(`path[${k}].side must be left or right`);
      const sibDebt = vector(node.get("debt"), assets, `path[${k}].debt`);
      noDebt(sibDebt, assets, `path[${k}].debt`);
      const sibEquity = vector(node.get("equity"), assets, `path[${k}].equity`);
      const hash = digest(node.get("hash"), `path[${k}].hash`);
      return { side, hash, equity: sibEquity, debt: sibDebt };
    });
    const end = object(top.get("root"), ["hash", "equity", "debt"], "root");
    const rootDebt = vector(end.get("debt"), assets, "root.debt");
    noDebt(rootDebt, assets, "root.debt");
    const salt = digest(leaf.get("salt"), "account.salt");
    const equity = balancesOf(leaf.get("equity"), assets, "account.equity", false);
    const index = int(top.get("index"), "index", 0, capacity - 1);
    const root = digest(end.get("hash"), "root.hash");
    const rootEquity = vector(end.get("equity"), assets, "root.equity");
    return {
      ...{ roundId, capacity, assets, account, salt, equity, debt, index },
      ...{ path, root, rootEquity, rootDebt },
    };
  }

  function knownBalances(balances) {
    if (!isStr(balances)) return fromJs(balances);
    try {
      return parseJson(balances);
    } catch (exc) {
      throw new Rejected("bad-argument", `--balances is not JSON: ${exc.message}`);
    }
  }

  // verify_proof._compare: what the customer knows, against what the proof says.
  function compare(p, known) {
    const given = (k) => (known[k] === undefined ? null : known[k]);
    const [roundId, account, salt, root] = ["round_id", "account", "salt", "root"].map(given);
    if (roundId !== null && roundId !== p.roundId) {
      const why = `the proof is for round ${reprStr(p.roundId)}, not ${reprStr(roundId)}`;
      throw new Rejected("round-mismatch", why);
    }
    if (account !== null && account !== p.account) {
      const why = `the proof is for account ${reprStr(p.account)}, not ${reprStr(account)}`;
      throw new Rejected("account-mismatch", why);
    }
    if (salt !== null && strip(salt).toLowerCase() !== hexOf(p.salt)) {
      throw new Rejected("salt-mismatch", "the proof's salt is not the salt you gave");
    }
    const balances = given("balances") === null ? null : knownBalances(given("balances"));
    if (balances !== null) {
      const keys = isMap(balances) ? Array.from(balances.keys()) : [];
      if (!isMap(balances) || !keys.every((k) => k === "equity" || k === "debt")) {
        throw new Rejected("bad-argument", 'balances must look like {"equity": {...}, "debt": {}}');
      }
      for (const [side, theirs] of [["equity", p.equity], ["debt", p.debt]]) {
        const stated = balances.has(side) ? balances.get(side) : new Map();
        const mine = balancesOf(stated, p.assets, side, true);
        p.assets.forEach((a, j) => {
          if (mine[j] !== theirs[j]) {
            const why = `the proof commits ${a.code} ${side} ${show(theirs[j], a)}`;
            throw new Rejected("balance-mismatch", `${why}, you said ${show(mine[j], a)}`);
          }
        });
      }
    }
    if (root !== null && strip(root).toLowerCase() !== hexOf(p.root)) {
      const why = `the proof's root ${hexOf(p.root)} is not the published root ${strip(root)}`;
      throw new Rejected("published-root-mismatch", why);
    }
  }

  // verify_proof.recompute: the root hash and totals from the leaf's own data up the path.
  async function recompute(p, sha) {
    const expected = sides(p.index, p.capacity);
    if (p.path.map((s) => s.side).join() !== expected.join()) {
      throw new Rejected(
        "path-mismatch",
        `leaf ${p.index} of ${p.capacity} has ${expected.length} siblings on sides ` +
          `${expected.join(", ") || "(none)"}; the proof gives ${p.path.length}`,
      );
    }
    let [equity, debt] = [p.equity, p.debt];
    let sums = encode(p.assets, equity, debt);
    const round = await roundDigest(p.roundId, p.capacity, p.assets, sha);
    let current = await sha([TAG_LEAF, round, p.salt, sums, utf8(p.account)]);
    for (const s of p.path) {
      const other = encode(p.assets, s.equity, s.debt);
      const pair = s.side === "left" ? [s.hash, current, other, sums] : [current, s.hash, sums, other];
      current = await sha([TAG_NODE, ...pair]);
      equity = add(equity, s.equity, p.assets, "equity");
      debt = add(debt, s.debt, p.assets, "debt");
      sums = encode(p.assets, equity, debt);
    }
    return [current, equity, debt];
  }

  // What the page shows of a proof that could be read.
  function details(p) {
    let height = 0;
    for (let c = p.capacity; c > 1; c = Math.floor((c + 1) / 2)) height += 1;
    const assets = p.assets.map((a, j) => ({
      code: a.code,
      equity: show(p.equity[j], a),
      debt: show(p.debt[j], a),
      totalEquity: show(p.rootEquity[j], a),
      totalDebt: show(p.rootDebt[j], a),
    }));
    const { roundId, capacity, account, index } = p;
    const [siblings, root] = [p.path.length, hexOf(p.root)];
    return { roundId, capacity, account, index, height, siblings, root, assets };
  }

  // verify_proof.check: read, compare, recompute; the summary it returns.
  async function check(proof, known, sha) {
    const p = read(proof);
    const shown = details(p);
    try {
      compare(p, known);
      const [top, equity, debt] = await recompute(p, sha);
      if (hexOf(top) !== hexOf(p.root)) {
        throw new Rejected(
          "root-mismatch",
          `recomputed from your leaf, the root hash is ${hexOf(top)}, not the proof's ` +
            `${hexOf(p.root)}: a sibling, the leaf data or the salt was altered`,
        );
      }
      if (equity.join() !== p.rootEquity.join() || debt.join() !== p.rootDebt.join()) {
        throw new Rejected("totals-mismatch", "the root's totals are not the sums of the tree");
      }
    } catch (exc) {
      exc.details = shown;
      throw exc;
    }
    const mine = p.assets.map((a, j) => {
      const owed = p.debt[j] ? ` (debt ${show(p.debt[j], a)})` : "";
      return `${a.code} ${show(p.equity[j], a)}${owed}`;
    });
    const summary =
      `account ${p.account} is in round ${p.roundId} (root ${hexOf(p.root)}, ` +
      `${p.capacity} leaves): ${mine.join(", ")}`;
    return { summary, details: shown };
  }

  // What a file that is not an Assay proof is instead, if we can tell; null for an Assay proof.
  function foreign(value) {
    if (!isMap(value)) return "not-object";
    const format = value.get("format");
    if (isStr(format) && format.startsWith("assay-por-proof/")) return null;
    if (sameKeys(value, ["self", "path"])) return "okx-v1";
    if (sameKeys(value, ["hash", "nodes", "nonce", "totalBalances"])) return "okx-v2-user";
    return "other";
  }

  function decode(input) {
    const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
    if (bytes.byteLength > MAX_FILE_BYTES) {
      throw new NotJson(`it is ${bytes.byteLength} bytes, far more than any proof`);
    }
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (exc) {
      throw new NotJson("it is not UTF-8 text");
    }
  }

  /**
   * Check a proof as `python verify_proof.py` does.
   *
   * @param input the file's bytes (ArrayBuffer or Uint8Array), its text, or a parsed value.
   * @param known what the customer knows, each optional: account, balances, salt, root, round_id.
   * @param options name: the file's name, for messages; digest: "js" forces our own SHA-256.
   * @returns {Promise<object>} ok; verdict ("valid", "invalid", "not-assay"); foreign (what the
   *   file is instead: "not-json", "okx-v1"...); problems [{code, message}]; lines (what
   *   verify_proof.py prints); summary; details (what the page shows); digest ("web-crypto", "own").
   */
  async function verifyProof(input, known = {}, options = {}) {
    known = known || {};
    const result = {
      ok: false,
      verdict: "invalid",
      foreign: null,
      problems: [],
      lines: [],
      summary: null,
      details: null,
      digest: options.digest !== "js" && hasWebCrypto() ? "web-crypto" : "own",
    };
    try {
      let proof;
      try {
        if (isStr(input)) proof = parseJson(input);
        else if (ArrayBuffer.isView(input) || input instanceof ArrayBuffer) {
          proof = parseJson(decode(input));
        } else proof = fromJs(input);
      } catch (exc) {
        if (!(exc instanceof NotJson)) throw exc;
        result.foreign = "not-json";
        const why = `cannot read ${options.name || "the proof"}: it is not JSON (${exc.message})`;
        throw new Rejected("malformed-proof", why);
      }
      result.foreign = foreign(proof);
      const done = await check(proof, known, hasher(options.digest));
      Object.assign(result, { ok: true, verdict: "valid" }, done);
      result.lines.push(`verified: ${done.summary}`);
      if (known.root === undefined || known.root === null) {
        result.lines.push(
          "note: the root came from the proof itself; compare it with the root your exchange " +
            "published for the round (or pass it with --root)",
        );
      }
    } catch (exc) {
      if (!(exc instanceof Rejected)) throw exc;
      result.verdict = result.foreign ? "not-assay" : "invalid";
      result.details = exc.details || null;
      result.problems.push({ code: exc.code, message: exc.message });
      result.lines.push(`NOT VERIFIED (${exc.code}): ${exc.message}`);
    }
    return result;
  }

  window.AssayVerify = Object.freeze({ verifyProof, FORMAT, _sha256js: sha256js });
})();
