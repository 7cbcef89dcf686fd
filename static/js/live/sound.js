/* Sound for new firing high alerts: off by default, the choice remembered in this browser, a
 * short tone made with WebAudio (no file). */

const SOUND_KEY = "vigil.alertSound";

let audio = null;

const audioClass = () => window.AudioContext || window.webkitAudioContext;

// soundOn says whether this browser has chosen sound for new high alerts.
export function soundOn() {
  try { return localStorage.getItem(SOUND_KEY) === "on"; } catch { return false; }
}

function audioReady() {
  const AudioCtx = audioClass();
  if (!AudioCtx) return null;
  if (!audio) audio = new AudioCtx();
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

// tone plays the alert tone: 880 Hz falling to 660 Hz, under half a second.
export function tone() {
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

// initSound shows the page's sound switch, where the browser can play sound.
export function initSound() {
  const btn = document.getElementById("alert-sound");
  if (!btn || !audioClass()) return;
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
