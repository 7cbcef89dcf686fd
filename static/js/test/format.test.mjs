// Unit tests of live/format.js: what the live pages say, as the server's views say it.
import test from "node:test";
import assert from "node:assert/strict";
import {
  ageText, badgeText, bannerMeta, devicesBadge, formatValue, news2Text, news2View, parseTime, readingNumber,
  retriggeredMeta, silentDevices, axisLabels, setClock, stamp, stampSeconds, stateText, validAlert, validNEWS2, withAlpha,
} from "../live/format.js";

const MIN = 60000, HOUR = 60 * MIN;

test("parseTime reads RFC 3339 at any precision, NaN for anything else", () => {
  const ms = Date.UTC(2026, 10, 21, 10, 0, 0, 123);
  assert.equal(parseTime("2026-11-21T10:00:00.123456789Z"), ms); // Go's nanoseconds
  assert.equal(parseTime("2026-11-21T10:00:00.123Z"), ms);
  assert.equal(parseTime("2026-11-21T11:00:00.123+01:00"), ms);
  assert.equal(parseTime("2026-11-21T10:00:00Z"), ms - 123);
  for (const bad of ["", "yesterday", undefined, null, 17, {}]) assert.ok(isNaN(parseTime(bad)), String(bad));
});

test("ageText uses the server's thresholds, and 'just now' for skew and nonsense", () => {
  const cases = [
    [0, "just now"], [59999, "just now"], [-5 * MIN, "just now"], [NaN, "just now"],
    [MIN, "1 min ago"], [59 * MIN + 59999, "59 min ago"], [HOUR, "1 h ago"], [47 * HOUR + 59 * MIN, "47 h ago"],
    [48 * HOUR, "2 d ago"], [100 * HOUR, "4 d ago"],
  ];
  for (const [ms, want] of cases) assert.equal(ageText(ms), want, `ageText(${ms})`);
});

test("formatValue keeps the measure's decimals, else rounds to two", () => {
  assert.equal(formatValue(36.75, 1), "36.8");
  assert.equal(formatValue(98, "0"), "98");
  assert.equal(formatValue(7.1, "2"), "7.10");
  assert.equal(formatValue(1.23456, undefined), "1.23");
  assert.equal(formatValue(80, ""), "80");
  assert.equal(formatValue(1.005, "7"), "1"); // beyond 6 decimals: rounded to two
  assert.equal(formatValue("72.5", 0), "73"); // toFixed rounds half away from zero here
});

test("readingNumber shows up to one decimal unless the measure says otherwise", () => {
  assert.equal(readingNumber(72, undefined), "72");
  assert.equal(readingNumber(36.66, undefined), "36.7");
  assert.equal(readingNumber(10000, undefined), "10000"); // no grouping
  assert.equal(readingNumber(36.66, "2"), "36.66");
});

test("stampSeconds and stamp match the server's dateTimeSeconds and dateTime on the page's clock", () => {
  const ms = Date.UTC(2026, 10, 21, 9, 5, 7);
  assert.equal(stampSeconds(ms), "21 Nov 2026, 09:05:07");
  assert.equal(stamp("2026-11-21T09:05:07.5Z"), "21 Nov 2026, 09:05");
  assert.equal(stamp(""), "");
  assert.equal(stamp(undefined), "");
  try {
    // As rpm.TestClock: the same instants, the same words.
    assert.equal(setClock("America/New_York", "h23"), "America/New_York");
    const at = Date.UTC(2026, 10, 21, 15, 5, 7);
    assert.equal(stamp(new Date(at).toISOString()), "21 Nov 2026, 10:05");
    assert.equal(stampSeconds(at), "21 Nov 2026, 10:05:07");
    assert.equal(stampSeconds(Date.UTC(2026, 6, 1, 15, 5, 7)), "1 Jul 2026, 11:05:07"); // daylight saving
    setClock("America/New_York", "h12");
    assert.equal(stampSeconds(at + 6 * 3600e3), "21 Nov 2026, 4:05:07 pm");
    assert.equal(stampSeconds(Date.UTC(2026, 10, 21, 5, 5, 7)), "21 Nov 2026, 12:05:07 am");
    assert.equal(stampSeconds(Date.UTC(2026, 10, 21, 17, 0, 0)), "21 Nov 2026, 12:00:00 pm");
    assert.equal(setClock("Mars/Olympus", "h23"), "UTC"); // unknown: UTC, not an exception
    assert.equal(stampSeconds(ms), "21 Nov 2026, 09:05:07");
  } finally {
    setClock("UTC", "h23");
  }
});

