/* The words and numbers the live pages show, as the server's views render them. Pure: no DOM, no
 * clock (callers pass `now`), so Node's test runner covers it (static/js/test/format.test.mjs). */

// parseTime turns RFC 3339 (any fractional precision, e.g. Go's nanoseconds) into ms, or NaN.
export function parseTime(s) {
  if (typeof s !== "string" || s === "") return NaN;
  return Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
}

// STALE_MS is how old a census vital may be before it is marked stale: one hour.
export const STALE_MS = 3600000;

// ageText formats an age in ms the way the census shows it.
export function ageText(ms) {
  const min = Math.floor(ms / 60000);
  if (!(min >= 1)) return "just now"; // also covers clock skew (negative) and NaN
  if (min < 60) return min + " min ago";
  const h = Math.floor(min / 60);
  if (h < 48) return h + " h ago"; // same thresholds as the server's views.ago
  return Math.floor(h / 24) + " d ago";
}

// formatValue shows v with the given number of decimals (0–6), else rounded to two decimals.
export function formatValue(v, decimals) {
  const d = parseInt(decimals, 10);
  if (d >= 0 && d <= 6) return Number(v).toFixed(d);
  return String(Math.round(Number(v) * 100) / 100);
}

const oneDecimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, useGrouping: false });

// readingNumber is a reading's value as the patient view's table shows it: the measure's decimals
// when the page gives them, otherwise up to one decimal.
export function readingNumber(v, decimals) {
  return decimals ? formatValue(v, decimals) : oneDecimal.format(v);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// The page's clock, as rpm.Clock on the server: a time zone and a 12- or 24-hour cycle, from the
// layout's <html data-time-zone data-hour-cycle>. UTC on a 24-hour clock until setClock is called.
let clock = { zone: "UTC", hour12: false, parts: null };

// setClock sets the clock every time below is shown on; an unknown zone leaves UTC. It returns the
// zone in use.
export function setClock(zone, hourCycle) {
  let fmt;
  try {
    fmt = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone || "UTC", hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    });
  } catch {
    return setClock("UTC", hourCycle);
  }
  clock = { zone: zone || "UTC", hour12: hourCycle === "h12", parts: fmt };
  return clock.zone;
}
setClock("UTC", "h23");

// clockZone is the page's time zone.
export const clockZone = () => clock.zone;

// clockParts is an instant (ms) on the page's clock: {year, month (0–11), day, hour (0–23),
// minute, second}.
export function clockParts(ms) {
  const out = {};
  for (const p of clock.parts.formatToParts(new Date(ms))) {
    if (p.type !== "literal") out[p.type] = parseInt(p.value, 10);
  }
  return { year: out.year, month: out.month - 1, day: out.day, hour: out.hour % 24, minute: out.minute, second: out.second };
}

const pad = (n) => String(n).padStart(2, "0");

// timeText is a time of day as rpm.Clock shows it: "14:05", "14:05:07", "2:05 pm", "2:05:07 pm".
export function timeText(p, seconds) {
  const rest = ":" + pad(p.minute) + (seconds ? ":" + pad(p.second) : "");
  if (!clock.hour12) return pad(p.hour) + rest;
  return (p.hour % 12 || 12) + rest + (p.hour < 12 ? " am" : " pm");
}

// stampSeconds matches the server's dateTimeSeconds: "21 Nov 2026, 10:00:00".
export function stampSeconds(ms) {
  const p = clockParts(ms);
  return `${p.day} ${MONTHS[p.month]} ${p.year}, ${timeText(p, true)}`;
}

// stamp matches the server's dateTime: "21 Nov 2026, 10:05"; "" for a missing time.
export function stamp(s) {
  const ms = parseTime(s);
  if (isNaN(ms)) return "";
  const p = clockParts(ms);
  return `${p.day} ${MONTHS[p.month]} ${p.year}, ${timeText(p, false)}`;
}

// axisLabels are a time axis's tick labels (ticks in seconds) on the page's clock: the time of
// day over a day or less — the date instead at midnight — and the date over longer spans.
export function axisLabels(ticks, spanSeconds) {
  return ticks.map((t) => {
    const p = clockParts(t * 1000);
    const date = p.day + " " + MONTHS[p.month];
    if (spanSeconds > 2 * 86400) return date;
    return p.hour === 0 && p.minute === 0 ? date : timeText(p, false);
  });
}

