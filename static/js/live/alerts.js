/* The firing-alert banner at the top of the census and the patient view: alerts come and go as
 * frames arrive, and its Acknowledge goes through the JSON API. Also who a patient is and whether
 * the viewer may act for them, as the banner or the census row says. */

import { csrfToken, el, link, pill } from "./dom.js";
import { SEVERITY_RANK, SEVERITY_TONE, SEVERITY_WORD, bannerMeta, parseTime, retriggeredMeta } from "./format.js";
import { findRow } from "./census.js";

export const getBanner = () => document.getElementById("alert-banner");

// bannerPatient is the patient of a patient view's banner; undefined on the census.
export const bannerPatient = () => getBanner()?.dataset.patient;

// byAlert finds the element of an alert inside root.
export const byAlert = (root, id) => root.querySelector(`[data-alert="${CSS.escape(id)}"]`);

// severityPill shows a severity as the server's views do.
export const severityPill = (sev) => pill(SEVERITY_TONE[sev], "!", SEVERITY_WORD[sev]);

// patientName is how the page names a patient: the banner's patient (patient view) or the
// census row's link.
function patientName(id) {
  const b = getBanner();
  if (b && b.dataset.patient === id && b.dataset.patientName) return b.dataset.patientName;
  return findRow(id)?.querySelector("td a")?.textContent || "Patient";
}

// mayAct says whether the viewer is on the patient's care team, as the banner or census row says.
export function mayAct(id) {
  const b = getBanner();
  if (b && b.dataset.patient) return b.dataset.patient === id && b.dataset.care === "true";
  return findRow(id)?.dataset.care === "true";
}

// bannerItem builds what the server's bannerAlert renders.
function bannerItem(a) {
  const li = el("li", "banner-alert banner-" + a.severity);
  Object.assign(li.dataset, { alert: a.id, patient: a.patient, severity: a.severity, at: a.last_triggered_at || "" });
  li.append(severityPill(a.severity), " ", link("/patients/" + encodeURIComponent(a.patient), patientName(a.patient), "banner-patient"),
    ": ", el("span", "banner-summary", a.summary || ""), " ", el("span", "muted banner-meta", bannerMeta(a, Date.now())), " ",
    link("/alerts/" + encodeURIComponent(a.id), "History"));
  if (mayAct(a.patient)) li.append(" ", ackForm(a));
  return li;
}

// ackForm is an item's Acknowledge: a plain form (the fallback without script) that this module
// sends through the JSON API.
function ackForm(a) {
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
  return form;
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
export function applyToBanner(a) {
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
  if (meta) meta.textContent = bannerMeta(a, Date.now());
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

// acknowledge sends the banner's Acknowledge through the JSON API; the answer goes to onAlert at
// once, and the frame that every dashboard gets does the same elsewhere.
async function acknowledge(form, onAlert) {
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
    onAlert(body);
  } catch (err) {
    btn.disabled = false;
    const msg = el("span", "banner-error", "Not acknowledged: " + err.message);
    msg.setAttribute("role", "alert");
    item.append(msg);
  }
}

// refreshAges re-reads the "last triggered" ages on the banner from its data.
function refreshAges() {
  for (const li of document.querySelectorAll("#alert-banner [data-alert]")) {
    const meta = li.querySelector(".banner-meta");
    const at = parseTime(li.dataset.at);
    if (meta && !isNaN(at)) meta.textContent = retriggeredMeta(meta.textContent, at, Date.now());
  }
}

// initBanner sends the banner's Acknowledge (delegated: items arrive live) through the API, its
// answer to onAlert, and keeps the banner's ages current.
export function initBanner(onAlert) {
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-ack-form")) return;
    ev.preventDefault();
    acknowledge(form, onAlert);
  });
  setInterval(refreshAges, 30000);
}