test("axisLabels shows times of day over a day, dates over longer, on the page's clock", () => {
  try {
    setClock("Asia/Kolkata", "h23"); // UTC+05:30
    const t = Date.UTC(2026, 10, 20, 18, 30) / 1000; // local midnight, 21 Nov
    assert.deepEqual(axisLabels([t - 3600, t, t + 1800], 86400), ["23:00", "21 Nov", "00:30"]);
    assert.deepEqual(axisLabels([t, t + 86400], 7 * 86400), ["21 Nov", "22 Nov"]);
    setClock("Asia/Kolkata", "h12");
    assert.deepEqual(axisLabels([t + 13.5 * 3600], 3600), ["1:30 pm"]);
  } finally {
    setClock("UTC", "h23");
  }
});

test("withAlpha turns hex colours into rgba and leaves the rest", () => {
  assert.equal(withAlpha("#0b6470", 0.15), "rgba(11, 100, 112, 0.15)");
  assert.equal(withAlpha("#FFF", 0.5), "rgba(255, 255, 255, 0.5)");
  assert.equal(withAlpha("rgb(1, 2, 3)", 0.5), "rgb(1, 2, 3)");
  assert.equal(withAlpha("#12345", 0.5), "#12345");
});

test("validNEWS2 wants a numeric score and a known band, unless there is no data", () => {
  assert.ok(validNEWS2({ score: 0, band: "low" }));
  assert.ok(validNEWS2({ score: 0, no_data: true }));
  assert.ok(!validNEWS2(null));
  assert.ok(!validNEWS2({ score: "5", band: "medium" }));
  assert.ok(!validNEWS2({ score: 5, band: "purple" }));
  assert.ok(!validNEWS2({ score: 5 }));
});

test("news2View: no data", () => {
  const v = news2View({ score: 0, no_data: true, band: "low" });
  assert.deepEqual(v, { cls: "band band-none", text: "no data" });
  assert.equal(news2Text(v), "no data");
});

test("news2View: two or more missing make a low score incomplete, never a green low", () => {
  for (const band of ["low", "low-medium"]) {
    const v = news2View({ score: 2, band, incomplete: true, missing: ["Respiration rate", "Systolic BP", "Wellness"] });
    assert.equal(v.cls, "band band-incomplete");
    assert.equal(v.text, "2 · incomplete");
    assert.equal(v.title, "Not counted: Respiration rate, Systolic BP, Wellness");
    assert.deepEqual(v.missing, { text: "RR, SBP, Wellness", title: "Respiration rate, Systolic BP, Wellness" });
    assert.equal(v.partial, undefined);
    assert.equal(news2Text(v), "2 · incompletemissing: RR, SBP, Wellness");
  }
});

test("news2View: an incomplete score already medium or high shows its band", () => {
  const v = news2View({ score: 7, band: "high", incomplete: true, missing: ["Pulse", "Temperature"] });
  assert.deepEqual(v, { cls: "band band-high", text: "7 · high" });
});

test("news2View: one missing parameter makes the score partial", () => {
  const v = news2View({ score: 5, band: "medium", partial: true, missing: ["Consciousness"] });
  assert.deepEqual(v, { cls: "band band-medium", text: "5 · medium", partial: { title: "Not counted: Consciousness" } });
  assert.equal(news2Text(v), "5 · mediumpartial");
});

test("news2View: a complete score shows its band in words", () => {
  assert.deepEqual(news2View({ score: 3, band: "low-medium" }), { cls: "band band-low-medium", text: "3 · low–medium" });
  assert.deepEqual(news2View({ score: 1, band: "low", missing: "nonsense" }), { cls: "band band-low", text: "1 · low" });
});

test("silentDevices counts devices quiet for their silence or longer", () => {
  const now = 10 * HOUR;
  const devices = [
    { id: "a", last: now - 5 * MIN, silent_ms: 15 * MIN },
    { id: "b", last: now - 15 * MIN, silent_ms: 15 * MIN }, // exactly its silence: silent
    { id: "c", last: now - 2 * HOUR, silent_ms: HOUR },
  ];
  assert.equal(silentDevices(devices, now), 2);
  assert.equal(silentDevices([], now), 0);
});

