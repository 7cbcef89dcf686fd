/* Vigil's live pages: the entry module, loaded by the layout as <script type="module">. It wires
 * the parts — census (census.js), patient view (patient.js, charts.js), alert banner (alerts.js),
 * sound (sound.js) — to the /live socket (connection.js) and applies each frame to all of them.
 * Plain ES2020 modules, no globals except window.vigilLive (a test hook), CSP-safe: no eval, no
 * innerHTML. No module but this one does anything when imported. */

import { parseTime, setClock, validAlert } from "./format.js";
import { Seen, alertOf, earliest, readingKey, validReading } from "./frames.js";
import { applyAlertCount, applyFilters, applyNEWS2, censusRows, deviceHeard, findRow, getCensus, initCensus, updateCell } from "./census.js";
import { addLivePoint, chartPatient, chartsSince, initCharts } from "./charts.js";
import { addReadingRow, applyToPatientView, initReadings } from "./patient.js";
import { applyToBanner, bannerPatient, initBanner } from "./alerts.js";
import { initSound, soundOn, tone } from "./sound.js";
import { liveConnection } from "./connection.js";

// probe is what the browser tests watch: frames applied, alerts applied, the socket's state.
const probe = (window.vigilLive = { frames: 0, state: "closed" });

// seen holds the keys of readings already shown, so a reading that comes again is shown once.
const seen = new Seen();
let hasReadingsTable = false;

// wantedPatients are the patients the page shows: census rows, the charts' and the banner's.
function wantedPatients() {
  const ids = new Set(censusRows().map((r) => r.dataset.patient).filter(Boolean));
  if (chartPatient()) ids.add(chartPatient());
  if (bannerPatient()) ids.add(bannerPatient());
  return ids;
}

// applyReadings puts a frame's new readings on the census row, the charts and the readings table.
function applyReadings(msg) {
  const id = msg.patient;
  if (typeof id !== "string" || !Array.isArray(msg.readings)) return;
  const row = findRow(id);
  const isChartPatient = chartPatient() === id;
  if (!row && !isChartPatient) return; // unknown patient
  for (const r of msg.readings) {
    if (!validReading(r)) continue;
    const ms = parseTime(r.at);
    const key = readingKey(id, r, ms);
    if (!seen.firstTime(key)) continue;
    if (row) { updateCell(row, r, ms); deviceHeard(row, r.device); }
    if (isChartPatient) {
      addLivePoint(r.code, ms / 1000, r.value);
      if (hasReadingsTable) addReadingRow(r, ms, key);
    }
  }
  probe.frames++;
}

// applyAlert shows an alert's new state on the banner, the census and the patient view, with a
// tone for a new firing high clinical alert when sound is on.
function applyAlert(a) {
  if (!validAlert(a)) return;
  const isNew = applyToBanner(a);
  if (a.category !== "technical") applyAlertCount(a); // technical alerts are the devices badge's business
  applyToPatientView(a);
  if (isNew && a.severity === "high" && a.category !== "technical" && soundOn()) tone();
  probe.alerts = (probe.alerts || 0) + 1;
}

function applyFrame(msg) {
  if (msg.type === "readings") applyReadings(msg);
  else if (msg.type === "news2") applyNEWS2(msg);
  else if (msg.type === "alert" && alertOf(msg)) applyAlert(alertOf(msg));
  else if (msg.type === "error") console.warn("vigil live:", msg.patient || "", msg.message);
}

function init() {
  const html = document.documentElement; // the viewer's clock, as the server renders times
  setClock(html.dataset.timeZone, html.dataset.hourCycle);
  initSound();
  hasReadingsTable = initReadings(seen);
  initBanner(applyAlert);
  initCensus();
  initCharts();

  const live = liveConnection({
    url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/live`,
    wanted: wantedPatients,
    onFrame: applyFrame,
    onState: (state) => { probe.state = state; },
  });
  const renderedSince = () => getCensus()?.dataset.since;
  document.body.addEventListener("htmx:afterSettle", () => { applyFilters(); live.resync(renderedSince()); });
  window.addEventListener("online", () => live.retryNow());
  window.addEventListener("pagehide", () => live.stop());
  window.addEventListener("pageshow", (ev) => {
    if (!ev.persisted) return; // back/forward cache restore: reconnect
    applyFilters();
    live.resume(renderedSince());
  });
  // The earliest render time on the page is where the first subscription starts.
  live.start(earliest([renderedSince(), chartsSince()]));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
