/* Vigil live updates: census filtering, live vitals, patient charts (uPlot), the alert banner and
 * the /live socket.
 * Plain ES2020, no globals except window.vigilLive (test hook). CSP-safe: no eval, no innerHTML. */
(function () {
  "use strict";

  const probe = (window.vigilLive = { frames: 0, state: "closed" });

  // ---------- Pure helpers ----------

  // parseTime turns RFC 3339 (any fractional precision, e.g. Go's nanoseconds) into ms, or NaN.
  function parseTime(s) {
    if (typeof s !== "string" || s === "") return NaN;
    return Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
  }

  // ageText formats an age in ms the way the census shows it.
  function ageText(ms) {
    const min = Math.floor(ms / 60000);
    if (!(min >= 1)) return "just now"; // also covers clock skew (negative) and NaN
    if (min < 60) return min + " min ago";
    const h = Math.floor(min / 60);
    if (h < 48) return h + " h ago"; // same thresholds as the server's views.ago
    return Math.floor(h / 24) + " d ago";
  }

  // backoffDelay: 1 s doubling to a 30 s cap, with "equal jitter" (50–100 % of the step).
  function backoffDelay(attempt, rnd = Math.random) {
    const step = Math.min(30000, 1000 * 2 ** Math.max(0, attempt));
    return Math.round(step / 2 + rnd() * (step / 2));
  }

  function formatValue(v, decimals) {
    const d = parseInt(decimals, 10);
    if (d >= 0 && d <= 6) return Number(v).toFixed(d);
    return String(Math.round(Number(v) * 100) / 100);
  }

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  function cssVar(name, fallback) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  // withAlpha turns "#rgb"/"#rrggbb" into rgba(); other colour syntaxes are returned unchanged.
  function withAlpha(color, a) {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
    if (!m) return color;
    let hex = m[1];
    if (hex.length === 3) hex = hex.replace(/./g, "$&$&");
    const n = parseInt(hex, 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }

  // ---------- Status line ----------

  const statusEl = document.getElementById("live-status");
  function setStatus(kind, text) {
    if (!statusEl) return;
    const glyph = { ok: "● ", wait: "◌ ", down: "✕ " }[kind];
    statusEl.classList.remove("live-ok", "live-wait", "live-down");
    statusEl.classList.add("live-" + kind);
    statusEl.textContent = "";
    statusEl.append(el("span", "live-glyph", glyph), text);
    statusEl.firstChild.setAttribute("aria-hidden", "true");
  }

  // ---------- Census ----------

  // Looked up each time, so a table re-rendered by an htmx swap keeps working.
  const getCensus = () => document.getElementById("census");
  const BP_PART = { "8480-6": "sys", "8462-4": "dia" };

  function censusRows() {
    const census = getCensus();
    return census && census.tBodies.length ? Array.from(census.tBodies[0].rows) : [];
  }
  function findRow(id) {
    return censusRows().find((r) => r.dataset.patient === id) || null;
  }

  const BAND_LABEL = { "low": "low", "low-medium": "low–medium", "medium": "medium", "high": "high" };

  // applyNEWS2 shows a patient's new NEWS2 on the census: score and band in words, band class.
  const PARAM_ABBR = { "Respiration rate": "RR", "SpO₂": "SpO₂", "Systolic BP": "SBP", "Pulse": "HR",
    "Temperature": "Temp", "Air or oxygen": "O₂", "Consciousness": "ACVPU" };

  // news2Cell builds what the server's NEWS2Badge renders: "no data" when nothing was measured, a
  // grey "incomplete" (never a green low) when two or more parameters are missing, "partial" when one.
  function news2Cell(n) {
    const missing = Array.isArray(n.missing) ? n.missing : [];
    const nodes = [];
    if (n.no_data) {
      nodes.push(el("span", "band band-none", "no data"));
    } else if (n.incomplete && (n.band === "low" || n.band === "low-medium")) {
      const b = el("span", "band band-incomplete", n.score + " · incomplete");
      b.title = "Not counted: " + missing.join(", ");
      const abbr = el("abbr", null, missing.map((m) => PARAM_ABBR[m] || m).join(", "));
      abbr.title = missing.join(", ");
      const note = el("span", "muted", "missing: ");
      note.append(abbr);
      nodes.push(b, el("br"), note);
    } else {
      nodes.push(el("span", "band band-" + n.band, n.score + " · " + BAND_LABEL[n.band]));
      if (n.partial) {
        const p = el("span", "muted", "partial");
        p.title = "Not counted: " + missing.join(", ");
        nodes.push(el("br"), p);
      }
    }
    return nodes;
  }

  function applyNEWS2(msg) {
    const row = findRow(msg.patient);
    const n = msg.news2;
    if (!row || !n || typeof n.score !== "number" || !(n.no_data || n.band in BAND_LABEL)) return;
    const td = row.querySelector("td.news2");
    if (!td) return;
    const nodes = news2Cell(n);
    const text = nodes.map((x) => x.textContent).join("");
    if (td.textContent.trim() === text.trim()) return;
    td.replaceChildren(...nodes);
    row.dataset.news2 = String(n.no_data ? -1 : n.score);
    flash(td);
  }

  function applyFilters() {
    if (!getCensus()) return;
    const q = (document.getElementById("census-search")?.value || "").trim().toLowerCase();
    const team = document.getElementById("census-team")?.value || "";
    const alertsOnly = !!document.getElementById("census-alerts")?.checked;
    let shown = 0;
    for (const r of censusRows()) {
      const d = r.dataset;
      const ok =
        (!q || (d.name || "").toLowerCase().includes(q) || (d.mrn || "").toLowerCase().includes(q)) &&
        (!team || (d.teams || "").split("|").includes(team)) &&
        (!alertsOnly || parseInt(d.alerts, 10) > 0);
      r.hidden = !ok;
      if (ok) shown++;
    }
    const count = document.getElementById("census-count");
    if (count) count.textContent = String(shown);
  }

  // ensurePart returns the span.<cls> inside a cell, creating it (after a space) if missing.
  function ensurePart(td, cls) {
    let s = td.querySelector("span." + cls);
    if (!s) td.append(" ", (s = el("span", cls)));
    return s;
  }

  function refreshAge(td, now = Date.now()) {
    const at = parseTime(td.dataset.at);
    if (isNaN(at)) return;
    const stale = now - at > 3600000;
    td.classList.toggle("stale", stale);
    const age = ensurePart(td, "age");
    age.textContent = ageText(now - at) + (stale ? " · stale" : "");
    age.title = new Date(at).toLocaleString();
  }

  const flashTimers = new WeakMap();
  function flash(td) {
    clearTimeout(flashTimers.get(td));
    td.classList.remove("updated");
    void td.offsetWidth; // restart the CSS animation
    td.classList.add("updated");
    flashTimers.set(td, setTimeout(() => td.classList.remove("updated"), 2000));
  }

  // updateCell applies one reading to a census row; returns true when something changed.
  function updateCell(row, r, atMs) {
    const part = BP_PART[r.code];
    const td = Array.from(row.querySelectorAll("td.vital")).find(
      (c) => c.dataset.code === (part ? "bp" : r.code)
    );
    if (!td) return false;
    const cellAt = parseTime(td.dataset.at);
    const value = ensurePart(td, "value");
    if (part) {
      // Sys and dia share one cell: track each half's time so the second half of a pair applies.
      let sys = value.querySelector("span.sys"), dia = value.querySelector("span.dia");
      if (!sys || !dia) {
        value.textContent = "";
        sys = el("span", "sys", "—");
        dia = el("span", "dia", "—");
        value.append(sys, "/", dia);
      }
      const span = part === "sys" ? sys : dia;
      const partAt = span.dataset.at ? parseTime(span.dataset.at) : cellAt;
      if (!isNaN(partAt) && atMs <= partAt) return false;
      span.textContent = formatValue(r.value, td.dataset.decimals || "0");
      span.dataset.at = r.at;
      if (!isNaN(cellAt) && atMs <= cellAt) { flash(td); return true; }
    } else {
      if (!isNaN(cellAt) && atMs <= cellAt) return false;
      value.textContent = formatValue(r.value, td.dataset.decimals);
      const unit = ensurePart(td, "unit");
      if (!unit.textContent.trim() && r.unit) unit.textContent = r.unit; // keep server's display unit
    }
    td.dataset.at = r.at;
    refreshAge(td);
    flash(td);
    return true;
  }

  // ---------- Patient charts ----------

  const chartsSec = document.getElementById("charts");
  const RANGE_S = { "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000 };
  const HEIGHT = 180;
  let range = "1h";
  const charts = Array.from(chartsSec ? chartsSec.querySelectorAll("figure.chart[data-code]") : [], (fig) => {
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
  });

  function showEmpty(c, text) {
    if (c.plot) { c.plot.destroy(); c.plot = null; }
    c.canvas.removeAttribute("aria-label");
    if (c.empty) { c.empty.textContent = text; c.empty.hidden = false; }
  }

  // chartData merges fetched buckets with later live points, drops what fell out of the range.
  function chartData(c) {
    const cutoff = Date.now() / 1000 - RANGE_S[range] - c.bucket; // keep a bucket that overlaps the range
    const lastT = c.fetched.length ? c.fetched[c.fetched.length - 1].t : -Infinity;
    const pts = c.fetched.slice();
    if (range === "1h" || range === "24h") {
      for (const p of c.live) if (p.t > lastT) pts.push({ t: p.t, min: p.v, max: p.v, avg: p.v });
    }
    const keep = pts.filter((p) => p.t >= cutoff);
    const col = (k) => keep.map((p) => (Number.isFinite(p[k]) ? p[k] : null));
    const data = [col("t"), col("avg")];
    if (c.band) data.push(col("max"), col("min"));
    return data;
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
        axes: [{ ...axis }, { ...axis, label: c.unit, size: 56 }],
        cursor: { drag: { x: false, y: false, setScale: false } }, // no zoom: live redraws would reset it
      },
      data,
      c.canvas
    );
  }

  function draw(c) {
    c.timer = 0;
    c.lastDraw = Date.now();
    const data = chartData(c);
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
    const url = `/api/v1/patients/${encodeURIComponent(chartsSec.dataset.patient)}/series` +
      `?code=${encodeURIComponent(c.code)}&range=${encodeURIComponent(range)}`;
    c.fig.setAttribute("aria-busy", "true");
    try {
      const res = await fetch(url, { signal: ctrl.signal, credentials: "same-origin", headers: { Accept: "application/json" } });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
      const pts = Array.isArray(body.points) ? body.points.filter((p) => Number.isFinite(p.t)) : [];
      if (c.plot) { c.plot.destroy(); c.plot = null; } // band shape may change
      c.fetched = pts;
      c.bucket = Number.isFinite(body.bucket_seconds) ? body.bucket_seconds : 0;
      c.band = pts.some((p) => Number.isFinite(p.min) && Number.isFinite(p.max) && p.min !== p.max);
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

  function addLivePoint(c, t, v) {
    const a = c.live;
    let i = a.length;
    while (i > 0 && a[i - 1].t > t) i--; // readings mostly arrive in order: cheap insert
    a.splice(i, 0, { t, v });
    const cutoff = Date.now() / 1000 - RANGE_S["24h"];
    while (a.length && a[0].t < cutoff) a.shift();
    if (range === "1h" || range === "24h") scheduleDraw(c);
  }

  // ---------- Readings table (patient view) ----------

  const readingsTable = document.getElementById("readings-table");
  const numFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, useGrouping: false });
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // utcStamp matches the server's dateTimeSeconds: "21 Nov 2026, 10:00:00 UTC".
  function utcStamp(ms) {
    const d = new Date(ms), p = (n) => String(n).padStart(2, "0");
    return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ` +
      `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC`;
  }

  // rowTime is when a table row's reading was taken: data-at to the nanosecond (server and live
  // rows alike), else the <time>'s datetime.
  function rowTime(row) {
    return parseTime(row.dataset.at || row.querySelector("time")?.getAttribute("datetime"));
  }

  // addReadingRow shows a reading in the table unless a row shows it already (the seen-set is
  // bounded and may have forgotten it); rows stay newest first and at most 300.
  function addReadingRow(r, atMs, key) {
    const tbody = readingsTable.tBodies[0] || readingsTable.appendChild(el("tbody"));
    let before = null;
    for (const row of tbody.rows) {
      if (rowKey(row) === key) return;
      const t = rowTime(row);
      if (!before && !isNaN(t) && t < atMs) before = row; // out-of-order backfill stays sorted
    }
    for (const ph of tbody.querySelectorAll("td[colspan]")) ph.parentElement.remove(); // "no readings" row
    const chart = charts.find((c) => c.code === r.code);
    const unit = chart?.unit || r.unit || ""; // prefer the server's display unit
    const time = el("time", null, utcStamp(atMs));
    time.dateTime = new Date(atMs).toISOString();
    const tr = el("tr");
    if (named(r)) {
      tr.dataset.device = r.device;
      tr.dataset.reading = r.id;
    }
    tr.dataset.at = r.at;
    const tdTime = el("td");
    tdTime.append(time);
    const dec = chart?.fig.dataset.decimals; // optional; otherwise up to one decimal
    const num = dec ? formatValue(r.value, dec) : numFmt.format(r.value);
    tr.append(tdTime, el("td", null, chart?.label || r.code), el("td", "num", `${num} ${unit}`.trim()));
    tbody.insertBefore(tr, before);
    while (tbody.rows.length > 300) tbody.deleteRow(-1);
  }

  // ---------- Census: are the devices reporting? ----------

  // Each census row's devices cell carries its devices (id, last reading, silence). A device is
  // silent once it has sent nothing for its silence (the not-reporting rule's, for its expected
  // interval): the badge says "1 of 3 silent" as time passes, without waiting for a reload, and
  // "reporting" again as soon as its readings arrive.
  function devicesOf(td) {
    if (!td._devices) {
      try { td._devices = JSON.parse(td.dataset.devices || "[]"); } catch { td._devices = []; }
    }
    return td._devices;
  }

  function pill(cls, icon, text) {
    const p = el("span", "status-pill " + cls);
    const i = el("span", "status-icon", icon);
    i.setAttribute("aria-hidden", "true");
    p.append(i, " " + text);
    return p;
  }

  function refreshDevices(td, now = Date.now()) {
    const devices = devicesOf(td);
    const silent = devices.filter((d) => now - d.last >= d.silent_ms).length;
    const low = devices.filter((d) => d.low).length;
    let node;
    if (!devices.length) node = el("span", "muted", "none");
    else if (silent) node = pill("status-tech", "!", silent + " of " + devices.length + " silent");
    else if (low) node = pill("status-tech", "!", low + " low battery");
    else node = pill("status-ok", "✓", devices.length + " reporting");
    const text = node.textContent;
    if (td.textContent.trim() === text.trim()) return;
    td.replaceChildren(node);
    flash(td);
  }

  function devicesCell(row) { return row?.querySelector("td.devices"); }

  // deviceHeard notes that a device of the row just sent a reading.
  function deviceHeard(row, deviceID) {
    const td = devicesCell(row);
    if (!td || !deviceID) return;
    const d = devicesOf(td).find((x) => x.id === deviceID);
    if (d) { d.last = Date.now(); refreshDevices(td); }
  }

  // ---------- Applying frames ----------

  // A reading is named by its device and the device's id of it (the readings' primary key): the
  // same reading can come again — in the page's first replay, which reaches back before the page
  // was rendered, in the replay after a reconnect, in a relay's catch-up — and two devices can
  // measure the same code at the same instant. A frame without them (from a server older than
  // this page) falls back to patient, code and time.
  const idKey = (device, id) => JSON.stringify([device, id]);
  const named = (r) => typeof r.device === "string" && r.device !== "" && typeof r.id === "string" && r.id !== "";
  function readingKey(patient, r, ms) {
    if (named(r)) return idKey(r.device, r.id);
    return JSON.stringify([patient, r.code, ms]);
  }
  function rowKey(row) {
    const d = row.dataset;
    return d.device && d.reading ? idKey(d.device, d.reading) : "";
  }

  const seen = new Set(); // keys of readings already applied or shown by the server
  function firstTime(k) {
    if (seen.has(k)) return false;
    seen.add(k);
    if (seen.size > 20000) seen.delete(seen.values().next().value);
    return true;
  }

  // seedSeen marks the readings the server rendered in the table as shown.
  function seedSeen() {
    for (const row of readingsTable?.tBodies[0]?.rows || []) {
      const k = rowKey(row);
      if (k) firstTime(k);
    }
  }

  function applyReadings(msg) {
    const id = msg.patient;
    if (typeof id !== "string" || !Array.isArray(msg.readings)) return;
    const row = findRow(id);
    const isChartPatient = !!chartsSec && chartsSec.dataset.patient === id;
    if (!row && !isChartPatient) return; // unknown patient
    for (const r of msg.readings) {
      if (!r || typeof r.code !== "string" || !Number.isFinite(r.value)) continue;
      const ms = parseTime(r.at);
      if (isNaN(ms)) continue;
      const key = readingKey(id, r, ms);
      if (!firstTime(key)) continue;
      if (row) { updateCell(row, r, ms); deviceHeard(row, r.device); }
      if (isChartPatient) {
        for (const c of charts) if (c.code === r.code) addLivePoint(c, ms / 1000, r.value);
        if (readingsTable) addReadingRow(r, ms, key);
      }
    }
    probe.frames++;
  }

  // ---------- Alerts: the firing banner, census counts, the patient view's list, sound ----------

  const SEVERITY_RANK = { high: 0, medium: 1, low: 2 };
  const SEVERITY_WORD = { high: "High", medium: "Medium", low: "Low" };
  const SEVERITY_TONE = { high: "status-crit", medium: "status-warn", low: "status-unknown" };
  const getBanner = () => document.getElementById("alert-banner");
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const byAlert = (root, id) => root.querySelector(`[data-alert="${CSS.escape(id)}"]`);

  function validAlert(a) {
    return !!a && typeof a.id === "string" && typeof a.patient === "string" && typeof a.state === "string" &&
      a.severity in SEVERITY_RANK;
  }

  // stamp matches the server's dateTime: "21 Nov 2026, 10:05 UTC".
  function stamp(s) {
    const ms = parseTime(s);
    if (isNaN(ms)) return "";
    return utcStamp(ms).replace(/:\d\d UTC$/, " UTC");
  }

  // stateText says an alert's state in words, as the server's alertStateLabel does.
  function stateText(a) {
    if (a.state === "firing") return "Firing — not acknowledged";
    if (a.state === "acknowledged" && parseTime(a.snoozed_until) > Date.now()) return "Snoozed until " + stamp(a.snoozed_until);
    if (a.state === "acknowledged") return ("Acknowledged " + stamp(a.acknowledged_at)).trim();
    if (a.state === "resolved") return ("Resolved " + stamp(a.resolved_at)).trim();
    return a.state;
  }

  function severityPill(sev) {
    const pill = el("span", "status-pill " + SEVERITY_TONE[sev]);
    const icon = el("span", "status-icon", "!");
    icon.setAttribute("aria-hidden", "true");
    pill.append(icon, " " + SEVERITY_WORD[sev]);
    return pill;
  }

  function link(href, text, cls) {
    const a = el("a", cls, text);
    a.href = href;
    return a;
  }

  // The banner's patient (patient view) or the census row says who the patient is and whether the
  // viewer is on their care team.
  function patientName(id) {
    const b = getBanner();
    if (b && b.dataset.patient === id && b.dataset.patientName) return b.dataset.patientName;
    return findRow(id)?.querySelector("td a")?.textContent || "Patient";
  }
  function mayAct(id) {
    const b = getBanner();
    if (b && b.dataset.patient) return b.dataset.patient === id && b.dataset.care === "true";
    return findRow(id)?.dataset.care === "true";
  }

  // bannerMeta says what views.alertFacts says beside an alert, then its triggers.
  function bannerMeta(a) {
    const parts = [];
    if (a.late) parts.push("raised late");
    if (a.recovered_at && a.state === "firing") parts.push("recovered " + utcStamp(parseTime(a.recovered_at)) + ", acknowledge to close");
    if (a.state !== "resolved") {
      parts.push(Array.isArray(a.with) && a.with.length
        ? "with tier " + a.tier + ": " + a.with.join(", ")
        : "no one at tier " + a.tier + " of the care team");
    }
    if (a.tier > 1) parts.push("escalated to tier " + a.tier);
    const n = Number.isFinite(a.trigger_count) ? a.trigger_count : 1;
    parts.push(n === 1 ? "1 trigger" : n + " triggers");
    parts.push("last triggered " + ageText(Date.now() - parseTime(a.last_triggered_at)));
    return parts.join(" · ");
  }

  // bannerItem builds what the server's bannerAlert renders.
  function bannerItem(a) {
    const li = el("li", "banner-alert banner-" + a.severity);
    Object.assign(li.dataset, { alert: a.id, patient: a.patient, severity: a.severity, at: a.last_triggered_at || "" });
    li.append(severityPill(a.severity), " ", link("/patients/" + encodeURIComponent(a.patient), patientName(a.patient), "banner-patient"),
      ": ", el("span", "banner-summary", a.summary || ""), " ", el("span", "muted banner-meta", bannerMeta(a)), " ",
      link("/alerts/" + encodeURIComponent(a.id), "History"));
    if (mayAct(a.patient)) {
      const form = el("form", "inline-form");
      form.method = "post";
      form.action = "/alerts/" + encodeURIComponent(a.id) + "/acknowledge";
      form.setAttribute("data-ack-form", "");
      for (const [name, value] of [["_csrf", csrfToken()], ["return_to", location.pathname]]) {
        const input = el("input");
        Object.assign(input, { type: "hidden", name, value });
        form.append(input);
      }
      const btn = el("button", "button button-primary", "Acknowledge");
      btn.type = "submit";
      btn.dataset.ack = a.id;
      form.append(btn);
      li.append(" ", form);
    }
    return li;
  }

  // placeInBanner keeps the most severe first, then the most recently triggered; an item already
  // in its place is not moved (moving it would lose keyboard focus).
  function placeInBanner(list, li) {
    const rank = (n) => SEVERITY_RANK[n.dataset.severity] ?? 3;
    const at = (n) => parseTime(n.dataset.at) || 0;
    const goesBefore = (n) => rank(n) > rank(li) || (rank(n) === rank(li) && at(n) < at(li));
    const before = Array.from(list.children).find((n) => n !== li && goesBefore(n)) || null;
    if (li.parentNode === list && (li.nextElementSibling === before || li === before)) {
      const prev = li.previousElementSibling;
      if (!prev || !goesBefore(prev)) return;
    }
    list.insertBefore(li, before);
  }

  function refreshBanner() {
    const b = getBanner();
    if (!b) return;
    const n = b.querySelectorAll(".alert-banner-list > [data-alert]").length;
    const count = b.querySelector(".alert-banner-count");
    if (count) count.textContent = String(n);
    b.classList.toggle("has-firing", n > 0);
  }

  // applyToBanner shows a firing alert or takes away one that is not; true when it is newly shown.
  function applyToBanner(a) {
    const b = getBanner();
    const list = b?.querySelector(".alert-banner-list");
    if (!list || (b.dataset.patient && b.dataset.patient !== a.patient)) return false;
    const old = byAlert(list, a.id);
    if (a.state !== "firing" || a.category === "technical") { // technical alerts show with the devices, not here
      if (old) removeBannerItem(old);
      return false;
    }
    if (!old) {
      placeInBanner(list, bannerItem(a));
      refreshBanner();
      return true;
    }
    // Update in place (keeps focus on its button): severity, summary, escalation, triggers.
    old.dataset.at = a.last_triggered_at || old.dataset.at;
    if (old.dataset.severity !== a.severity) {
      old.dataset.severity = a.severity;
      old.className = "banner-alert banner-" + a.severity;
      old.querySelector(".status-pill")?.replaceWith(severityPill(a.severity));
    }
    const summary = old.querySelector(".banner-summary");
    if (summary && a.summary) summary.textContent = a.summary;
    const meta = old.querySelector(".banner-meta");
    if (meta) meta.textContent = bannerMeta(a);
    placeInBanner(list, old);
    return false;
  }

  // removeBannerItem takes an alert off the banner; focus inside it moves to the next alert's
  // button, or to the banner's heading.
  function removeBannerItem(li) {
    const hadFocus = li.contains(document.activeElement);
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    refreshBanner();
    if (!hadFocus) return;
    const target = next?.querySelector("button[data-ack]") || document.getElementById("alert-banner-title");
    target?.focus();
  }

  // applyToCensus keeps a census row's open-alert count exact, by the ids of its open alerts.
  function applyToCensus(a) {
    const row = findRow(a.patient);
    if (!row) return;
    const ids = new Set((row.dataset.openAlerts || "").split(" ").filter(Boolean));
    const open = a.state !== "resolved";
    if (open === ids.has(a.id)) return;
    if (open) ids.add(a.id);
    else ids.delete(a.id);
    row.dataset.openAlerts = Array.from(ids).join(" ");
    row.dataset.alerts = String(ids.size);
    const td = row.querySelector("td.open-alerts");
    if (td) {
      td.textContent = "";
      if (ids.size) {
        const pill = el("span", "status-pill status-warn");
        const icon = el("span", "status-icon", "!");
        icon.setAttribute("aria-hidden", "true");
        pill.append(icon, " " + ids.size);
        td.append(pill);
      } else {
        td.textContent = "0";
      }
      flash(td);
    }
    applyFilters();
  }

  // applyToPatientView updates the patient view's alert list: the state in words, and forms that
  // no longer apply; a new alert gets a row with a link to act on it.
  function applyToPatientView(a) {
    const table = document.getElementById("patient-alerts");
    if (!table || getBanner()?.dataset.patient !== a.patient) return;
    const row = byAlert(table, a.id);
    if (row) {
      const td = row.querySelector("td.alert-state");
      if (td && td.textContent.trim() !== stateText(a)) { td.textContent = stateText(a); flash(td); }
      if (a.state !== "firing") row.querySelector('form[action$="/acknowledge"]')?.remove();
      if (a.state === "resolved") row.querySelectorAll('form[action$="/snooze"], form[action$="/resolve"]').forEach((f) => f.remove());
      return;
    }
    const tbody = table.tBodies[0] || table.appendChild(el("tbody"));
    const tr = el("tr");
    tr.dataset.alert = a.id;
    const opened = el("time", null, stamp(a.opened_at));
    opened.dateTime = a.opened_at || "";
    const cells = [el("td"), el("td"), el("td"), el("td", "alert-state", stateText(a)), el("td")];
    cells[0].append(opened);
    cells[1].append(severityPill(a.severity));
    cells[2].append(link("/alerts/" + encodeURIComponent(a.id), a.summary || "Alert"));
    cells[4].append(link("/alerts/" + encodeURIComponent(a.id), mayAct(a.patient) ? "Act on it" : "History"));
    tr.append(...cells);
    tbody.insertBefore(tr, tbody.firstChild);
    table.hidden = false;
    document.querySelector(".alerts-empty")?.setAttribute("hidden", "");
  }

  function applyAlert(a) {
    if (!validAlert(a)) return;
    const isNew = applyToBanner(a);
    if (a.category !== "technical") applyToCensus(a); // technical alerts are the devices badge's business
    applyToPatientView(a);
    if (isNew && a.severity === "high" && a.category !== "technical" && soundOn()) tone();
    probe.alerts = (probe.alerts || 0) + 1;
  }

  // acknowledge sends the banner's Acknowledge through the JSON API (the plain form is the
  // fallback without script); the answer is applied at once, and the frame that every dashboard
  // gets does the same elsewhere.
  async function acknowledge(form) {
    const btn = form.querySelector("button[data-ack]");
    const item = form.closest("[data-alert]");
    if (!btn || !item) return;
    btn.disabled = true;
    item.querySelector(".banner-error")?.remove();
    try {
      const res = await fetch(`/api/v1/alerts/${encodeURIComponent(btn.dataset.ack)}/acknowledge`, {
        method: "POST", credentials: "same-origin", body: "{}",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
      });
      const body = await res.json().catch(() => ({}));
      if (res.status === 409) { removeBannerItem(item); return; } // no longer firing: someone else was first
      if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
      applyAlert(body);
    } catch (err) {
      btn.disabled = false;
      const msg = el("span", "banner-error", "Not acknowledged: " + err.message);
      msg.setAttribute("role", "alert");
      item.append(msg);
    }
  }

  // Sound: off by default; the choice is remembered in this browser. A short tone (WebAudio, no
  // file) for each new firing high alert.
  const SOUND_KEY = "vigil.alertSound";
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  let audio = null;
  function soundOn() {
    try { return localStorage.getItem(SOUND_KEY) === "on"; } catch { return false; }
  }
  function audioReady() {
    if (!AudioCtx) return null;
    if (!audio) audio = new AudioCtx();
    if (audio.state === "suspended") audio.resume().catch(() => {});
    return audio;
  }
  function tone() {
    const ctx = audioReady();
    if (!ctx) return;
    const t = ctx.currentTime, osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(660, t + 0.18);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.4);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.45);
  }
  function initSound() {
    const btn = document.getElementById("alert-sound");
    if (!btn || !AudioCtx) return;
    const show = () => {
      btn.setAttribute("aria-pressed", String(soundOn()));
      btn.textContent = "Sound for new high alerts: " + (soundOn() ? "on" : "off");
    };
    btn.hidden = false;
    show();
    btn.addEventListener("click", () => {
      try { localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on"); } catch { /* private mode: stays off */ }
      show();
      if (soundOn()) tone(); // a sample, and the gesture browsers require before audio may play
    });
    // Browsers start audio only after a gesture: wake it at the first one when sound is on.
    const wake = () => { if (soundOn()) audioReady(); };
    document.addEventListener("pointerdown", wake, { once: true });
    document.addEventListener("keydown", wake, { once: true });
  }

  // ---------- WebSocket with reconnect ----------

  const subscribed = new Set();
  let ws = null, attempt = 0, retryTimer = 0, since = "", stopped = false;
  // lastHeard is when this page last heard from the server (its clock): a drop is often noticed
  // only long after it happened (a laptop asleep, a dead network), so resuming from the moment the
  // close is seen would skip the outage.
  let lastHeard = 0;
  const resumePoint = () => new Date((lastHeard || Date.now()) - 60000).toISOString();

  function wantedPatients() {
    const ids = new Set(censusRows().map((r) => r.dataset.patient).filter(Boolean));
    if (chartsSec?.dataset.patient) ids.add(chartsSec.dataset.patient);
    const bannerPatient = getBanner()?.dataset.patient;
    if (bannerPatient) ids.add(bannerPatient);
    return ids;
  }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }

  function connect() {
    retryTimer = 0;
    if (stopped || ws) return;
    setStatus("wait", attempt ? "Reconnecting…" : "Connecting…");
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let opened = 0; // time the socket opened, 0 if it never did
    const sock = (ws = new WebSocket(`${proto}//${location.host}/live`));
    sock.onopen = () => {
      opened = Date.now();
      lastHeard = opened;
      probe.state = "open";
      setStatus("ok", "Live");
      subscribed.clear();
      for (const id of wantedPatients()) subscribed.add(id);
      const msg = { type: "subscribe", patients: Array.from(subscribed) };
      if (since) msg.since = since;
      if (subscribed.size) sock.send(JSON.stringify(msg));
    };
    sock.onmessage = (ev) => {
      lastHeard = Date.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "readings") applyReadings(msg);
      else if (msg.type === "news2") applyNEWS2(msg);
      else if (msg.type === "alert" && msg.alert?.patient === msg.patient) applyAlert(msg.alert);
      else if (msg.type === "error") console.warn("vigil live:", msg.patient || "", msg.message);
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      probe.state = "closed";
      // Ask for everything since a minute before the server was last heard from: no gap.
      if (opened) since = resumePoint();
      // Only a connection that stayed up a while resets the backoff (avoids a reconnect storm).
      if (opened && Date.now() - opened > 10000) attempt = 0;
      if (stopped) return;
      const delay = backoffDelay(attempt++);
      // Set once (not a ticking countdown) so screen readers are not flooded by the live region.
      setStatus("down", `Offline — retrying in ${Math.ceil(delay / 1000)} s`);
      retryTimer = setTimeout(connect, delay);
    };
  }

  // resync re-subscribes after the server re-renders census rows (e.g. an htmx swap).
  function resync() {
    applyFilters();
    const want = wantedPatients();
    const add = [...want].filter((id) => !subscribed.has(id));
    const drop = [...subscribed].filter((id) => !want.has(id));
    if (drop.length) send({ type: "unsubscribe", patients: drop });
    const rendered = getCensus()?.dataset.since;
    const addSince = isNaN(parseTime(rendered)) ? new Date(Date.now() - 60000).toISOString() : rendered;
    if (add.length) send({ type: "subscribe", patients: add, since: addSince });
    if (ws && ws.readyState === WebSocket.OPEN) { drop.forEach((id) => subscribed.delete(id)); add.forEach((id) => subscribed.add(id)); }
    if (want.size && !ws && !retryTimer && !stopped) connect();
  }

  // ---------- Wiring ----------

  function init() {
    initSound();
    seedSeen();
    // The banner's Acknowledge (delegated: items arrive live).
    document.addEventListener("submit", (ev) => {
      const form = ev.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-ack-form")) return;
      ev.preventDefault();
      acknowledge(form);
    });
    const ageTick = () => {
      // Re-read "last triggered" ages on the banner from its data.
      for (const li of document.querySelectorAll("#alert-banner [data-alert]")) {
        const meta = li.querySelector(".banner-meta");
        const at = parseTime(li.dataset.at);
        if (meta && !isNaN(at)) meta.textContent = meta.textContent.replace(/last triggered [^·]*$/, "last triggered " + ageText(Date.now() - at));
      }
    };
    setInterval(ageTick, 30000);
    // Census filters (delegated, so they work before the socket connects and after swaps).
    const FILTERS = new Set(["census-search", "census-team", "census-alerts"]);
    const onFilter = (ev) => { if (FILTERS.has(ev.target.id)) applyFilters(); };
    document.addEventListener("input", onFilter);
    document.addEventListener("change", onFilter);
    applyFilters(); // the browser may have restored control values
    const tick = () => getCensus()?.querySelectorAll("td.vital").forEach((td) => refreshAge(td));
    tick();
    setInterval(tick, 30000);
    const deviceTick = () => getCensus()?.querySelectorAll("td.devices").forEach((td) => refreshDevices(td));
    setInterval(deviceTick, 2000);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });

    if (chartsSec) {
      const buttons = Array.from(chartsSec.querySelectorAll(".range-buttons button[data-range]"));
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
      // Follow the figure's width (debounced). ResizeObserver also catches layout changes such as a
      // scrollbar appearing; .chart-canvas clips its content (CSS), so resizing cannot loop.
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

    // The earliest render time on the page is where the first subscription starts.
    const times = [getCensus()?.dataset.since, chartsSec?.dataset.since].filter((s) => !isNaN(parseTime(s)));
    times.sort((a, b) => parseTime(a) - parseTime(b));
    since = times[0] || "";

    document.body.addEventListener("htmx:afterSettle", resync);
    window.addEventListener("online", () => {
      if (retryTimer) { clearTimeout(retryTimer); connect(); }
    });
    window.addEventListener("pagehide", () => {
      stopped = true;
      clearTimeout(retryTimer); retryTimer = 0;
      if (!ws) return;
      if (ws.readyState === WebSocket.OPEN) since = resumePoint();
      const s = ws;
      ws = null;
      s.close(1000);
      probe.state = "closed";
    });
    window.addEventListener("pageshow", (ev) => {
      if (!ev.persisted) return; // back/forward cache restore: reconnect
      stopped = false;
      attempt = 0;
      resync();
    });

    if (wantedPatients().size && typeof WebSocket === "function") connect();
  }

  if (typeof document !== "undefined" && document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
