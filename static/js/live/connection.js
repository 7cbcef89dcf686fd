/* The /live socket: subscribe to the patients the page shows, reconnect with backoff, resume from
 * where the page last heard the server so an outage leaves no gap, and follow the page when it
 * re-renders (an htmx swap) or comes back from the back/forward cache. The page's parts come in as
 * callbacks, so this module touches no DOM except the status line (also replaceable). */

import { parseTime } from "./format.js";
import { backoffDelay, parseFrame, resumePoint, subscriptionChange } from "./frames.js";

const OPEN = 1; // WebSocket.OPEN
const STEADY_MS = 10000; // a connection up this long resets the backoff

// showStatus says in the header's status line how the live connection is.
export function showStatus(kind, text) {
  const status = document.getElementById("live-status");
  if (!status) return;
  const glyph = document.createElement("span");
  glyph.className = "live-glyph";
  glyph.textContent = { ok: "● ", wait: "◌ ", down: "✕ " }[kind];
  glyph.setAttribute("aria-hidden", "true");
  status.classList.remove("live-ok", "live-wait", "live-down");
  status.classList.add("live-" + kind);
  status.textContent = "";
  status.append(glyph, text);
}

// liveConnection makes the page's connection to url. wanted() is the set of patient ids the page
// shows; onFrame gets each decoded frame; onState gets "open" and "closed"; onStatus(kind, text)
// shows the connection to the user; now is the clock.
export function liveConnection({ url, wanted, onFrame, onState = () => {}, onStatus = showStatus, now = Date.now }) {
  const subscribed = new Set();
  let ws = null, attempt = 0, retryTimer = 0, since = "", stopped = false;
  // lastHeard is when this page last heard from the server (its clock): resuming from it, not
  // from when a close is seen, covers an outage noticed late.
  let lastHeard = 0;

  function send(obj) {
    if (ws && ws.readyState === OPEN) ws.send(JSON.stringify(obj));
  }

  function connect() {
    retryTimer = 0;
    if (stopped || ws) return;
    onStatus("wait", attempt ? "Reconnecting…" : "Connecting…");
    let opened = 0; // time the socket opened, 0 if it never did
    const sock = (ws = new WebSocket(url));
    sock.onopen = () => {
      opened = now();
      lastHeard = opened;
      onState("open");
      onStatus("ok", "Live");
      subscribed.clear();
      for (const id of wanted()) subscribed.add(id);
      const msg = { type: "subscribe", patients: Array.from(subscribed) };
      if (since) msg.since = since;
      if (subscribed.size) sock.send(JSON.stringify(msg));
    };
    sock.onmessage = (ev) => {
      lastHeard = now();
      const msg = parseFrame(ev.data);
      if (msg) onFrame(msg);
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      onState("closed");
      // Ask for everything since a minute before the server was last heard from: no gap.
      if (opened) since = resumePoint(lastHeard, now());
      // Only a connection that stayed up a while resets the backoff (avoids a reconnect storm).
      if (opened && now() - opened > STEADY_MS) attempt = 0;
      if (stopped) return;
      const delay = backoffDelay(attempt++);
      // Set once (not a ticking countdown) so screen readers are not flooded by the live region.
      onStatus("down", `Offline — retrying in ${Math.ceil(delay / 1000)} s`);
      retryTimer = setTimeout(connect, delay);
    };
  }

  // resync follows the patients the page now shows (e.g. after an htmx swap): it unsubscribes
  // from those gone and subscribes to new ones from renderedSince, when the new rows were
  // rendered (else a minute ago), connecting if the page had nothing to follow before.
  function resync(renderedSince) {
    const want = wanted();
    const { add, drop } = subscriptionChange(want, subscribed);
    if (drop.length) send({ type: "unsubscribe", patients: drop });
    const addSince = isNaN(parseTime(renderedSince)) ? new Date(now() - 60000).toISOString() : renderedSince;
    if (add.length) send({ type: "subscribe", patients: add, since: addSince });
    if (ws && ws.readyState === OPEN) { drop.forEach((id) => subscribed.delete(id)); add.forEach((id) => subscribed.add(id)); }
    if (want.size && !ws && !retryTimer && !stopped) connect();
  }

  return {
    // start connects, first subscribing from from (RFC 3339, "" for now), if the page shows
    // patients and the browser has WebSockets.
    start(from) {
      since = from;
      if (wanted().size && typeof WebSocket === "function") connect();
    },
    resync,
    // retryNow reconnects at once instead of waiting out the backoff (the network is back).
    retryNow() {
      if (retryTimer) { clearTimeout(retryTimer); connect(); }
    },
    // stop closes the connection for good (the page is hidden), noting where to resume.
    stop() {
      stopped = true;
      clearTimeout(retryTimer); retryTimer = 0;
      if (!ws) return;
      if (ws.readyState === OPEN) since = resumePoint(lastHeard, now());
      const s = ws;
      ws = null;
      s.close(1000);
      onState("closed");
    },
    // resume reconnects a page restored from the back/forward cache.
    resume(renderedSince) {
      stopped = false;
      attempt = 0;
      resync(renderedSince);
    },
  };
}
