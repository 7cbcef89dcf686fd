/* The patient view's charts (uPlot, vendored, loaded before this module as the global uPlot): one
 * per measure, over a chosen range, from the series API and then live points from the stream. */

import { cssVar, el } from "./dom.js";
import { axisLabels, clockZone, formatValue, withAlpha } from "./format.js";
import { RANGE_S, addLive, chartData, fetchedPoints, hasBand, showsLive } from "./series.js";

const HEIGHT = 180;

// The patient view's charts section, its selected range and its charts; set by initCharts.
let section = null;
let range = "1h";
let charts = [];

// chartPatient is the id of the patient whose charts the page shows, if any.
export const chartPatient = () => section?.dataset.patient;

// chartsSince is when the charts' page was rendered (RFC 3339), if it has charts.
export const chartsSince = () => section?.dataset.since;

// chartFor describes the chart of a measure, for the readings table: label, display unit and
// decimals; undefined when the page has no chart of it.
export function chartFor(code) {
  const c = charts.find((x) => x.code === code);
  return c && { label: c.label, unit: c.unit, decimals: c.fig.dataset.decimals };
}

function newChart(fig) {
  const empty = fig.querySelector(".chart-empty");
  return {
    fig, empty, code: fig.dataset.code, label: fig.dataset.label || fig.dataset.code, unit: fig.dataset.unit || "",
    canvas: fig.querySelector(".chart-canvas") || fig.appendChild(el("div", "chart-canvas")),
    emptyText: empty?.textContent || "No readings in this range.",
    fetched: [], // [{t, min, max, avg}] from the series API
    bucket: 0,   // its bucket_seconds
    live: [],    // [{t, v}] ascending, from the socket (kept for 24 h)
    band: false, plot: null, ctrl: null, lastDraw: 0, timer: 0,
  };
}

function showEmpty(c, text) {
  if (c.plot) { c.plot.destroy(); c.plot = null; }
  c.canvas.removeAttribute("aria-label");
  if (c.empty) { c.empty.textContent = text; c.empty.hidden = false; }
}

function makePlot(c, data) {
  const accent = cssVar("--accent", "#0b6470");
  const muted = cssVar("--text-muted", "#4b5862");
  const grid = cssVar("--border", "#c9d2d8");
  const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const series = [{}, { label: "Average", stroke: accent, width: 2 }];
  if (c.band) {
    const edge = { stroke: withAlpha(accent, 0.35), width: 1, points: { show: false } };
    series.push({ ...edge, label: "Max" }, { ...edge, label: "Min" });
  }
  return new uPlot(
    {
      width: c.canvas.clientWidth || 600,
      height: HEIGHT,
      series,
      bands: c.band ? [{ series: [2, 3], fill: withAlpha(accent, 0.15) }] : [],
      scales: { x: { time: true, auto: false } }, // set by draw(): always the whole selected range
      // Ticks fall on the page's clock (its zone's hours and midnights) and read as the tables do.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), clockZone()),
      axes: [
        { ...axis, values: (u, ticks) => axisLabels(ticks, u.scales.x.max - u.scales.x.min) },
        { ...axis, label: c.unit, size: 56 },
      ],
      cursor: { drag: { x: false, y: false, setScale: false } }, // no zoom: live redraws would reset it
    },
    data,
    c.canvas
  );
}

function draw(c) {
  c.timer = 0;
  c.lastDraw = Date.now();
  const data = chartData(c, range, Date.now() / 1000);
  const n = data[0].length;
  if (!n) return showEmpty(c, c.emptyText);
  if (typeof uPlot !== "function") return showEmpty(c, "Charts are unavailable.");
  if (c.empty) c.empty.hidden = true;
  if (c.plot) c.plot.setData(data);
  else c.plot = makePlot(c, data);
  const now = Date.now() / 1000; // x spans the selected range, ending now (or later, on clock skew)
  c.plot.setScale("x", { min: now - RANGE_S[range], max: Math.max(now, data[0][n - 1]) });
  // A short text summary for screen readers (the canvas itself is opaque to them).
  const last = data[1][n - 1];
  c.canvas.setAttribute("role", "img");
  c.canvas.setAttribute("aria-label",
    `${c.label}, last ${range}: ${n} points` + (last != null ? `, latest ${formatValue(last)} ${c.unit}` : ""));
}

// scheduleDraw throttles redraws to at most 4 per second per chart.
function scheduleDraw(c) {
  if (c.timer) return;
  c.timer = setTimeout(() => draw(c), Math.max(0, 250 - (Date.now() - c.lastDraw)));
}

async function loadChart(c) {
  if (c.ctrl) c.ctrl.abort();
  const ctrl = (c.ctrl = new AbortController());
  const url = `/api/v1/patients/${encodeURIComponent(section.dataset.patient)}/series` +
    `?code=${encodeURIComponent(c.code)}&range=${encodeURIComponent(range)}`;
  c.fig.setAttribute("aria-busy", "true");
  try {
    const res = await fetch(url, { signal: ctrl.signal, credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
    const pts = fetchedPoints(body);
    if (c.plot) { c.plot.destroy(); c.plot = null; } // band shape may change
    c.fetched = pts;
    c.bucket = Number.isFinite(body.bucket_seconds) ? body.bucket_seconds : 0;
    c.band = hasBand(pts);
    clearTimeout(c.timer);
    draw(c);
  } catch (err) {
    if (err.name === "AbortError") return;
    c.fetched = [];
    showEmpty(c, "Couldn’t load readings: " + err.message);
  } finally {
    if (c.ctrl === ctrl) { c.ctrl = null; c.fig.removeAttribute("aria-busy"); }
  }
}

// addLivePoint adds a reading of code (t in seconds) to its charts, redrawing soon when the
// selected range shows live points.
export function addLivePoint(code, t, v) {
  for (const c of charts) {
    if (c.code !== code) continue;
    addLive(c.live, t, v, Date.now() / 1000);
    if (showsLive(range)) scheduleDraw(c);
  }
}

// followWidth resizes the plots with their figures (debounced). ResizeObserver also catches
// layout changes such as a scrollbar appearing; .chart-canvas clips its content (CSS), so
// resizing cannot loop.
function followWidth() {
  let resizeTimer = 0;
  const resize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of charts) {
        const w = c.canvas.clientWidth;
        if (c.plot && w && w !== c.plot.width) c.plot.setSize({ width: w, height: HEIGHT });
      }
    }, 150);
  };
  window.addEventListener("resize", resize);
  if (typeof ResizeObserver === "function") {
    const ro = new ResizeObserver(resize);
    charts.forEach((c) => ro.observe(c.canvas));
  }
}

// initCharts finds the patient view's charts, wires the range buttons and loads each chart.
export function initCharts() {
  section = document.getElementById("charts");
  if (!section) return;
  charts = Array.from(section.querySelectorAll("figure.chart[data-code]"), newChart);
  const buttons = Array.from(section.querySelectorAll(".range-buttons button[data-range]"));
  const pressed = buttons.find((b) => b.getAttribute("aria-pressed") === "true");
  if (pressed && RANGE_S[pressed.dataset.range]) range = pressed.dataset.range;
  for (const b of buttons) {
    b.addEventListener("click", () => {
      if (!RANGE_S[b.dataset.range]) return;
      range = b.dataset.range;
      buttons.forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
      charts.forEach(loadChart);
    });
  }
  charts.forEach(loadChart);
  followWidth();
}
