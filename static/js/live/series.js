/* The data behind the patient view's charts: buckets from the series API joined with live points
 * from the stream. Pure: no DOM, no uPlot, no clock (callers pass the time in seconds), so Node's
 * test runner covers it (static/js/test/series.test.mjs). */

// RANGE_S is each chart range in seconds.
export const RANGE_S = { "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000 };

// LIVE_KEEP_S is how long live points are kept: the longest range that shows them.
export const LIVE_KEEP_S = RANGE_S["24h"];

// showsLive says whether a range adds live points to its buckets (longer ranges are too coarse).
export const showsLive = (range) => range === "1h" || range === "24h";

// fetchedPoints are the usable points of a series API answer: those with a time.
export function fetchedPoints(body) {
  return Array.isArray(body.points) ? body.points.filter((p) => Number.isFinite(p.t)) : [];
}

// hasBand says whether any bucket spans a range of values, so the chart draws min and max.
export function hasBand(points) {
  return points.some((p) => Number.isFinite(p.min) && Number.isFinite(p.max) && p.min !== p.max);
}

// chartData merges a chart's fetched buckets with its later live points and drops what fell out
// of the range: uPlot's columns [t, avg] (and [max, min] with a band), null where a value is missing.
export function chartData(c, range, nowS) {
  const cutoff = nowS - RANGE_S[range] - c.bucket; // keep a bucket that overlaps the range
  const lastT = c.fetched.length ? c.fetched[c.fetched.length - 1].t : -Infinity;
  const pts = c.fetched.slice();
  if (showsLive(range)) {
    for (const p of c.live) if (p.t > lastT) pts.push({ t: p.t, min: p.v, max: p.v, avg: p.v });
  }
  const keep = pts.filter((p) => p.t >= cutoff);
  const col = (k) => keep.map((p) => (Number.isFinite(p[k]) ? p[k] : null));
  const data = [col("t"), col("avg")];
  if (c.band) data.push(col("max"), col("min"));
  return data;
}

// addLive inserts a live point {t, v} into live (ascending by t) and drops points older than
// LIVE_KEEP_S before nowS.
export function addLive(live, t, v, nowS) {
  let i = live.length;
  while (i > 0 && live[i - 1].t > t) i--; // readings mostly arrive in order: cheap insert
  live.splice(i, 0, { t, v });
  const cutoff = nowS - LIVE_KEEP_S;
  while (live.length && live[0].t < cutoff) live.shift();
}
