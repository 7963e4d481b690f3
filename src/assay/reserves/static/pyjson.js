// Python's view of text, values and JSON, for the in-browser proof check (verify.js): JSON read
// the way Python's json.loads reads it (integers as BigInt, 6 and 6.0 told apart, the same
// errors), str.isprintable(), str.strip(), repr(). The check must reach the verdicts
// verify_proof.py reaches on the same bytes, and these are the places JavaScript differs.
//
// It must never touch the page or the network.
(function () {
  "use strict";

  const MAX_INT_DIGITS = 4300; // Python's json refuses longer integers (sys.int_info)
  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y; // json's NUMBER_RE
  // str.isprintable(): nothing of the categories Other and Separator, but the space.
  const NOT_PRINTABLE = /(?! )[\p{C}\p{Z}]/u;
  // str.strip()'s white space (str.isspace()).
  const WS =
    "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+";
  const STRIP = new RegExp(`^${WS}|${WS}$`, "g");

  class NotJson extends Error {}

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

  window.AssayPython = Object.freeze({
    ascii, utf8, printable, strip, hexOf, bytesOf, repr, reprStr, parseJson, fromJs, NotJson,
  });
})();
