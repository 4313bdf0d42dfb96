// rfarm dashboard, the submit page: hash the chosen scene (MD5), ask the farm whether it holds it, send it
// only when it does not (with progress), show its analysis, then let the form post the task.
"use strict";
(() => {
  const input = document.getElementById("scene-file");
  if (!input) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("submit-form");
  const transfer = document.getElementById("transfer");
  const step = document.getElementById("transfer-step");
  const bar = document.getElementById("transfer-bar");
  const failure = document.getElementById("transfer-error");
  const analysis = document.getElementById("analysis");

  function show(words, done, total) {
    transfer.hidden = false;
    step.textContent = words;
    bar.max = total || 1;
    bar.value = done;
  }

  function fail(message) {
    failure.textContent = message;
    failure.hidden = false;
    transfer.hidden = true;
  }

  async function problem(answer) {
    try { return (await answer.json()).detail || answer.statusText; } catch (err) { return answer.statusText; }
  }

  async function postJSON(url, body) {
    const answer = await fetch(url, {
      method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    });
    if (!answer.ok) throw new Error(await problem(answer));
    return answer.json();
  }

  function mb(bytes) { return `${(bytes / 1048576).toFixed(1)} MB`; }

  // The upload, by XMLHttpRequest: fetch reports no upload progress.
  function send(file, md5) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `/api/dashboard/upload?md5=${md5}&size=${file.size}`);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", (e) => show(`Uploading ${file.name}: ${mb(e.loaded)} of ${mb(file.size)}`, e.loaded, file.size));
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText));
        else {
          let detail = xhr.statusText;
          try { detail = JSON.parse(xhr.responseText).detail || detail; } catch (err) { /* not JSON */ }
          reject(new Error(detail));
        }
      });
      xhr.addEventListener("error", () => reject(new Error("the connection to the server failed")));
      xhr.send(file);
    });
  }

  function fact(list, name, value) {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = name;
    dd.textContent = value;
    div.append(dt, dd);
    list.append(div);
  }

  function showAnalysis(doc) {
    const info = doc.scene_info || {};
    const settings = document.getElementById("settings");
    settings.replaceChildren();
    fact(settings, "Application", `${info.scene_type || "?"} ${info.software_version || ""}`.trim());
    fact(settings, "Renderer", info.renderer || "");
    fact(settings, "Frames", info.animation ? `${info.start}-${info.end}${info.by_frame > 1 ? "x" + info.by_frame : ""}` : `${info.current_frame} (no animation)`);
    fact(settings, "Resolution", info.width && info.height ? `${info.width}×${info.height}` : "");
    fact(settings, "Output", `${info.image_prefix || ""} (${info.image_format || "?"})`);
    fact(settings, "Cameras", (info.cameras || []).join(", "));
    fact(settings, "Layers", (info.render_layers || []).map((l) => l.name).join(", "));
    const table = document.getElementById("deps");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const dep of doc.dependencies || []) {
      const row = document.createElement("tr");
      row.className = dep.exists ? "present" : "missing";
      for (const value of [dep.path, dep.kind, dep.exists ? "found" : "missing"]) {
        const cell = document.createElement("td");
        cell.textContent = value;
        row.append(cell);
      }
      body.append(row);
    }
    table.hidden = !(doc.dependencies || []).length;
    const missing = document.getElementById("missing");
    const count = (doc.missing || []).length;
    missing.hidden = count === 0;
    missing.textContent = count ? `${count} ${count === 1 ? "dependency is" : "dependencies are"} missing on the farm: the frames render without ${count === 1 ? "it" : "them"}.` : "";
    const frames = document.getElementById("f-frames");
    if (!frames.value) frames.value = info.animation ? `${info.start}-${info.end}${info.by_frame > 1 ? "x" + info.by_frame : ""}` : String(info.current_frame ?? "");
    for (const tip of doc.tips || []) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = typeof tip === "string" ? tip : JSON.stringify(tip);
      settings.after(p);
    }
  }

  input.addEventListener("change", async () => {
    const file = input.files[0];
    failure.hidden = true;
    form.hidden = true;
    analysis.hidden = true;
    if (!file) return;
    const isZip = file.name.toLowerCase().endsWith(".zip");
    try {
      show(`Hashing ${file.name}`, 0, file.size);
      const md5 = await rfarmMD5.ofFile(file, (done) => show(`Hashing ${file.name}: ${mb(done)} of ${mb(file.size)}`, done, file.size));
      const held = await postJSON("/api/files/check_hashes", { hashes: [md5] });
      if (held.to_upload.includes(md5)) {
        await send(file, md5);
        show(`Uploaded ${file.name} (${mb(file.size)})`, 1, 1);
        transfer.dataset.sent = "true";
      } else {
        show(`${file.name} is already stored: nothing was sent`, 1, 1);
        transfer.dataset.sent = "false";
      }
      document.getElementById("f-md5").value = md5;
      document.getElementById("f-name").value = file.name;
      for (const el of form.querySelectorAll(".zip-only")) el.hidden = !isZip;
      document.getElementById("f-in-zip").required = isZip;
      const note = document.getElementById("analysis-note");
      if (isZip) {
        note.textContent = "A .zip project is unpacked on the node; name the scene inside it below.";
      } else {
        note.textContent = "";
        showAnalysis(await postJSON("/api/scene/analyse", { hash: md5, name: file.name }));
      }
      analysis.hidden = false;
      form.hidden = false;
    } catch (err) {
      fail(`${file.name}: ${err.message}`);
    }
  });
})();
