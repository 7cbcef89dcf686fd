/* Small DOM helpers the live modules share. Building nodes only (no innerHTML), so what the
 * server sends is always text. */

// el makes an element with an optional class and text.
export function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text != null) n.textContent = text;
  return n;
}

// pill makes a status pill as the server's views render it: an icon hidden from screen readers,
// then the words.
export function pill(tone, icon, text) {
  const p = el("span", "status-pill " + tone);
  const i = el("span", "status-icon", icon);
  i.setAttribute("aria-hidden", "true");
  p.append(i, " " + text);
  return p;
}

// link makes an anchor.
export function link(href, text, cls) {
  const a = el("a", cls, text);
  a.href = href;
  return a;
}

// cssVar reads a custom property of the page's stylesheet.
export function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

// csrfToken is the page's CSRF token, for requests that change state.
export const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

const flashTimers = new WeakMap();

// flash briefly highlights a cell that changed (the CSS "updated" animation).
export function flash(td) {
  clearTimeout(flashTimers.get(td));
  td.classList.remove("updated");
  void td.offsetWidth; // restart the CSS animation
  td.classList.add("updated");
  flashTimers.set(td, setTimeout(() => td.classList.remove("updated"), 2000));
}