test("devicesBadge: none, silent before low battery, low battery, reporting", () => {
  const now = 10 * HOUR;
  const ok = { id: "ok", last: now, silent_ms: HOUR };
  const quiet = { id: "quiet", last: now - 2 * HOUR, silent_ms: HOUR };
  const low = { id: "low", last: now, silent_ms: HOUR, low: true };
  assert.deepEqual(devicesBadge([], now), { text: "none" });
  assert.deepEqual(devicesBadge([ok, quiet, low], now), { tone: "status-tech", icon: "!", text: "1 of 3 silent" });
  assert.deepEqual(devicesBadge([ok, low], now), { tone: "status-tech", icon: "!", text: "1 low battery" });
  assert.deepEqual(devicesBadge([ok, ok], now), { tone: "status-ok", icon: "✓", text: "2 reporting" });
  assert.equal(badgeText(devicesBadge([ok, quiet], now)), "! 1 of 2 silent");
  assert.equal(badgeText(devicesBadge([], now)), "none");
});

test("validAlert wants ids, a state and a known severity", () => {
  const a = { id: "a1", patient: "p1", state: "firing", severity: "high" };
  assert.ok(validAlert(a));
  assert.ok(!validAlert(null));
  assert.ok(!validAlert({ ...a, id: 1 }));
  assert.ok(!validAlert({ ...a, patient: undefined }));
  assert.ok(!validAlert({ ...a, state: null }));
  assert.ok(!validAlert({ ...a, severity: "critical" }));
});

test("stateText says the state as the server's alertStateLabel does", () => {
  const now = Date.UTC(2026, 10, 21, 10, 0);
  const later = "2026-11-21T12:30:00Z", earlier = "2026-11-21T09:15:00Z";
  assert.equal(stateText({ state: "firing" }, now), "Firing — not acknowledged");
  assert.equal(stateText({ state: "acknowledged", snoozed_until: later }, now), "Snoozed until 21 Nov 2026, 12:30");
  assert.equal(stateText({ state: "acknowledged", snoozed_until: earlier, acknowledged_at: earlier }, now),
    "Acknowledged 21 Nov 2026, 09:15");
  assert.equal(stateText({ state: "acknowledged" }, now), "Acknowledged");
  assert.equal(stateText({ state: "resolved", resolved_at: earlier }, now), "Resolved 21 Nov 2026, 09:15");
  assert.equal(stateText({ state: "escalated" }, now), "escalated");
});

test("bannerMeta lists lateness, recovery, who has it, escalation and triggers", () => {
  const now = Date.UTC(2026, 10, 21, 10, 0);
  const a = {
    state: "firing", late: true, recovered_at: "2026-11-21T09:50:00Z", tier: 2, with: ["Dr Osei", "Jisoo Kim"],
    trigger_count: 3, last_triggered_at: "2026-11-21T09:55:00Z",
  };
  assert.equal(bannerMeta(a, now), "raised late · recovered 21 Nov 2026, 09:50, acknowledge to close · " +
    "with tier 2: Dr Osei, Jisoo Kim · escalated to tier 2 · 3 triggers · last triggered 5 min ago");
  assert.equal(bannerMeta({ state: "firing", tier: 1, with: [], last_triggered_at: "2026-11-21T10:00:00Z" }, now),
    "no one at tier 1 of the care team · 1 trigger · last triggered just now");
  assert.equal(bannerMeta({ state: "resolved", tier: 1, trigger_count: 1, recovered_at: "2026-11-21T09:50:00Z",
    last_triggered_at: "2026-11-21T08:00:00Z" }, now), "1 trigger · last triggered 2 h ago");
});

test("retriggeredMeta brings only the final age up to date", () => {
  const now = Date.UTC(2026, 10, 21, 10, 0);
  assert.equal(retriggeredMeta("with tier 1: Kim · 2 triggers · last triggered just now", now - 3 * HOUR, now),
    "with tier 1: Kim · 2 triggers · last triggered 3 h ago");
  assert.equal(retriggeredMeta("no age here", now, now), "no age here");
});
