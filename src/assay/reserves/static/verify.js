// Checks an Assay proof of reserves (assay-por-proof/1) in the browser, on the customer's device.
//
// A port of src/assay/reserves/verify_proof.py, which is the specification: the same field rules
// in the same order, the leaf recomputed from the customer's own data and salt, both sums per
// asset carried up the path as fixed-width integers (BigInt), and the same reason codes and
// messages (tests/pages/test_reserves_verify_page.py holds the two to each other). JSON is read
// the way Python's json.loads reads it, so that 6 and 6.0 differ here as they do there.
//
// It must never send the proof anywhere: the only request it makes is for a proof that the page
// itself names on our own server (#proof-source). SHA-256 is the browser's Web Crypto where the
// page is a secure context, and otherwise the small implementation below. No library, no build.
(function () {
  "use strict";

  const FORMAT = "assay-por-proof/1";
  const TAG_LEAF = ascii("assay-por/leaf/1");
  const TAG_NODE = ascii("assay-por/node/1");
  const TAG_ROUND = ascii("assay-por/rnd/1\0");
  const MAX_CAPACITY = 2 ** 32;
  const MAX_DECIMALS = 18;
  const MAX_ID_BYTES = 128;
  const MAX_FILE_BYTES = 32 * 1024 * 1024;
  const MAX_INT_DIGITS = 4300; // Python's json refuses longer integers (sys.int_info)
  const HEX = /^[0-9a-f]{64}$/;
  const INTEGER = /^(?:0|[1-9][0-9]*)$/;
  const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
  const CODE = /^[A-Z0-9][A-Z0-9._-]{0,19}$/;
  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y; // json's NUMBER_RE
  // str.isprintable(): nothing of the categories Other and Separator, but the space.
  const NOT_PRINTABLE = /(?! )[\p{C}\p{Z}]/u;
  // str.strip()'s white space (str.isspace()).
  const WS =
    "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+";
  const STRIP = new RegExp(`^${WS}|${WS}$`, "g");

  class Rejected extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  class NotJson extends Error {}

  // ---- Python's view of text, values and JSON ----------------------------------------------

  function ascii(text) {
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
  }

  const utf8 = (text) => new TextEncoder().encode(text);
  const printable = (text) => !NOT_PRINTABLE.test(text);
  const strip = (text) => text.replace(STRIP, "");
  const hexOf = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const bytesOf = (hex) => Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));

  function reprStr(text) {
    const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
    let out = quote;
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      const named = { "\t": "\\t", "\n": "\\n", "\r": "\\r" }[ch];
      if (ch === quote || ch === "\\") out += "\\" + ch;
      else if (named) out += named;
      else if (cp < 0x7f ? cp >= 0x20 : printable(ch)) out += ch;
      else if (cp <= 0xff) out += "\\x" + cp.toString(16).padStart(2, "0");
      else if (cp <= 0xffff) out += "\\u" + cp.toString(16).padStart(4, "0");
      else out += "\\U" + cp.toString(16).padStart(8, "0");
    }
    return out + quote;
  }

  function reprFloat(x) {
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    const sign = x < 0 || Object.is(x, -0) ? "-" : "";
    const [mantissa, exp] = Math.abs(x).toExponential().split("e"); // the shortest digits
    const digits = mantissa.replace(".", "");
    const e = Number(exp);
    if (e < -4 || e >= 16) {
      const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
      return `${sign}${head}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
    }
    if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
    const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
    return `${sign}${whole}.${digits.slice(e + 1) || "0"}`;
  }

  // What Python's repr() prints for a value json.loads returned.
  function repr(value) {
    if (value === null) return "None";
    if (typeof value === "boolean") return value ? "True" : "False";
    if (typeof value === "bigint") return String(value);
    if (typeof value === "number") return reprFloat(value);
    if (typeof value === "string") return reprStr(value);
    if (Array.isArray(value)) return `[${value.map(repr).join(", ")}]`;
    return `{${Array.from(value, ([k, v]) => `${reprStr(k)}: ${repr(v)}`).join(", ")}}`;
  }

  const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

  // Python's json.loads: integers as BigInt, other numbers as Number (NaN and Infinity too),
  // objects as Map (the last of duplicate keys wins), a byte order mark or trailing data refused.
  function parseJson(text) {
    let i = 0;
    const fail = (what) => {
      const before = text.slice(0, i);
      const column = i - before.lastIndexOf("\n");
      throw new NotJson(`${what} at line ${before.split("\n").length}, column ${column}`);
    };
    const space = () => {
      while (" \t\n\r".includes(text[i] || "x")) i += 1;
    };
    const word = (w) => text.startsWith(w, i) && ((i += w.length), true);
    const string = () => {
      let out = "";
      for (i += 1; text[i] !== '"'; ) {
        const c = text[i];
        if (c === undefined) fail("unterminated string");
        if (c < " ") fail("control character in a string");
        if (c !== "\\") {
          out += c;
          i += 1;
        } else if (ESCAPES[text[i + 1]] !== undefined) {
          out += ESCAPES[text[i + 1]];
          i += 2;
        } else if (text[i + 1] === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          fail("invalid escape");
        }
      }
      i += 1;
      return out;
    };
    const number = () => {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) fail("expecting a value");
      i += m[0].length;
      if (m[1] || m[2]) return Number(m[0]);
      if (m[0].replace("-", "").length > MAX_INT_DIGITS) fail("an integer of too many digits");
      return BigInt(m[0]);
    };
    const value = (depth) => {
      if (depth > 512) fail("nested too deeply");
      space();
      const c = text[i];
      if (c === '"') return string();
      if (c !== "{" && c !== "[") {
        for (const [w, v] of [["null", null], ["true", true], ["false", false], ["NaN", NaN]]) {
          if (word(w)) return v;
        }
        if (word("Infinity")) return Infinity;
        return word("-Infinity") ? -Infinity : number();
      }
      const isObject = c === "{";
      const out = isObject ? new Map() : [];
      const close = isObject ? "}" : "]";
      i += 1;
      space();
      if (word(close)) return out;
      for (;;) {
        if (isObject) {
          space();
          if (text[i] !== '"') fail("expecting a property name in double quotes");
          const key = string();
          space();
          if (!word(":")) fail("expecting ':'");
          out.set(key, value(depth + 1));
        } else {
          out.push(value(depth + 1));
        }
        space();
        if (word(close)) return out;
        if (!word(",")) fail(`expecting ',' or '${close}'`);
      }
    };
    if (text.startsWith("\ufeff")) fail("a byte order mark");
    const out = value(0);
    space();
    if (i !== text.length) fail("extra data");
    return out;
  }

  // A value built in JavaScript (JSON.parse, a literal) as parseJson would have read it.
  function fromJs(value) {
    if (value === undefined || value === null) return null;
    if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
    if (Array.isArray(value)) return value.map(fromJs);
    if (value instanceof Map) return new Map(Array.from(value, ([k, v]) => [k, fromJs(v)]));
    if (typeof value !== "object") return value;
    return new Map(Object.entries(value).map(([k, v]) => [k, fromJs(v)]));
  }

  // ---- SHA-256 (FIPS 180-4), for pages that are not a secure context ----------------------

  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const H0 = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ];
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));

  function sha256js(data) {
    const n = data.length;
    const total = Math.ceil((n + 9) / 64) * 64;
    const block = new Uint8Array(total);
    block.set(data);
    block[n] = 0x80;
    const view = new DataView(block.buffer);
    view.setUint32(total - 8, Math.floor(n / 0x20000000)); // the length in bits, 64-bit
    view.setUint32(total - 4, (n << 3) >>> 0);
    const h = Uint32Array.from(H0);
    const w = new Uint32Array(64);
    for (let at = 0; at < total; at += 64) {
      for (let t = 0; t < 16; t += 1) w[t] = view.getUint32(at + 4 * t);
      for (let t = 16; t < 64; t += 1) {
        const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
        const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1; // stored modulo 2^32
      }
      let [a, b, c, d, e, f, g, k] = h;
      for (let t = 0; t < 64; t += 1) {
        const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        [k, g, f, e, d, c, b, a] = [g, f, e, (d + t1) | 0, c, b, a, (t1 + t2) | 0];
      }
      [a, b, c, d, e, f, g, k].forEach((v, j) => (h[j] += v));
    }
    const out = new Uint8Array(32);
    h.forEach((v, j) => new DataView(out.buffer).setUint32(4 * j, v));
    return out;
  }

  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
    return out;
  }

  const hasWebCrypto = () =>
    Boolean(globalThis.crypto && globalThis.crypto.subtle && globalThis.isSecureContext);

  // SHA-256 of the parts joined: Web Crypto unless unavailable or "js" is asked for.
  function hasher(choice) {
    if (choice !== "js" && hasWebCrypto()) {
      return async (parts) => new Uint8Array(await crypto.subtle.digest("SHA-256", concat(parts)));
    }
    return async (parts) => sha256js(concat(parts));
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

  // ---- the page ------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    node.append(...children.flat().filter((c) => c !== null && c !== undefined));
    return node;
  }

  const HEADINGS = {
    valid: "Proof valid",
    invalid: "Proof not valid",
    "not-assay": "Not an Assay proof",
  };
  const NOT_OURS = "This file is JSON, but not an Assay proof";
  const OKX = "it looks like an OKX proof of liabilities";
  const FOREIGN = {
    "not-json": "This file is not JSON, so it is not an Assay proof.",
    "not-object": `${NOT_OURS}: an Assay proof is a JSON object.`,
    "okx-v1": `${NOT_OURS}: ${OKX} (merkle_proof_file.json). Check it with OKX's own verifier.`,
    "okx-v2-user": `${NOT_OURS}: ${OKX} (user_info_file.json). Check it with OKX's own verifier.`,
    other: `${NOT_OURS}: it has no "format": "${FORMAT}".`,
  };
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function facts(d) {
    const pairs = [
      ["Round", el("span", { id: "verdict-round" }, d.roundId)],
      ["Account", d.account],
      ["Root hash", el("code", { class: "hash", id: "verdict-root" }, d.root)],
      ["Position", `leaf ${d.index} of ${d.capacity} (counted from 0)`],
      [
        "Height",
        `${plural(d.height, "level")} above the leaves; ${plural(d.siblings, "sibling")} on your path`,
      ],
    ];
    const items = pairs.map(([k, v]) => el("div", null, el("dt", null, k), el("dd", null, v)));
    return el("dl", { class: "facts" }, items);
  }

  function table(id, caption, rows) {
    const head = ["Asset", "Equity (owed to you)", "Debt (you owe)"];
    const body = rows.map(([code, equity, debt]) => {
      const cells = [el("td", null, equity), el("td", null, debt)];
      return el("tr", { "data-asset": code }, el("th", { scope: "row" }, code), cells);
    });
    return el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { id },
        el("caption", null, caption),
        el("thead", null, el("tr", null, head.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", null, body),
      ),
    );
  }

  function render(out, result, name, known) {
    const box = el("div", { class: `verdict-box ${result.verdict}` });
    box.append(el("h2", { id: "verdict-heading" }, HEADINGS[result.verdict]));
    box.append(el("p", { class: "file" }, "File: ", el("span", { id: "verdict-file" }, name)));
    if (result.verdict === "not-assay") {
      box.append(el("p", { id: "verdict-foreign" }, FOREIGN[result.foreign]));
    }
    if (result.ok) {
      box.append(el("p", null,
        "Your balances below are a leaf of the round's tree: recomputed from your own data and " +
        "salt, every sum on the way up includes them, and the result is the root."));
    }
    if (result.problems.length) {
      const items = result.problems.map((p) =>
        el("li", { "data-code": p.code },
          el("code", { class: "problem-code" }, p.code), " ",
          el("span", { class: "problem-message" }, p.message)));
      const list = el("ul", { class: "problems", id: "verdict-problems" }, items);
      box.append(el("h3", null, "Problems"), list);
    }
    const d = result.details;
    if (d) {
      box.append(facts(d));
      const mine = d.assets.map((a) => [a.code, a.equity, a.debt]);
      const totals = d.assets.map((a) => [a.code, a.totalEquity, a.totalDebt]);
      box.append(table("verdict-balances", "Your balances in this proof", mine));
      box.append(table("verdict-totals", "The round's totals (all customers)", totals));
    }
    if (result.ok) {
      box.append(el("p", { class: "note" }, known.root !== undefined
        ? "The root is the published root you entered."
        : "This root comes from the proof itself: compare it with the root your exchange or its " +
          "auditor published for the round, or enter that root above."));
    }
    out.replaceChildren(box);
  }

  function initPage() {
    const out = document.getElementById("verdict");
    const input = document.getElementById("proof-file");
    if (!out || !input) return;
    const say = (words, kind) => out.replaceChildren(el("p", { class: kind }, words));
    const fields = {
      root: document.getElementById("published-root"),
      salt: document.getElementById("known-salt"),
      account: document.getElementById("known-account"),
      round_id: document.getElementById("known-round"),
    };
    let last = null;
    let generation = 0;

    const known = () => {
      const given = {};
      for (const [k, field] of Object.entries(fields)) {
        if (field && field.value.trim()) given[k] = field.value;
      }
      return given;
    };
    const run = async (name, bytes) => {
      last = { name, bytes };
      const mine = (generation += 1);
      say(`Checking ${name}…`, "checking");
      const given = known();
      try {
        const result = await verifyProof(bytes, given, { name });
        if (mine === generation) render(out, result, name, given);
      } catch (exc) {
        if (mine === generation) say(`The check stopped unexpectedly: ${exc}`, "problem");
      }
    };
    const open = (file) => {
      if (!file) return;
      file.arrayBuffer().then(
        (buffer) => run(file.name, new Uint8Array(buffer)),
        () => say(`${file.name} could not be read.`, "problem"),
      );
    };

    input.addEventListener("change", () => open(input.files[0]));
    for (const field of Object.values(fields)) {
      if (field) field.addEventListener("change", () => last && run(last.name, last.bytes));
    }
    // A file dropped beside the zone must not make the browser leave the page to show it.
    for (const kind of ["dragover", "drop"]) document.addEventListener(kind, (e) => e.preventDefault());
    const zone = document.getElementById("drop-zone");
    if (zone) {
      zone.addEventListener("dragover", (event) => {
        event.preventDefault();
        zone.classList.add("dragging");
      });
      zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
      zone.addEventListener("drop", (event) => {
        event.preventDefault();
        zone.classList.remove("dragging");
        open(event.dataTransfer && event.dataTransfer.files[0]);
      });
    }

    // A proof the page names on our own server (a signed-in customer's own proof, for one).
    const source = document.getElementById("proof-source");
    if (!source || !source.dataset.url) return;
    const url = new URL(source.dataset.url, location.href);
    if (url.origin !== location.origin) {
      say("The proof's address is not on this site, so it was not fetched.", "problem");
      return;
    }
    say("Fetching your proof from this site…", "checking");
    fetch(url.href, { credentials: "include", headers: { Accept: "application/json" } })
      .then(async (response) => {
        if (!response.ok) throw new Error(`the server answered ${response.status}`);
        const name = url.pathname.split("/").pop() || "proof.json";
        await run(name, new Uint8Array(await response.arrayBuffer()));
      })
      .catch((exc) => {
        const why = `Your proof could not be fetched (${exc.message})`;
        say(`${why}: download it and choose the file.`, "problem");
      });
  }

  window.AssayVerify = Object.freeze({ verifyProof, _sha256js: sha256js });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initPage);
  else initPage();
})();