// withAlpha turns "#rgb"/"#rrggbb" into rgba(); other colour syntaxes are returned unchanged.
export function withAlpha(color, a) {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  let hex = m[1];
  if (hex.length === 3) hex = hex.replace(/./g, "$&$&");
  const n = parseInt(hex, 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

// ---------- NEWS2 on the census ----------

export const BAND_LABEL = { "low": "low", "low-medium": "low–medium", "medium": "medium", "high": "high" };

// PARAM_ABBR shortens the names of NEWS2's parameters for the "missing:" note.
export const PARAM_ABBR = { "Respiration rate": "RR", "SpO₂": "SpO₂", "Systolic BP": "SBP", "Pulse": "HR",
  "Temperature": "Temp", "Air or oxygen": "O₂", "Consciousness": "ACVPU" };

// validNEWS2 says whether a frame's NEWS2 can be shown: a numeric score, and a known band unless
// nothing was measured.
export function validNEWS2(n) {
  return !!n && typeof n.score === "number" && !!(n.no_data || n.band in BAND_LABEL);
}

// news2View decides what the server's NEWS2Badge renders: "no data" when nothing was measured, a
// grey "incomplete" (never a green low) when two or more parameters are missing, "partial" when
// one. It returns the band's class, text and title, and at most one of missing (the note under an
// incomplete score) and partial (the note under a partial one).
export function news2View(n) {
  const missing = Array.isArray(n.missing) ? n.missing : [];
  const notCounted = "Not counted: " + missing.join(", ");
  if (n.no_data) return { cls: "band band-none", text: "no data" };
  if (n.incomplete && (n.band === "low" || n.band === "low-medium")) {
    return {
      cls: "band band-incomplete", text: n.score + " · incomplete", title: notCounted,
      missing: { text: missing.map((m) => PARAM_ABBR[m] || m).join(", "), title: missing.join(", ") },
    };
  }
  const view = { cls: "band band-" + n.band, text: n.score + " · " + BAND_LABEL[n.band] };
  if (n.partial) view.partial = { title: notCounted };
  return view;
}

// news2Text is the text a cell showing view has, to tell whether it needs redrawing.
export function news2Text(view) {
  if (view.missing) return view.text + "missing: " + view.missing.text;
  return view.text + (view.partial ? "partial" : "");
}

// ---------- Devices on the census ----------

// silentDevices counts the devices that have sent nothing for their silence (the not-reporting
// rule's, for the device's expected interval); each is {id, last, silent_ms, low}, times in ms.
export function silentDevices(devices, now) {
  return devices.filter((d) => now - d.last >= d.silent_ms).length;
}

// devicesBadge decides the census's devices badge: "none", "1 of 3 silent", "2 low battery" or
// "3 reporting". A badge with a tone is a status pill with that icon.
export function devicesBadge(devices, now) {
  if (!devices.length) return { text: "none" };
  const silent = silentDevices(devices, now);
  if (silent) return { tone: "status-tech", icon: "!", text: silent + " of " + devices.length + " silent" };
  const low = devices.filter((d) => d.low).length;
  if (low) return { tone: "status-tech", icon: "!", text: low + " low battery" };
  return { tone: "status-ok", icon: "✓", text: devices.length + " reporting" };
}

// badgeText is the text a cell showing badge has (a pill's icon, a space, its words).
export function badgeText(badge) {
  return badge.icon ? badge.icon + " " + badge.text : badge.text;
}

// ---------- Alerts ----------

export const SEVERITY_RANK = { high: 0, medium: 1, low: 2 };
export const SEVERITY_WORD = { high: "High", medium: "Medium", low: "Low" };
export const SEVERITY_TONE = { high: "status-crit", medium: "status-warn", low: "status-unknown" };

// validAlert says whether an alert from the stream or the API has what the pages need.
export function validAlert(a) {
  return !!a && typeof a.id === "string" && typeof a.patient === "string" && typeof a.state === "string" &&
    a.severity in SEVERITY_RANK;
}

// stateText says an alert's state in words, as the server's alertStateLabel does.
export function stateText(a, now) {
  if (a.state === "firing") return "Firing — not acknowledged";
  if (a.state === "acknowledged" && parseTime(a.snoozed_until) > now) return "Snoozed until " + stamp(a.snoozed_until);
  if (a.state === "acknowledged") return ("Acknowledged " + stamp(a.acknowledged_at)).trim();
  if (a.state === "resolved") return ("Resolved " + stamp(a.resolved_at)).trim();
  return a.state;
}

// bannerMeta says what views.alertFacts says beside an alert, then its triggers.
export function bannerMeta(a, now) {
  const parts = [];
  if (a.late) parts.push("raised late");
  if (a.recovered_at && a.state === "firing") parts.push("recovered " + stamp(a.recovered_at) + ", acknowledge to close");
  if (a.state !== "resolved") {
    parts.push(Array.isArray(a.with) && a.with.length
      ? "with tier " + a.tier + ": " + a.with.join(", ")
      : "no one at tier " + a.tier + " of the care team");
  }
  if (a.tier > 1) parts.push("escalated to tier " + a.tier);
  const n = Number.isFinite(a.trigger_count) ? a.trigger_count : 1;
  parts.push(n === 1 ? "1 trigger" : n + " triggers");
  parts.push("last triggered " + ageText(now - parseTime(a.last_triggered_at)));
  return parts.join(" · ");
}

// retriggeredMeta brings the "last triggered" age at the end of a banner item's meta up to date.
export function retriggeredMeta(meta, at, now) {
  return meta.replace(/last triggered [^·]*$/, "last triggered " + ageText(now - at));
}
