// Span picker: mark an entity by pointing at tokens, set its type with a digit key or a chip.
// Click a token to start, click (or shift-click) another to end, or drag across tokens; then press
// 1-9 or click a type. A selection overlapping a projected entity adjusts that entity (a fix);
// elsewhere it adds a new one. Escape clears. Works in reading order for right-to-left scripts
// (the row gets dir="rtl" and wraps), because selections are token indices, not screen positions.
// Also remembers the annotator's name in this browser (localStorage) across reloads and sessions.
const STATE = new WeakMap();
const NAME_KEY = "xlner.annotator";
// Decision keys and finished spans travel as a *state* value with a sequence number, not as a click
// or a trigger: a state value survives a concurrent fragment rerun (which can swallow a trigger), and
// the page handles each sequence number once. Keys are queued here and sent one at a time: the next
// only when the page has acknowledged the last (it sends back the sequence number it handled last,
// `acked`). Streamlit reruns with the *latest* widget values, so keys sent faster than the page runs
// lost all but the last, and a rerun asked for before the last run's result had arrived carried the
// sentence box's old value, so a key could land on the previous sentence. A command still
// unacknowledged after RESEND_MS is sent again (the page skips numbers it has handled): a value sent
// while a fragment's run is being replaced is, rarely, never seen by the server.
const COMMAND_KEYS = { a: "accept", x: "reject", f: "fix", " ": "skip", u: "next" };
const TOKEN = Math.random().toString(36).slice(2);
const MAX_QUEUE = 64;
const RESEND_MS = 3000;
const MAX_RESENDS = 20;
let SEQ = 0;
let QUEUE = [];        // commands not yet acknowledged, oldest first; QUEUE[0] is the one sent
let SENT_AT = 0;
let RESENDS = 0;
let KEY_LISTENER = null;
let RESEND_TIMER = null;

function publish(setStateValue) {
  if (!QUEUE.length) return;
  SENT_AT = Date.now();
  setStateValue("command", { token: TOKEN, seq: QUEUE[0].seq, commands: [QUEUE[0]], resend: RESENDS });
}

