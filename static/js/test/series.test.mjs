// Unit tests of live/series.js: the charts' data, joined from the series API and the stream.
import test from "node:test";
import assert from "node:assert/strict";
import { LIVE_KEEP_S, RANGE_S, addLive, chartData, fetchedPoints, hasBand, showsLive } from "../live/series.js";

const now = 1_800_000_000; // seconds

test("only the 1 h and 24 h ranges show live points", () => {
  assert.deepEqual(Object.keys(RANGE_S).filter(showsLive), ["1h", "24h"]);
  assert.equal(LIVE_KEEP_S, 86400);
});

test("fetchedPoints keeps the points with a time; hasBand wants a bucket with a spread", () => {
  assert.deepEqual(fetchedPoints({ points: [{ t: 1, avg: 2 }, { avg: 3 }, { t: "4" }] }), [{ t: 1, avg: 2 }]);
  assert.deepEqual(fetchedPoints({}), []);
  assert.ok(!hasBand([{ t: 1, min: 2, max: 2 }, { t: 2, avg: 3 }]));
  assert.ok(hasBand([{ t: 1, min: 2, max: 2 }, { t: 2, min: 3, max: 4 }]));
});

test("chartData adds live points after the last bucket and drops what left the range", () => {
  const c = {
    bucket: 60, band: false,
    fetched: [{ t: now - 3700, avg: 1 }, { t: now - 3630, avg: 2 }, { t: now - 600, avg: 3 }],
    live: [{ t: now - 900, v: 9 }, { t: now - 600, v: 9 }, { t: now - 30, v: 4 }],
  };
  // now-3700 is older than the range and its bucket; now-3630 overlaps the range; live points
  // up to the last bucket are in it already.
  assert.deepEqual(chartData(c, "1h", now), [[now - 3630, now - 600, now - 30], [2, 3, 4]]);
  assert.deepEqual(chartData(c, "7d", now), [[now - 3700, now - 3630, now - 600], [1, 2, 3]]);
});

test("chartData gives min and max columns with a band, null where a value is missing", () => {
  const c = { bucket: 0, band: true, fetched: [{ t: now - 60, avg: 5, min: 4, max: 7 }, { t: now - 30, avg: null }], live: [{ t: now, v: 6 }] };
  assert.deepEqual(chartData(c, "24h", now), [[now - 60, now - 30, now], [5, null, 6], [7, null, 6], [4, null, 6]]);
  assert.deepEqual(chartData({ bucket: 0, band: false, fetched: [], live: [] }, "1h", now), [[], []]);
});

test("addLive keeps points in time order and for 24 h", () => {
  const live = [];
  addLive(live, now - 20, 1, now);
  addLive(live, now - 10, 2, now);
  addLive(live, now - 15, 3, now); // out of order
  addLive(live, now - 10, 4, now); // same time: after the one there
  assert.deepEqual(live.map((p) => p.v), [1, 3, 2, 4]);
  addLive(live, now + 86400 - 13, 5, now + 86400 - 12); // a day after now-12: the two before it fall out
  assert.deepEqual(live.map((p) => p.v), [2, 4, 5]);
});
