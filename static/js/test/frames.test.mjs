// Unit tests of live/frames.js: which frames are usable, how a reading coming again is
// recognised, backoff and resume.
import test from "node:test";
import assert from "node:assert/strict";
import {
  RESUME_OVERLAP_MS, Seen, alertOf, backoffDelay, earliest, idKey, named, parseFrame, readingKey, resumePoint,
  subscriptionChange, validReading,
} from "../live/frames.js";

test("parseFrame keeps JSON objects and drops everything else", () => {
  assert.deepEqual(parseFrame('{"type":"readings","patient":"p1","readings":[]}'), { type: "readings", patient: "p1", readings: [] });
  for (const bad of ["", "{", "null", "17", '"readings"', "true", undefined]) assert.equal(parseFrame(bad), null, String(bad));
});

test("alertOf takes an alert frame's alert only when it is about the frame's patient", () => {
  const alert = { id: "a1", patient: "p1" };
  assert.equal(alertOf({ type: "alert", patient: "p1", alert }), alert);
  assert.equal(alertOf({ type: "alert", patient: "p2", alert }), null);
  assert.equal(alertOf({ type: "alert", patient: "p1" }), null);
});

test("validReading wants a code, a finite value and a time", () => {
  const r = { code: "8867-4", value: 72, at: "2026-11-21T10:00:00.123456789Z" };
  assert.ok(validReading(r));
  assert.ok(!validReading(null));
  assert.ok(!validReading({ ...r, code: 8867 }));
  assert.ok(!validReading({ ...r, value: "72" }));
  assert.ok(!validReading({ ...r, value: Infinity }));
  assert.ok(!validReading({ ...r, value: NaN }));
  assert.ok(!validReading({ ...r, at: "soon" }));
  assert.ok(!validReading({ ...r, at: undefined }));
});

test("a reading's key is its device and the device's id of it", () => {
  const r = { device: "dev-1", id: "r-9", code: "8867-4" };
  assert.ok(named(r));
  assert.equal(readingKey("p1", r, 1000), idKey("dev-1", "r-9"));
  assert.equal(readingKey("p2", { ...r, code: "59408-5" }, 2000), readingKey("p1", r, 1000)); // the same reading
  assert.notEqual(readingKey("p1", { ...r, device: "dev-2" }, 1000), readingKey("p1", r, 1000)); // two devices, one instant
  // Keys cannot collide through separators inside the ids.
  assert.notEqual(idKey("a,b", "c"), idKey("a", "b,c"));
  assert.notEqual(idKey('a"', "b"), idKey("a", '"b'));
});

test("a reading without device and id falls back to patient, code and time", () => {
  for (const r of [{ code: "8867-4" }, { code: "8867-4", device: "", id: "r" }, { code: "8867-4", device: "d", id: 7 }]) {
    assert.ok(!named(r));
    assert.equal(readingKey("p1", r, 1000), JSON.stringify(["p1", "8867-4", 1000]));
  }
  assert.notEqual(readingKey("p1", { code: "8867-4" }, 1000), readingKey("p1", { code: "8867-4" }, 1001));
  assert.notEqual(readingKey("p1", { code: "8867-4" }, 1000), readingKey("p2", { code: "8867-4" }, 1000));
});

test("Seen says each key is new once, and forgets the oldest beyond its bound", () => {
  const seen = new Seen(3);
  assert.ok(seen.firstTime("a"));
  assert.ok(!seen.firstTime("a"));
  assert.ok(seen.firstTime("b"));
  assert.ok(seen.firstTime("c"));
  assert.ok(seen.firstTime("d")); // "a" is forgotten
  assert.ok(!seen.firstTime("b"));
  assert.ok(!seen.firstTime("d"));
  assert.ok(seen.firstTime("a"));
  assert.equal(new Seen().limit, 20000);
});

test("backoffDelay doubles from 1 s to a 30 s cap, with equal jitter", () => {
  const bounds = [[0, 500, 1000], [1, 1000, 2000], [2, 2000, 4000], [4, 8000, 16000], [5, 15000, 30000], [50, 15000, 30000],
    [-3, 500, 1000]];
  for (const [attempt, lo, hi] of bounds) {
    assert.equal(backoffDelay(attempt, () => 0), lo, `attempt ${attempt}, no jitter`);
    assert.equal(backoffDelay(attempt, () => 0.999999), hi, `attempt ${attempt}, most jitter`);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(attempt);
      assert.ok(d >= lo && d <= hi && Number.isInteger(d), `attempt ${attempt}: ${d}`);
    }
  }
});

test("resumePoint is a minute before the server was last heard from, else before now", () => {
  const heard = Date.UTC(2026, 10, 21, 10, 0), now = heard + 3 * 3600000; // noticed three hours later
  assert.equal(resumePoint(heard, now), "2026-11-21T09:59:00.000Z");
  assert.equal(resumePoint(0, now), new Date(now - RESUME_OVERLAP_MS).toISOString());
});

test("earliest picks the earliest time that parses", () => {
  assert.equal(earliest(["2026-11-21T10:00:00.5Z", "2026-11-21T09:00:00.123456789Z", undefined, "later"]),
    "2026-11-21T09:00:00.123456789Z");
  assert.equal(earliest([undefined, ""]), "");
  assert.equal(earliest([]), "");
});

test("subscriptionChange lists the patients to add and to drop", () => {
  const { add, drop } = subscriptionChange(new Set(["p1", "p3", "p4"]), new Set(["p1", "p2"]));
  assert.deepEqual(add, ["p3", "p4"]);
  assert.deepEqual(drop, ["p2"]);
  assert.deepEqual(subscriptionChange(new Set(["p1"]), new Set(["p1"])), { add: [], drop: [] });
});
