// The motion settings form, built from the config schema the host sends (GET /api/v1/settings),
// so a new setting appears here without touching the page. Only changed values are sent (PUT);
// the host validates them and writes them into smartcam.conf with its comments kept.
import { api } from "./api.js";
import { $, el } from "./dom.js";
import { resetMask, showMaskText } from "./mask.js";

// Of [camera], only the clip lengths belong here; the rest is set up once, in the file.
const CLIP_KEYS = ["pre_record", "post_record", "max_clip"];

function inputValue(input) {
  return input.type === "checkbox" ? String(input.checked) : input.value;
}

// A changed field is marked until it is saved; the mask's text redraws the mask as it is typed.
function markChanged(input) {
  input.classList.toggle("changed", inputValue(input) !== input.dataset.original);
  if (input.dataset.key === "mask") showMaskText(input.value);
}

function makeInput(id, section, key, info, value) {
  if (info.type === "boolean") {
    const box = el("input", { id, type: "checkbox", "data-section": section, "data-key": key });
    box.checked = Boolean(value);
    return box;
  }
  const numeric = info.type === "number" || info.type === "integer";
  const input = el("input", {
    id, type: numeric ? "number" : "text", "data-section": section, "data-key": key,
    title: `expected ${info.allowed}`,
  });
  if (numeric) input.step = info.type === "integer" ? "1" : "any";
  input.value = value === null || value === undefined ? "" : String(value);
  return input;
}

// One setting: its input, labelled with its name, and the schema's help and default under it.
function fieldFor(section, key, info, value) {
  const id = `set-${section}-${key}`;
  const wrap = el("div", { class: "field" });
  const label = el("label", { for: id, text: key.replace(/_/g, " ") });
  const input = makeInput(id, section, key, info, value);
  if (input.type === "checkbox") {
    label.prepend(input, " "); // a box goes before its name
    wrap.append(label);
  } else {
    wrap.append(label, input);
  }
  input.dataset.original = inputValue(input);
  input.addEventListener("input", () => markChanged(input));
  input.addEventListener("change", () => markChanged(input));
  const fallback = info.default === "" ? "none" : info.default;
  wrap.append(el("p", { class: "help", text: `${info.help} (default: ${fallback})` }));
  return wrap;
}

function renderSettings(data) {
  $("settings-file").textContent = data.file || "(no smartcam.conf: running on defaults)";
  const motion = $("motion-fields");
  const camera = $("camera-fields");
  const mask = $("mask-field");
  for (const box of [motion, camera, mask]) {
    for (const node of [...box.querySelectorAll(".field")]) node.remove();
  }
  for (const [key, info] of Object.entries(data.schema.motion)) {
    // the mask's text sits under its drawing
    (key === "mask" ? mask : motion).append(fieldFor("motion", key, info, data.values.motion[key]));
  }
  for (const key of CLIP_KEYS) {
    if (data.schema.camera[key]) {
      camera.append(fieldFor("camera", key, data.schema.camera[key], data.values.camera[key]));
    }
  }
  resetMask(String(data.values.motion.mask || ""));
}

async function loadSettings() {
  renderSettings(await api("settings"));
}

// {section: {key: value}} of the fields that differ from what the host sent.
function changedValues() {
  const changes = {};
  for (const input of document.querySelectorAll("#settings input[data-key]")) {
    const value = inputValue(input);
    if (value === input.dataset.original) continue;
    const section = input.dataset.section;
    changes[section] = changes[section] || {};
    changes[section][input.dataset.key] = input.type === "checkbox" ? input.checked : value;
  }
  return changes;
}

function say(note, kind, text) {
  note.className = kind ? `note ${kind}` : "note";
  note.textContent = text;
}

async function saveSettings(event) {
  event.preventDefault();
  const note = $("settings-note");
  const errorBox = $("settings-error");
  const changes = changedValues();
  errorBox.hidden = true;
  if (!Object.keys(changes).length) {
    say(note, "", "Nothing changed.");
    return;
  }
  say(note, "", "Saving…");
  try {
    const data = await api("settings", {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(changes),
    });
    renderSettings(data); // the host's answer is the new form: values as saved, marks cleared
    say(note, "ok", data.message);
  } catch (err) {
    say(note, "bad", "Not saved.");
    errorBox.textContent = err.message; // the host's words: which setting, what it expects
    errorBox.hidden = false;
  }
}

export function setupSettings() {
  $("settings").addEventListener("submit", saveSettings);
  $("settings-reset").addEventListener("click", () => loadSettings().catch(console.warn));
}

// The first load. Without the form nothing can be changed, so a failure is said on the page.
export function startSettings() {
  loadSettings().catch((err) => {
    $("settings-error").textContent = `Cannot load the settings: ${err.message}`;
    $("settings-error").hidden = false;
  });
}
