/* The census: filtering its rows, and keeping each row's vitals, NEWS2, open alerts and devices
 * badge true as frames arrive and time passes. The table is looked up each time, so one
 * re-rendered by an htmx swap keeps working. */

import { el, flash, pill } from "./dom.js";
import {
  STALE_MS, ageText, badgeText, devicesBadge, formatValue, news2Text, news2View, parseTime, stampSeconds, validNEWS2,
} from "./format.js";

export const getCensus = () => document.getElementById("census");

// censusRows are the census table's rows, none when the page has no census.
export function censusRows() {
  const census = getCensus();
  return census && census.tBodies.length ? Array.from(census.tBodies[0].rows) : [];
}

// findRow is the census row of a patient, or null.
export function findRow(id) {
  return censusRows().find((r) => r.dataset.patient === id) || null;
}

// applyNEWS2 shows a patient's new NEWS2 on the census: score and band in words, band class.
export function applyNEWS2(msg) {
  const row = findRow(msg.patient);
  const n = msg.news2;
  if (!row || !validNEWS2(n)) return;
  const td = row.querySelector("td.news2");
  if (!td) return;
  const view = news2View(n);
  if (td.textContent.trim() === news2Text(view).trim()) return;
  td.replaceChildren(...news2Nodes(view));
  row.dataset.news2 = String(n.no_data ? -1 : n.score);
  flash(td);
}

// news2Nodes builds what the server's NEWS2Badge renders for view.
function news2Nodes(view) {
  const band = el("span", view.cls, view.text);
  if (view.title) band.title = view.title;
  if (view.missing) {
    const abbr = el("abbr", null, view.missing.text);
    abbr.title = view.missing.title;
    const note = el("span", "muted", "missing: ");
    note.append(abbr);
    return [band, el("br"), note];
  }
  if (view.partial) {
    const p = el("span", "muted", "partial");
    p.title = view.partial.title;
    return [band, el("br"), p];
  }
  return [band];
}

// rowMatches says whether a census row (its dataset) passes the filters: a search of name and
// MRN, a care team, and "with open alerts only".
export function rowMatches(d, { q, team, alertsOnly }) {
  return (!q || (d.name || "").toLowerCase().includes(q) || (d.mrn || "").toLowerCase().includes(q)) &&
    (!team || (d.teams || "").split("|").includes(team)) &&
    (!alertsOnly || parseInt(d.alerts, 10) > 0);
}

// applyFilters shows the rows that pass the census's filters and counts them.
export function applyFilters() {
  if (!getCensus()) return;
  const filter = {
    q: (document.getElementById("census-search")?.value || "").trim().toLowerCase(),
    team: document.getElementById("census-team")?.value || "",
    alertsOnly: !!document.getElementById("census-alerts")?.checked,
  };
  let shown = 0;
  for (const r of censusRows()) {
    const ok = rowMatches(r.dataset, filter);
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

// refreshAge shows how old a vital cell's reading is, and marks it stale after an hour.
export function refreshAge(td, now = Date.now()) {
  const at = parseTime(td.dataset.at);
  if (isNaN(at)) return;
  const stale = now - at > STALE_MS;
  td.classList.toggle("stale", stale);
  const age = ensurePart(td, "age");
  age.textContent = ageText(now - at) + (stale ? " · stale" : "");
  age.title = stampSeconds(at);
}

// BP_PART names the half of the blood-pressure cell each code fills.
const BP_PART = { "8480-6": "sys", "8462-4": "dia" };

// updateCell applies one reading to a census row; returns true when something changed.
export function updateCell(row, r, atMs) {
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

// applyAlertCount keeps a census row's open-alert count exact, by the ids of its open alerts.
export function applyAlertCount(a) {
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
    if (ids.size) td.append(pill("status-warn", "!", String(ids.size)));
    else td.textContent = "0";
    flash(td);
  }
  applyFilters();
}

// ---------- Are the devices reporting? ----------

// Each census row's devices cell carries its devices (id, last reading, silence). A device is
// silent once it has sent nothing for its silence: the badge says "1 of 3 silent" as time
// passes, without waiting for a reload, and "reporting" again as soon as its readings arrive.
function devicesOf(td) {
  if (!td._devices) {
    try { td._devices = JSON.parse(td.dataset.devices || "[]"); } catch { td._devices = []; }
  }
  return td._devices;
}

// refreshDevices redraws a devices badge when what it says has changed.
export function refreshDevices(td, now = Date.now()) {
  const badge = devicesBadge(devicesOf(td), now);
  if (td.textContent.trim() === badgeText(badge).trim()) return;
  td.replaceChildren(badge.tone ? pill(badge.tone, badge.icon, badge.text) : el("span", "muted", badge.text));
  flash(td);
}

// deviceHeard notes that a device of the row just sent a reading.
export function deviceHeard(row, deviceID) {
  const td = row?.querySelector("td.devices");
  if (!td || !deviceID) return;
  const d = devicesOf(td).find((x) => x.id === deviceID);
  if (d) { d.last = Date.now(); refreshDevices(td); }
}

// initCensus wires the filters (delegated, so they work before the socket connects and after
// swaps) and the clocks that age the vitals and the devices badges.
export function initCensus() {
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
}
