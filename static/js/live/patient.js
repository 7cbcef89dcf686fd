/* The patient view: its table of readings, which live readings join newest first, and its list
 * of alerts, whose states follow the stream. */

import { el, flash, link } from "./dom.js";
import { readingNumber, parseTime, stamp, stampSeconds, stateText } from "./format.js";
import { idKey, named } from "./frames.js";
import { chartFor } from "./charts.js";
import { bannerPatient, byAlert, mayAct, severityPill } from "./alerts.js";

const MAX_ROWS = 300;

// The patient view's readings table; set by initReadings.
let table = null;

// rowKey is the key of the reading a table row shows ("" for a row without device and id).
function rowKey(row) {
  const d = row.dataset;
  return d.device && d.reading ? idKey(d.device, d.reading) : "";
}

// rowTime is when a table row's reading was taken: data-at to the nanosecond (server and live
// rows alike), else the <time>'s datetime.
function rowTime(row) {
  return parseTime(row.dataset.at || row.querySelector("time")?.getAttribute("datetime"));
}

// initReadings finds the readings table and marks the readings the server rendered in it as
// seen; it reports whether the page has the table.
export function initReadings(seen) {
  table = document.getElementById("readings-table");
  for (const row of table?.tBodies[0]?.rows || []) {
    const k = rowKey(row);
    if (k) seen.firstTime(k);
  }
  return !!table;
}

// addReadingRow shows a reading in the table unless a row shows it already (the seen-set is
// bounded and may have forgotten it); rows stay newest first and at most MAX_ROWS.
export function addReadingRow(r, atMs, key) {
  if (!table) return;
  const tbody = table.tBodies[0] || table.appendChild(el("tbody"));
  let before = null;
  for (const row of tbody.rows) {
    if (rowKey(row) === key) return;
    const t = rowTime(row);
    if (!before && !isNaN(t) && t < atMs) before = row; // out-of-order backfill stays sorted
  }
  for (const ph of tbody.querySelectorAll("td[colspan]")) ph.parentElement.remove(); // "no readings" row
  const chart = chartFor(r.code);
  const unit = chart?.unit || r.unit || ""; // prefer the server's display unit
  const time = el("time", null, stampSeconds(atMs));
  time.dateTime = new Date(atMs).toISOString();
  const tr = el("tr");
  if (named(r)) {
    tr.dataset.device = r.device;
    tr.dataset.reading = r.id;
  }
  tr.dataset.at = r.at;
  const tdTime = el("td");
  tdTime.append(time);
  const num = readingNumber(r.value, chart?.decimals);
  tr.append(tdTime, el("td", null, chart?.label || r.code), el("td", "num", `${num} ${unit}`.trim()));
  tbody.insertBefore(tr, before);
  while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
}

// applyToPatientView updates the patient view's alert list: the state in words, and forms that
// no longer apply; a new alert gets a row with a link to act on it.
export function applyToPatientView(a) {
  const list = document.getElementById("patient-alerts");
  if (!list || bannerPatient() !== a.patient) return;
  const row = byAlert(list, a.id);
  if (row) {
    const td = row.querySelector("td.alert-state");
    const text = stateText(a, Date.now());
    if (td && td.textContent.trim() !== text) { td.textContent = text; flash(td); }
    if (a.state !== "firing") row.querySelector('form[action$="/acknowledge"]')?.remove();
    if (a.state === "resolved") row.querySelectorAll('form[action$="/snooze"], form[action$="/resolve"]').forEach((f) => f.remove());
    return;
  }
  const tbody = list.tBodies[0] || list.appendChild(el("tbody"));
  const tr = el("tr");
  tr.dataset.alert = a.id;
  const opened = el("time", null, stamp(a.opened_at));
  opened.dateTime = a.opened_at || "";
  const cells = [el("td"), el("td"), el("td"), el("td", "alert-state", stateText(a, Date.now())), el("td")];
  cells[0].append(opened);
  cells[1].append(severityPill(a.severity));
  cells[2].append(link("/alerts/" + encodeURIComponent(a.id), a.summary || "Alert"));
  cells[4].append(link("/alerts/" + encodeURIComponent(a.id), mayAct(a.patient) ? "Act on it" : "History"));
  tr.append(...cells);
  tbody.insertBefore(tr, tbody.firstChild);
  list.hidden = false;
  document.querySelector(".alerts-empty")?.setAttribute("hidden", "");
}
