// Unit tests of live/connection.js with a fake WebSocket and clock: what the page subscribes to,
// from when, after a drop, an htmx swap, and the back/forward cache.
import test from "node:test";
import assert from "node:assert/strict";
import { liveConnection } from "../live/connection.js";

// FakeSocket stands for the browser's WebSocket; the test opens, feeds and drops it.
class FakeSocket {
  static made = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.made.push(this);
  }
  send(s) { this.sent.push(JSON.parse(s)); }
  close(code) { this.closedWith = code; this.readyState = 3; }
  open() { this.readyState = 1; this.onopen(); }
  receive(data) { this.onmessage({ data }); }
  drop() { this.readyState = 3; this.onclose(); }
}
globalThis.WebSocket = FakeSocket;
const latest = () => FakeSocket.made[FakeSocket.made.length - 1];

// page makes a connection for a page showing patients, with a clock the test moves.
function page(patients) {
  const p = { clock: Date.UTC(2026, 10, 21, 10, 0), patients: new Set(patients), frames: [], states: [], statuses: [] };
  p.live = liveConnection({
    url: "ws://vigil.test/live",
    wanted: () => p.patients,
    onFrame: (f) => p.frames.push(f),
    onState: (s) => p.states.push(s),
    onStatus: (kind, text) => p.statuses.push(kind + ": " + text),
    now: () => p.clock,
  });
  return p;
}

test("the first subscription starts when the page was rendered; frames reach the page", () => {
  const p = page(["p1", "p2"]);
  p.live.start("2026-11-21T09:59:30.123456789Z");
  const sock = latest();
  assert.equal(sock.url, "ws://vigil.test/live");
  sock.open();
  assert.deepEqual(sock.sent, [{ type: "subscribe", patients: ["p1", "p2"], since: "2026-11-21T09:59:30.123456789Z" }]);
  assert.deepEqual(p.states, ["open"]);
  assert.deepEqual(p.statuses, ["wait: Connecting…", "ok: Live"]);
  sock.receive('{"type":"readings","patient":"p1","readings":[]}');
  sock.receive("not json");
  sock.receive("null");
  assert.deepEqual(p.frames, [{ type: "readings", patient: "p1", readings: [] }]);
  p.live.stop();
  assert.equal(sock.closedWith, 1000);
  assert.deepEqual(p.states, ["open", "closed"]);
});

test("after a drop noticed late, the page resumes a minute before it last heard the server", () => {
  const p = page(["p1"]);
  p.live.start("");
  const first = latest();
  first.open();
  assert.deepEqual(first.sent, [{ type: "subscribe", patients: ["p1"] }]); // no render time: from now
  p.clock += 5000;
  first.receive('{"type":"news2"}');
  const heard = p.clock;
  p.clock += 3 * 3600000; // asleep for three hours
  first.drop();
  assert.deepEqual(p.states, ["open", "closed"]);
  assert.match(p.statuses[p.statuses.length - 1], /^down: Offline — retrying in \d+ s$/);
  p.live.retryNow(); // the network is back
  const second = latest();
  assert.notEqual(second, first);
  second.open();
  assert.deepEqual(second.sent, [{ type: "subscribe", patients: ["p1"], since: new Date(heard - 60000).toISOString() }]);
  p.live.stop();
});

test("only a connection that stayed up resets the backoff", () => {
  const random = Math.random;
  Math.random = () => 0; // no jitter: 0.5 s, 1 s, 2 s, 4 s…
  try {
    const p = page(["p1"]);
    p.live.start("");
    const retrying = () => p.statuses.filter((s) => s.startsWith("down")).map((s) => s.replace(/\D+/g, ""));
    for (let i = 0; i < 4; i++) { latest().drop(); p.live.retryNow(); } // never opens
    assert.deepEqual(retrying(), ["1", "1", "2", "4"]);
    assert.equal(p.statuses[p.statuses.length - 1], "wait: Reconnecting…");
    latest().open();
    p.clock += 5000; // up only 5 s: still backing off
    latest().drop();
    p.live.retryNow();
    latest().open();
    p.clock += 11000; // up 11 s: steady
    latest().drop();
    assert.deepEqual(retrying(), ["1", "1", "2", "4", "8", "1"]);
    p.live.stop();
  } finally {
    Math.random = random;
  }
});

test("resync follows the patients the page now shows", () => {
  const p = page(["p1", "p2"]);
  p.live.start("2026-11-21T09:00:00Z");
  const sock = latest();
  sock.open();
  p.patients = new Set(["p2", "p3"]); // an htmx swap re-rendered the census
  p.live.resync("2026-11-21T10:00:00.5Z");
  assert.deepEqual(sock.sent.slice(1), [
    { type: "unsubscribe", patients: ["p1"] },
    { type: "subscribe", patients: ["p3"], since: "2026-11-21T10:00:00.5Z" },
  ]);
  p.patients = new Set(["p2", "p3", "p4"]);
  p.live.resync(undefined); // no render time on the page: from a minute ago
  assert.deepEqual(sock.sent.slice(3), [{ type: "subscribe", patients: ["p4"], since: "2026-11-21T09:59:00.000Z" }]);
  p.live.resync(undefined); // nothing changed: nothing sent
  assert.equal(sock.sent.length, 4);
  p.live.stop();
});

test("a page with no patients connects when some appear", () => {
  const p = page([]);
  const before = FakeSocket.made.length;
  p.live.start("");
  assert.equal(FakeSocket.made.length, before);
  p.patients = new Set(["p1"]);
  p.live.resync("2026-11-21T09:58:00Z");
  assert.equal(FakeSocket.made.length, before + 1);
  latest().open();
  assert.deepEqual(latest().sent, [{ type: "subscribe", patients: ["p1"] }]);
  p.live.stop();
});

test("a hidden page stays closed; restored from the back/forward cache it resumes", () => {
  const p = page(["p1"]);
  p.live.start("");
  const first = latest();
  first.open();
  p.clock += 2000;
  first.receive("{}");
  const heard = p.clock;
  p.live.stop(); // pagehide
  first.drop(); // the close arrives: no reconnect
  assert.equal(latest(), first);
  p.clock += 600000;
  p.live.resume(undefined); // pageshow, persisted
  const second = latest();
  assert.notEqual(second, first);
  second.open();
  assert.deepEqual(second.sent, [{ type: "subscribe", patients: ["p1"], since: new Date(heard - 60000).toISOString() }]);
  p.live.stop();
});
