// rfarm dashboard, the task page kept current: the task's event stream (/api/events?task=ID) says when
// something changed, and the task's document (/api/tasks/ID/status) says what it is now. The page reads
// the document again after every (re)connection, so nothing missed while the server was away stays stale.
"use strict";
(() => {
  const root = document.getElementById("task");
  if (!root) return;
  const taskId = root.dataset.task;
  const scope = root.dataset.scope || "";
  const kinds = JSON.parse(root.dataset.kinds || "[]");
  const actionStates = JSON.parse(root.dataset.actions || "{}");
  const base = `/api/tasks/${taskId}`;
  const frames = new Map();
  for (const el of root.querySelectorAll("li[data-frame]")) frames.set(el.dataset.frame, el);
  const live = document.getElementById("live");
  const POLL_RUNNING_MS = 2000;   // progress of running frames has no event of its own
  const RECONNECT_MS = 2000;

  function text(el, selector, value) {
    const part = el.querySelector(selector);
    if (part && part.textContent !== value) part.textContent = value;
  }

  function duration(seconds) {
    if (seconds === null) return "";
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    const total = Math.round(seconds);
    const minutes = Math.floor(total / 60);
    if (minutes < 60) return `${minutes} min ${String(total % 60).padStart(2, "0")} s`;
    return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  }

  function renderSeconds(f) {
    if (!f.started_at) return null;
    let end = f.finished_at ? Date.parse(f.finished_at) : null;
    if (end === null) {
      if (f.status !== "running") return null;
      end = Date.now();
    }
    return Math.max(0, (end - Date.parse(f.started_at)) / 1000);
  }

  function stateBadge(status) {
    const span = document.createElement("span");
    span.className = `state s-${status}`;
    span.textContent = status;
    return span;
  }

  function showCounts(counts) {
    const list = document.createElement("ul");
    list.className = "counts";
    for (const name of Object.keys(counts).sort()) {
      if (!counts[name]) continue;
      const item = document.createElement("li");
      item.className = `s-${name}`;
      item.textContent = `${counts[name]} ${name}`;
      list.append(item);
    }
    document.getElementById("task-counts").replaceChildren(list);
    const done = counts.done || 0;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const bar = document.querySelector("#task-progress progress");
    bar.max = total || 1;
    bar.value = done;
    bar.textContent = `${done}/${total}`;
    text(document.getElementById("task-progress"), ".fraction", `${done}/${total}`);
  }

  function showFrame(el, f) {
    if (el.dataset.status !== f.status) {
      el.dataset.status = f.status;
      el.className = `frame s-${f.status}${f.is_test ? " test" : ""}`;
      text(el, ".word", f.status);
    }
    text(el, ".pct", f.status === "running" ? `${Math.round(f.progress || 0)}%` : "");
    text(el, ".attempts", f.attempts ? `attempt ${f.attempts}` : "");
    text(el, ".node", f.worker || "");
    text(el, ".time", duration(renderSeconds(f)));
    text(el, ".err", f.error || "");
    const thumb = el.querySelector(".thumb");
    const img = thumb.querySelector("img");
    if (f.status === "done" && !img) {
      const made = document.createElement("img");
      made.src = `${base}/frames/${f.frame}/thumbnail${scope}`;
      made.alt = `Frame ${f.frame}`;
      made.decoding = "async";
      thumb.append(made);
    } else if (f.status !== "done" && img) {
      img.remove();
    }
  }

  function show(doc) {
    if (root.dataset.status !== doc.status) {
      root.dataset.status = doc.status;
      document.getElementById("task-status").replaceChildren(stateBadge(doc.status));
    }
    showCounts(doc.counts);
    for (const form of root.querySelectorAll("form[data-action]")) {
      const action = form.dataset.action;
      const applies = action === "retry" ? (doc.counts.failed || 0) > 0
        : (actionStates[action] || []).includes(doc.status);
      form.hidden = !applies;
    }
    let running = false;
    for (const f of doc.frames) {
      const el = frames.get(String(f.frame));
      if (el) showFrame(el, f);
      running = running || f.status === "running";
    }
    return running;
  }

  // One read at a time; a change during a read asks for one more read after it.
  let reading = false;
  let again = false;
  let pollTimer = null;
  async function read() {
    if (reading) { again = true; return; }
    reading = true;
    try {
      do {
        again = false;
        const answer = await fetch(`${base}/status${scope}`, { headers: { Accept: "application/json" } });
        if (answer.status === 401) { window.location.assign(`/login?next=${encodeURIComponent(location.pathname)}`); return; }
        if (!answer.ok) break;
        const running = show(await answer.json());
        clearTimeout(pollTimer);
        if (running) pollTimer = setTimeout(read, POLL_RUNNING_MS);
      } while (again);
    } catch (err) {
      // the server is away: the event stream reconnects and reads again
    } finally {
      reading = false;
    }
  }

  let source = null;
  function connect() {
    source = new EventSource(`/api/events?task=${taskId}${scope ? "&" + scope.slice(1) : ""}`);
    source.addEventListener("open", () => { live.hidden = false; read(); });
    for (const kind of kinds) source.addEventListener(kind, read);
    source.addEventListener("error", () => {
      live.hidden = true;
      // EventSource retries by itself after a dropped connection, but gives up on an error answer
      // (a server still starting, or a session that ended: the read then goes to the login form).
      if (source.readyState === EventSource.CLOSED) {
        read();
        setTimeout(connect, RECONNECT_MS);
      }
    });
  }
  connect();
})();
