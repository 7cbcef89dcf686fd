// Every live module but the entry can be imported without a DOM: importing one does nothing, so
// its pure parts are testable here and only main.js wires the page. Also the census's filter.
import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";

const dir = new URL("../live/", import.meta.url);

test("every module but main.js imports without a DOM", async () => {
  const names = readdirSync(dir).filter((n) => n.endsWith(".js") && n !== "main.js");
  assert.ok(names.length >= 10, names.join(", "));
  for (const name of names) {
    await import(new URL(name, dir).href); // fails on a missing export or a top-level use of document
  }
  assert.equal(typeof globalThis.document, "undefined");
});

test("the census filter matches name or MRN, care team and open alerts", async () => {
  const { rowMatches } = await import(new URL("census.js", dir).href);
  const row = { name: "Hiroshi Nakamura", mrn: "H1000002", teams: "cardiology|heart-failure", alerts: "2" };
  const all = { q: "", team: "", alertsOnly: false };
  assert.ok(rowMatches(row, all));
  assert.ok(rowMatches(row, { ...all, q: "nakam" }));
  assert.ok(rowMatches(row, { ...all, q: "h10000" }));
  assert.ok(!rowMatches(row, { ...all, q: "mensah" }));
  assert.ok(rowMatches(row, { ...all, team: "heart-failure" }));
  assert.ok(!rowMatches(row, { ...all, team: "heart" }));
  assert.ok(rowMatches(row, { ...all, alertsOnly: true }));
  assert.ok(!rowMatches({ ...row, alerts: "0" }, { ...all, alertsOnly: true }));
  assert.ok(!rowMatches({}, { ...all, q: "a" }));
  assert.ok(rowMatches({}, all));
});
