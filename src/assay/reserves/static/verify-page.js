// The proof-check page (/reserves/verify): a file input and a drop zone, the verdict, the
// customer's balances. The check itself is verify.js (window.AssayVerify), loaded first.
//
// It must never send the chosen file anywhere; the one request it may make is for a proof the
// page names on our own server (#proof-source: a signed-in customer's own proof).
(function () {
  "use strict";

  const { verifyProof, FORMAT } = window.AssayVerify;

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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initPage);
  else initPage();
})();
