/* The live stream's rules: which frames are usable, how a reading is recognised when it comes
 * again, how long to wait before reconnecting and where to resume. Pure: no DOM, no socket, no
 * clock (callers pass `now`), so Node's test runner covers it (static/js/test/frames.test.mjs). */

import { parseTime } from "./format.js";

// parseFrame decodes one WebSocket message: an object with a type, or null for anything else.
export function parseFrame(data) {
  let msg;
  try { msg = JSON.parse(data); } catch { return null; }
  if (!msg || typeof msg !== "object") return null;
  return msg;
}

// alertOf is the alert an "alert" frame carries, when it is about the frame's own patient.
export function alertOf(msg) {
  return msg.alert?.patient === msg.patient ? msg.alert : null;
}

// validReading says whether one reading of a "readings" frame can be shown: a code, a finite
// value and a time.
export function validReading(r) {
  return !!r && typeof r.code === "string" && Number.isFinite(r.value) && !isNaN(parseTime(r.at));
}

// A reading is named by its device and the device's id of it (the readings' primary key): the
// same reading can come again — in the page's first replay, which reaches back before the page
// was rendered, in the replay after a reconnect, in a relay's catch-up — and two devices can
// measure the same code at the same instant. A frame without them (from a server older than
// this page) falls back to patient, code and time.

// idKey is the key of the reading a device calls id.
export const idKey = (device, id) => JSON.stringify([device, id]);

// named says whether a reading carries its device and the device's id of it.
export const named = (r) => typeof r.device === "string" && r.device !== "" && typeof r.id === "string" && r.id !== "";

// readingKey is a reading's de-duplication key; ms is its time.
export function readingKey(patient, r, ms) {
  if (named(r)) return idKey(r.device, r.id);
  return JSON.stringify([patient, r.code, ms]);
}

// Seen remembers the keys of the readings already shown, forgetting the oldest beyond a bound.
export class Seen {
  constructor(limit = 20000) {
    this.limit = limit;
    this.keys = new Set();
  }

  // firstTime records k and reports whether it is new.
  firstTime(k) {
    if (this.keys.has(k)) return false;
    this.keys.add(k);
    if (this.keys.size > this.limit) this.keys.delete(this.keys.values().next().value);
    return true;
  }
}

// backoffDelay: 1 s doubling to a 30 s cap, with "equal jitter" (50–100 % of the step).
export function backoffDelay(attempt, rnd = Math.random) {
  const step = Math.min(30000, 1000 * 2 ** Math.max(0, attempt));
  return Math.round(step / 2 + rnd() * (step / 2));
}

// RESUME_OVERLAP_MS is how far before the last moment heard a resumed subscription starts.
export const RESUME_OVERLAP_MS = 60000;

// resumePoint is where a subscription resumes: a minute before the server was last heard from (0:
// never), or before now. A drop is often noticed only long after it happened (a laptop asleep, a
// dead network), so resuming from the moment the close is seen would skip the outage.
export function resumePoint(lastHeard, now) {
  return new Date((lastHeard || now) - RESUME_OVERLAP_MS).toISOString();
}

// earliest is the earliest of the RFC 3339 times given, "" when none parses.
export function earliest(times) {
  const valid = times.filter((s) => !isNaN(parseTime(s)));
  valid.sort((a, b) => parseTime(a) - parseTime(b));
  return valid[0] || "";
}

// subscriptionChange compares the patients a page shows with those it is subscribed to.
export function subscriptionChange(want, subscribed) {
  return {
    add: [...want].filter((id) => !subscribed.has(id)),
    drop: [...subscribed].filter((id) => !want.has(id)),
  };
}