export default function (component) {
  const { data, parentElement, setTriggerValue, setStateValue } = component;
  if (!data) return;
  const acked = data.acked;
  if (Array.isArray(acked) && acked[0] === TOKEN && QUEUE.length && QUEUE[0].seq <= acked[1]) {
    QUEUE = QUEUE.filter((c) => c.seq > acked[1]);
    RESENDS = 0;
    // the page has drawn the acknowledged command's result: now the next one (after this redraw)
    window.setTimeout(() => publish(setStateValue), 0);
  }
  let st = STATE.get(parentElement);
  if (!st || st.nonce !== data.nonce) {
    st = { nonce: data.nonce, anchor: null, lo: null, hi: null, complete: false, dragging: false, moved: false };
    STATE.set(parentElement, st);
  }

  // Identity: the page sends the current name; a browser that knew a name reports it once.
  try {
    if (data.annotator) {
      window.localStorage.setItem(NAME_KEY, data.annotator);
    } else {
      const known = window.localStorage.getItem(NAME_KEY);
      if (known && !st.reported) { st.reported = true; setTriggerValue("remembered", known); }
    }
  } catch (e) { /* storage disabled: the URL parameter still carries the name */ }

  let root = parentElement.querySelector(".xsp");
  if (!root) {
    root = document.createElement("div");
    root.className = "xsp";
    parentElement.appendChild(root);
  }
  const tokens = data.tokens || [];
  const spans = data.spans || [];
  const labels = data.labels || [];
  const owner = new Array(tokens.length).fill(null);
  spans.forEach((s) => { for (let i = s.start; i < s.end && i < tokens.length; i++) owner[i] = s; });

  function selected(i) {
    if (st.lo === null) return false;
    return i >= st.lo && i <= st.hi;
  }

  function overlapping(lo, hi) {
    return spans.find((s) => s.key && !s.added && s.start <= hi && lo < s.end) || null;
  }

  function render() {
    const row = document.createElement("div");
    row.className = "xsp-tokens";
    row.setAttribute("dir", data.dir || "auto");
    row.setAttribute("data-testid", "span-picker-tokens");
    tokens.forEach((tok, i) => {
      const el = document.createElement("span");
      el.className = "xsp-tok";
      el.textContent = tok;
      el.dataset.i = String(i);
      el.setAttribute("dir", "auto");
      el.title = `token ${i}`;
      const s = owner[i];
      if (s) {
        el.classList.add("xsp-ent");
        el.style.background = (data.colours || {})[s.label] || "#e0e0e0";
        if (s.current) el.classList.add("xsp-current");
        if (i === s.start) el.classList.add("xsp-first");
        if (i === s.end - 1) {
          el.classList.add("xsp-last");
          const lab = document.createElement("span");
          lab.className = "xsp-lab";
          lab.textContent = s.label + (s.state ? " · " + s.state : "");
          el.appendChild(lab);
        }
      }
      if (selected(i)) el.classList.add("xsp-sel");
      if (st.anchor === i && !st.complete) el.classList.add("xsp-anchor");
      row.appendChild(el);
    });
    const bar = document.createElement("div");
    bar.className = "xsp-bar";
    bar.setAttribute("data-testid", "span-picker-bar");
    if (st.lo === null) {
      bar.textContent = data.target
        ? `Fixing ${data.target_text}: click its new first token, then its last (or drag), then a type.`
        : "Click a token to start a span, click another (or drag) to end it, then press 1–9 for its type.";
    } else {
      const tgt = data.target || (overlapping(st.lo, st.hi) || {}).key;
      const what = tgt ? `adjust ${tgt} to` : "add";
      const text = document.createElement("span");
      text.className = "xsp-what";
      text.textContent = `${what} [${st.lo}, ${st.hi + 1}) "${tokens.slice(st.lo, st.hi + 1).join(" ")}"` +
        (st.complete ? " — type:" : " — click the last token, or press a type for one token:");
      bar.appendChild(text);
      labels.forEach((lab, k) => {
        const chip = document.createElement("button");
        chip.className = "xsp-chip";
        chip.type = "button";
        chip.textContent = `${k + 1} ${lab}`;
        chip.style.background = (data.colours || {})[lab] || "#e0e0e0";
        chip.onclick = (e) => { e.preventDefault(); commit(lab); };
        bar.appendChild(chip);
      });
      const cancel = document.createElement("button");
      cancel.className = "xsp-chip xsp-cancel";
      cancel.type = "button";
      cancel.textContent = "Esc cancel";
      cancel.onclick = (e) => { e.preventDefault(); clear(); };
      bar.appendChild(cancel);
    }
    root.replaceChildren(row, bar);
  }

  // Every decision (a key, or a finished span) is one numbered state value that the page handles
  // once, at the top of its next run, before it draws anything.
  function send(command, extra) {
    SEQ += 1;
    QUEUE.push(Object.assign({ seq: SEQ, command }, extra));
    if (QUEUE.length > MAX_QUEUE) QUEUE.pop();  // a runaway key: keep the oldest, the first is in flight
    if (QUEUE.length === 1) { RESENDS = 0; publish(setStateValue); }  // else sent once the last is acknowledged
  }

  function clear() {
    st.anchor = st.lo = st.hi = null;
    st.complete = false;
    render();
  }

  function commit(label) {
    if (st.lo === null) return;
    const tgt = data.target || (overlapping(st.lo, st.hi) || {}).key || null;
    send("span", { span: { start: st.lo, end: st.hi + 1, label, target: tgt, nonce: data.nonce } });
    st.anchor = st.lo = st.hi = null;
    st.complete = false;
    render();
  }

  function tokenIndex(ev) {
    const el = ev.target.closest ? ev.target.closest(".xsp-tok") : null;
    return el ? Number(el.dataset.i) : null;
  }

  function onDown(ev) {
    const i = tokenIndex(ev);
    if (i === null || ev.button !== 0) return;
    ev.preventDefault();
    if (ev.shiftKey && st.anchor !== null) {  // shift-click: extend from the anchor
      st.lo = Math.min(st.anchor, i); st.hi = Math.max(st.anchor, i); st.complete = true;
      render();
      return;
    }
    if (st.anchor !== null && !st.complete) {  // second click: the end
      st.lo = Math.min(st.anchor, i); st.hi = Math.max(st.anchor, i); st.complete = true;
      render();
      return;
    }
    st.anchor = i; st.lo = i; st.hi = i; st.complete = false;
    st.dragging = true; st.moved = false;
    render();
  }

  function onOver(ev) {
    if (!st.dragging) return;
    const i = tokenIndex(ev);
    if (i === null) return;
    if (i !== st.anchor) st.moved = true;
    const lo = Math.min(st.anchor, i), hi = Math.max(st.anchor, i);
    if (lo === st.lo && hi === st.hi) return;  // re-rendering fires mouseover again: only on a change
    st.lo = lo; st.hi = hi;
    render();
  }

  function onUp() {
    if (!st.dragging) return;
    st.dragging = false;
    if (st.moved) { st.complete = true; render(); }
  }

  function onKey(ev) {
    if (ev.defaultPrevented) return;  // taken by another listener of this picker (one key, one command)
    const tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || (ev.target && ev.target.isContentEditable)) return;
    if (ev.key === "Escape" && st.lo !== null) { clear(); return; }
    const command = COMMAND_KEYS[(ev.key || "").toLowerCase()];
    if (command && st.lo === null && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      ev.stopPropagation();
      send(command, {});
      return;
    }
    if (st.lo === null) return;
    const k = Number(ev.key);
    if (Number.isInteger(k) && k >= 1 && k <= labels.length) {
      ev.preventDefault();
      ev.stopPropagation();
      commit(labels[k - 1]);
    }
  }

  render();
  root.addEventListener("mousedown", onDown);
  root.addEventListener("mouseover", onOver);
  window.addEventListener("mouseup", onUp);
  // One key listener and one resend timer per page: a redraw whose cleanup has not run yet must not
  // leave a second listener behind (each key would then be sent, and saved, twice).
  if (KEY_LISTENER) window.removeEventListener("keydown", KEY_LISTENER, true);
  KEY_LISTENER = onKey;
  window.addEventListener("keydown", onKey, true);
  if (RESEND_TIMER) window.clearInterval(RESEND_TIMER);
  const resend = RESEND_TIMER = window.setInterval(() => {
    if (QUEUE.length && Date.now() - SENT_AT > RESEND_MS && RESENDS < MAX_RESENDS) {
      RESENDS += 1;
      publish(setStateValue);
    }
  }, 1000);
  return () => {
    window.clearInterval(resend);
    if (RESEND_TIMER === resend) RESEND_TIMER = null;
    if (KEY_LISTENER === onKey) KEY_LISTENER = null;
    root.removeEventListener("mousedown", onDown);
    root.removeEventListener("mouseover", onOver);
    window.removeEventListener("mouseup", onUp);
    window.removeEventListener("keydown", onKey, true);
  };
}
