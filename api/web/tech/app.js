// FieldFix technician app: the day's visits, offers and proof of work, usable without a
// connection. Everything the technician does is queued in IndexedDB (store.js) and replayed in
// order through POST /v1/technicians/me/sync when the phone is online; the world comes back
// through GET /v1/technicians/me/sync (docs/technician-app.md).
import * as store from "./store.js";

const $ = (id) => document.getElementById(id);
const state = {
  token: localStorage.getItem("fieldfix.tech.token") || "",
  tech: null,      // {id, name, time_zone}
  offset: 0,       // server clock minus this phone's, in ms (the offers' countdown)
  jobs: [], notifications: [], timeOff: [], outbox: [], conflicts: [],
  open: null,      // the job id of the visit shown
  flushing: false,
  syncError: "",   // the last sync's failure, until one goes through
  strokes: [],     // the signature being drawn
  photos: {},      // job id → object URLs of photos taken here
};

// ---- talking to the server ----

class Offline extends Error {}

async function api(path, opts = {}) {
  const headers = { Authorization: "Bearer " + state.token };
  if (typeof opts.body === "string") headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { ...opts, headers });
  } catch (e) {
    throw new Offline(String(e));
  }
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) {
    // What the phone holds (the day, the actions not sent yet) is kept for the same technician's
    // next sign-in: an expired token must not lose a morning's work.
    signOut("Your sign-in has expired: sign in again (open a new link from your dispatcher). Nothing done on this phone is lost.", true);
    throw new Error("unauthorized");
  }
  if (!res.ok) {
    const err = new Error((body && (body.detail || body.title)) || res.statusText);
    err.status = res.status;
    err.code = body && body.code;
    throw err;
  }
  return body;
}

// pull brings the world up to date from the cursor (the whole world the first time).
async function pull() {
  let cursor = await store.get("cursor");
  for (let i = 0; i < 20; i++) {
    let w;
    const sent = Date.now();
    try {
      w = await api("/v1/technicians/me/sync" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
    } catch (e) {
      // Offline for longer than the server keeps changes (410), or a cursor it never gave
      // (a restored database): the whole world again.
      if (!cursor || (e.code !== "cursor_expired" && e.code !== "invalid_cursor")) throw e;
      cursor = "";
      continue;
    }
    // The server's clock was read somewhere between sending and receiving: take the middle, so a
    // slow network shifts the countdown by half its round trip at most, not the whole of it.
    state.offset = Date.parse(w.server_time) - (sent + Date.now()) / 2;
    await store.set("offset", state.offset);
    await store.applyPull(w);
    cursor = w.cursor;
    if (!w.more) break;
  }
  await etas();
}

// etas reads the agenda's ETAs; the service worker keeps the last answer for offline use.
async function etas() {
  try {
    const a = await api("/v1/technicians/me/jobs");
    const by = {};
    for (const it of a.items) by[it.job.id] = it.eta;
    await store.set("etas", by);
  } catch (e) {
    if (!(e instanceof Offline)) throw e;
  }
}

// flush sends the outbox in order: acts in batches, photos one by one, each before the acts
// after it; then pulls. A conflict or refusal is kept to be shown and leaves the outbox.
async function flush() {
  if (state.flushing || !state.token || !navigator.onLine) return;
  state.flushing = true;
  render();
  try {
    let items = await store.all("outbox");
    while (items.length) {
      if (items[0].type === "upload") {
        const it = items.shift();
        await upload(it);
        await store.dequeue(it.seq);
        continue;
      }
      const batch = [];
      while (items.length && items[0].type === "act" && batch.length < 50) batch.push(items.shift());
      const res = await api("/v1/technicians/me/sync", { method: "POST",
        body: JSON.stringify({ device_time: new Date().toISOString(), actions: batch.map((i) => i.act) }) });
      let stop = false;
      for (const [i, r] of res.results.entries()) {
        const it = batch[i];
        if (r.outcome === "in_progress") { stop = true; break; }
        if (r.outcome === "conflict" || r.outcome === "rejected") {
          await store.addConflict({ key: r.key, label: it.label, job_id: it.act.job_id, code: r.code, message: r.message, at: new Date().toISOString() });
          // The visit is no longer this technician's: off the list now, as the conflict says.
          if (gone.includes(r.code) && it.act.job_id) await store.dropJob(it.act.job_id);
        }
        if (r.job) await store.putJob(r.job);
        await store.dequeue(it.seq);
      }
      if (stop) break;
    }
    await pull();
    state.syncError = "";
  } catch (e) {
    // Kept on screen until a sync goes through: what waits stays in the queue and goes next time.
    if (!(e instanceof Offline)) state.syncError = e.message;
  } finally {
    state.flushing = false;
    await load();
  }
}

// gone are the conflicts that take a visit out of the technician's hands.
const gone = ["job_reassigned", "job_unassigned", "job_cancelled", "job_not_found", "offer_expired", "declined"];

// upload sends a photo taken offline, unless the visit has it already (a retry after a lost answer).
async function upload(it) {
  try {
    const have = await api(`/v1/jobs/${it.job_id}/attachments`);
    if ((have.items || []).some((a) => a.sha256 === it.sha256)) return;
    const fd = new FormData();
    fd.append("kind", it.kind);
    fd.append("file", it.blob, it.filename);
    await api(`/v1/jobs/${it.job_id}/attachments`, { method: "POST", body: fd });
  } catch (e) {
    // No connection, or the server failing for now (5xx, 429): the photo stays queued for the
    // next sync. Refused for itself (too large, not this technician's visit): said, and dropped.
    if (e instanceof Offline || !e.status || e.status >= 500 || e.status === 429) throw e;
    await store.addConflict({ key: "upload-" + it.seq, label: it.label, job_id: it.job_id, code: e.code || "upload_failed", message: e.message, at: new Date().toISOString() });
  }
}

// act queues something the technician did, shows it at once and sends it when it can.
async function act(kind, job, fields, label, change) {
  const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
  const a = { key, kind, occurred_at: new Date().toISOString(), ...fields };
  if (job) a.job_id = job.id;
  await store.enqueue({ type: "act", act: a, label: (job ? job.reference + " · " : "") + label });
  if (job && change) {
    change(job);
    await store.putJob(job);
  }
  await load();
  flush();
}

// ---- reading the store ----

async function load() {
  state.jobs = await store.all("jobs");
  state.notifications = await store.all("notifications");
  state.timeOff = await store.all("time_off");
  state.outbox = await store.all("outbox");
  state.conflicts = await store.all("conflicts");
  state.tech = (await store.get("technician")) || state.tech;
  state.offset = (await store.get("offset")) || 0;
  state.etas = (await store.get("etas")) || {};
  render();
}

// ---- showing it ----

const serverNow = () => Date.now() + state.offset;

function fmt(iso, withDay = true) {
  if (!iso) return "";
  const opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: (state.tech && state.tech.time_zone) || undefined };
  if (withDay) opts.weekday = "short";
  return new Intl.DateTimeFormat("en-GB", opts).format(new Date(iso));
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
  return e;
}

const statusLabel = { planned: "planned", offered: "offer", accepted: "accepted", en_route: "on the way", on_site: "on site",
  completed: "done", incomplete: "not finished", cancelled: "cancelled" };

// what is the visit's appliance and service in words ("tv return pickup").
function what(j) { return `${j.booking.appliance} ${j.booking.service_type}`.replace(/_/g, " "); }

function isOffer(j) { return j.status === "offered" && j.offer && j.offer.status === "open"; }

function countdown(j) {
  const left = Math.floor((Date.parse(j.offer.expires_at) - serverNow()) / 1000);
  if (left <= 0) return el("span", { class: "countdown expired" }, "expired");
  return el("span", { class: "countdown", "data-expires": j.offer.expires_at }, `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`);
}

function offerCard(j) {
  const expired = Date.parse(j.offer.expires_at) <= serverNow();
  const reason = el("select", { "aria-label": "why decline" },
    ["too far", "no parts for it", "not my trade", "other"].map((r) => el("option", { value: r }, r)));
  return el("div", { class: "card offer", id: "offer-" + j.id },
    el("div", { class: "top" }, el("span", {}, `${fmt(j.planned_start)} · ${what(j)}`), el("span", {}, "Accept within ", countdown(j))),
    el("div", { class: "where" }, j.booking.address),
    el("div", { class: "meta" }, `${j.reference} · ${j.booking.problem} · ${j.booking.duration_minutes} min · ${j.booking.tier}`),
    el("div", { class: "buttons" },
      el("button", { class: "primary accept", disabled: expired, onclick: () => act("accept", j, {}, "Accept", (x) => { x.status = "accepted"; x.offer.status = "accepted"; }) }, "Accept"),
      reason,
      el("button", { class: "danger decline", disabled: expired, onclick: () => act("decline", j, { reason: reason.value }, "Decline", (x) => { x.status = "declined"; x.offer.status = "declined"; }) }, "Decline")));
}

const next = { planned: null, accepted: ["en_route", "On my way"], en_route: ["on_site", "Arrived"] };

function visitCard(j) {
  const done = j.status === "completed" || j.status === "incomplete";
  const step = next[j.status];
  const eta = state.etas[j.id];
  return el("li", { class: "card" + (done ? " done" : ""), id: "job-" + j.id },
    el("div", { class: "top" }, el("span", {}, fmt(j.planned_start)), el("span", { class: "status" }, statusLabel[j.status] || j.status)),
    el("div", { class: "where" }, `${what(j)} · ${j.booking.address}`),
    el("div", { class: "meta" }, j.reference, j.customer.name ? ` · ${j.customer.name}` : "", eta && !done ? ` · ETA ${fmt(eta, false)}` : "",
      ` · due ${fmt(j.booking.sla_due_at)}`),
    j.pickup && !done ? pickupLine(j) : null,
    el("div", { class: "buttons" },
      el("a", { href: j.navigation }, "Navigate"),
      j.customer.phone ? el("a", { href: "tel:" + j.customer.phone.replace(/[^+0-9]/g, "") }, "Call") : null,
      step ? el("button", { class: "primary step", onclick: () => status(j, step[0], step[1]) }, step[1]) : null,
      !done && j.status !== "planned" ? el("button", { class: "open", onclick: () => openVisit(j.id) }, "Visit") : null));
}

// pickupLine: the parts of this visit wait at a warehouse; once the visit is accepted the
// technician says they have them (queued like every act when offline).
function pickupLine(j) {
  const p = j.pickup;
  const can = ["accepted", "en_route", "on_site"].includes(j.status);
  return el("div", { class: "pickup" },
    el("span", {}, `Pick up parts at ${p.name}, ${fmt(p.start, false)}–${fmt(p.end, false)}`),
    el("a", { href: `geo:${p.location.lat},${p.location.lng}` }, "Navigate"),
    can ? el("button", { class: "picked", onclick: () => act("pickup", j, {}, "Parts picked up", (x) => { x.picked_up_at = new Date().toISOString(); x.pickup = null; }) }, "Picked up") : null);
}

function status(j, to, label, extra = {}) {
  return act("status", j, { status: to, ...extra }, label, (x) => { x.status = to; });
}

function render() {
  const signedIn = !!state.token;
  $("signin").hidden = signedIn;
  $("app").hidden = !signedIn;
  $("sync").hidden = !signedIn;
  const online = navigator.onLine;
  $("net").textContent = state.flushing ? "Syncing…" : online ? "Online" : "Offline";
  $("net").className = "badge" + (online ? "" : " offline");
  const waiting = state.outbox.length;
  $("queue").hidden = waiting === 0;
  $("queue").textContent = `${waiting} waiting`;
  $("queue").className = "badge waiting";
  if (!signedIn) return;
  $("who").textContent = state.tech ? state.tech.name : "";
  $("zone").textContent = state.tech ? `(${state.tech.time_zone})` : "";

  $("conflicts").replaceChildren(...(state.syncError ? [el("div", { class: "conflict sync-error", role: "alert" },
    el("strong", {}, "Not synced yet"), `The server answered: ${state.syncError}. Everything waiting is kept and goes at the next sync. `,
    el("button", { onclick: () => flush() }, "Try again"))] : []), ...state.conflicts.map((c) => el("div", { class: "conflict", role: "alert" },
    el("strong", {}, `${c.label}: not applied`), explain(c),
    el("button", { onclick: async () => { await store.dropConflict(c.key); load(); } }, "OK"))));

  const byStart = (a, b) => (Date.parse(a.planned_start || 0) || 0) - (Date.parse(b.planned_start || 0) || 0);
  const offers = state.jobs.filter(isOffer).sort(byStart);
  $("offers-section").hidden = offers.length === 0;
  $("offers").replaceChildren(...offers.map(offerCard));
  const visits = state.jobs.filter((j) => !isOffer(j) && j.status !== "declined").sort(byStart);
  $("agenda").replaceChildren(...visits.map(visitCard));
  $("empty").hidden = visits.length > 0;
  // The last messages (offers, moves, cancellations), newest first: what a push would have said.
  const recent = [...state.notifications].sort((a, b) => b.id - a.id).slice(0, 5);
  $("messages-section").hidden = recent.length === 0;
  $("messages").replaceChildren(...recent.map((n) => el("li", {}, el("strong", {}, n.title), " ", el("small", {}, fmt(n.created_at)), el("div", { class: "meta" }, n.body))));
  $("time-off-section").hidden = state.timeOff.length === 0;
  $("time-off").replaceChildren(...state.timeOff.map((o) => el("li", {}, `${fmt(o.from)} – ${fmt(o.until)} ${o.reason}`)));
  if (state.open) renderVisit();
}

// explain says a conflict plainly.
function explain(c) {
  const plain = {
    job_reassigned: "this visit was given to another technician meanwhile. It is no longer on your list.",
    job_cancelled: "the customer cancelled this visit meanwhile.",
    job_unassigned: "dispatch took this visit back meanwhile.",
    offer_expired: "the offer expired before your answer reached us.",
    job_not_found: "this visit is not yours.",
    invalid_transition: "the visit had moved on already.",
    checklist_incomplete: "required checklist items are missing.",
    signoff_missing: "the customer's sign-off is missing.",
  }[c.code];
  return el("span", {}, plain ? `${plain} ` : "", el("small", {}, `(${c.code || "error"}: ${c.message || ""})`));
}

// ---- the visit: checklist, photos, sign-off, finish ----

function current() { return state.jobs.find((j) => j.id === state.open); }

async function openVisit(id) {
  state.open = id;
  state.strokes = [];
  // Notes and parts typed and not yet sent are kept on the phone (the page may be closed or
  // evicted between two customers), until the visit is finished.
  const draft = (await store.get("draft-" + id)) || { notes: current().notes || "", parts: [] };
  $("v-notes").value = draft.notes;
  $("v-parts").replaceChildren(...draft.parts.map(partRow));
  $("v-items").replaceChildren();
  delete $("v-items").dataset.drawn;
  renderVisit();
  drawPad();
  if (!$("visit").open) $("visit").showModal();
}

function renderVisit() {
  const j = current();
  if (!j) { $("visit").close(); state.open = null; return; }
  const waiting = state.outbox.length;
  $("v-net").textContent = (navigator.onLine ? "Online" : "Offline: everything is kept on the phone") + (waiting ? ` · ${waiting} waiting to be sent` : "");
  $("v-net").className = navigator.onLine ? "" : "offline";
  $("v-title").textContent = `${j.reference} · ${what(j)}`;
  $("v-where").textContent = `${j.booking.address} — ${j.customer.name || ""} ${j.customer.phone || ""}`;
  $("v-status").textContent = `Status: ${statusLabel[j.status] || j.status} · planned ${fmt(j.planned_start)}`;
  const step = next[j.status];
  $("v-actions").replaceChildren(...[el("a", { href: j.navigation }, "Navigate"),
    step ? el("button", { class: "primary step", onclick: () => status(j, step[0], step[1]) }, step[1]) : null].filter(Boolean));
  const onSite = j.status === "on_site";
  for (const id of ["v-checklist", "v-photos", "v-signoff", "v-finish"]) $(id).disabled = !onSite && id !== "v-checklist";
  const cl = j.checklist;
  $("v-checklist").hidden = !cl || !cl.items.length;
  // The items are drawn again only when the checklist itself changed (a sync, a save): a redraw
  // after every act would throw away what the technician is typing. Values typed and not yet
  // saved are carried into the new drawing.
  const drawn = cl ? JSON.stringify([j.id, cl.items, cl.answers]) : "";
  if (cl && $("v-items").dataset.drawn !== drawn) {
    const typed = {};
    for (const e of $("v-items").querySelectorAll("[data-key][data-typed]")) typed[e.dataset.key] = e.value;
    $("v-items").replaceChildren(...cl.items.map((it) => itemInput(it, cl.answers[it.key], typed[it.key])));
    $("v-items").dataset.drawn = drawn;
  }
  const signed = j.signoff_method;
  $("v-signed").hidden = !signed;
  $("v-signed").textContent = signed ? `Signed off (${signed}).` : "";
  $("v-sign").hidden = !!signed;
  $("v-thumbs").replaceChildren(...(state.photos[j.id] || []).map((u) => el("img", { src: u, alt: "photo" })),
    ...j.attachments.filter((a) => !(state.photos[j.id] || []).length).map((a) => el("span", { class: "meta" }, `photo ${a.id} `)));
}

function itemInput(it, v, typed) {
  const id = "item-" + it.key;
  let input;
  if (it.kind === "yes_no") {
    input = el("select", { id, "data-key": it.key, "data-kind": it.kind }, el("option", { value: "" }, "—"),
      el("option", { value: "true", selected: v === true }, "Yes"), el("option", { value: "false", selected: v === false }, "No"));
  } else if (it.kind === "photo") {
    input = el("span", { class: "meta" }, v === "pending" ? "photo taken, waiting to be sent" : v ? `photo ${v}` : "answered by the next photo");
  } else {
    input = el("input", { id, "data-key": it.key, "data-kind": it.kind, type: it.kind === "number" ? "number" : "text", step: "any",
      min: it.min, max: it.max, value: v ?? "", placeholder: it.unit || "" });
  }
  if (input.dataset.key) {
    if (typed !== undefined) { input.value = typed; input.dataset.typed = ""; }
    const mark = () => { input.dataset.typed = ""; };
    input.addEventListener("input", mark);
    input.addEventListener("change", mark);
  }
  return el("div", { class: "item" + (it.required && (v === undefined || v === null) ? " missing" : "") },
    el("label", { for: id }, it.label + (it.unit ? ` (${it.unit})` : "")), input);
}

function checklistAnswers() {
  const out = {};
  for (const e of $("v-items").querySelectorAll("[data-key]")) {
    if (e.value === "") continue;
    out[e.dataset.key] = e.dataset.kind === "yes_no" ? e.value === "true" : e.dataset.kind === "number" ? Number(e.value) : e.value;
  }
  return out;
}

async function sha256(blob) {
  const d = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function photoTaken(file) {
  const j = current();
  if (!j || !file) return;
  const sum = await sha256(file);
  const item = j.checklist && j.checklist.items.find((it) => it.kind === "photo" && j.checklist.answers[it.key] == null);
  await store.enqueue({ type: "upload", job_id: j.id, blob: file, filename: file.name || "photo.jpg", kind: "after", sha256: sum, label: j.reference + " · Photo" });
  (state.photos[j.id] ||= []).push(URL.createObjectURL(file));
  await act("attachment", j, { sha256: sum, checklist_item: item ? item.key : undefined }, "Photo", (x) => {
    if (item) x.checklist.answers[item.key] = "pending";
  });
  $("v-photo").value = "";
}

// The signature pad: strokes of [x, y] points in the canvas's own pixels.
function drawPad() {
  const c = $("v-pad"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  g.lineWidth = 2.5; g.lineCap = "round"; g.strokeStyle = "#111";
  for (const s of state.strokes) {
    g.beginPath();
    s.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
    g.stroke();
  }
}

function padPoint(e) {
  const c = $("v-pad"), r = c.getBoundingClientRect();
  return [Math.round((e.clientX - r.left) * c.width / r.width), Math.round((e.clientY - r.top) * c.height / r.height)];
}

function wirePad() {
  const c = $("v-pad");
  let drawing = false;
  c.addEventListener("pointerdown", (e) => { drawing = true; c.setPointerCapture(e.pointerId); state.strokes.push([padPoint(e)]); drawPad(); });
  c.addEventListener("pointermove", (e) => { if (drawing) { state.strokes[state.strokes.length - 1].push(padPoint(e)); drawPad(); } });
  const end = () => { drawing = false; };
  c.addEventListener("pointerup", end);
  c.addEventListener("pointercancel", end);
}

function partRow(p = { sku: "", name: "", quantity: 1 }) {
  return el("div", { class: "part" },
    el("input", { class: "sku", placeholder: "SKU", value: p.sku }), el("input", { class: "name", placeholder: "part", value: p.name }),
    el("input", { class: "qty", type: "number", min: 1, value: p.quantity, "aria-label": "quantity" }));
}

function saveDraft() {
  if (state.open === null) return;
  const parts = [...$("v-parts").querySelectorAll(".part")].map((p) => ({ sku: p.querySelector(".sku").value, name: p.querySelector(".name").value,
    quantity: Number(p.querySelector(".qty").value) || 1 }));
  store.set("draft-" + state.open, { notes: $("v-notes").value, parts });
}

function partsUsed() {
  return [...$("v-parts").querySelectorAll(".part")].map((p) => ({ sku: p.querySelector(".sku").value.trim(), name: p.querySelector(".name").value.trim(),
    quantity: Number(p.querySelector(".qty").value) })).filter((p) => p.sku);
}

function wireVisit() {
  $("v-save-checklist").addEventListener("click", () => {
    const j = current(), answers = checklistAnswers();
    for (const e of $("v-items").querySelectorAll("[data-typed]")) delete e.dataset.typed;
    act("checklist", j, { answers }, "Checklist", (x) => Object.assign(x.checklist.answers, answers));
  });
  $("v-photo").addEventListener("change", (e) => photoTaken(e.target.files[0]));
  $("v-clear").addEventListener("click", () => { state.strokes = []; drawPad(); });
  $("v-save-signature").addEventListener("click", () => {
    const j = current(), name = $("v-signer").value.trim();
    if (!name || !state.strokes.some((s) => s.length > 1)) { note("The customer signs and gives their name."); return; }
    act("signoff", j, { signoff: { method: "signature", signer_name: name, strokes: state.strokes } }, "Signature", (x) => { x.signoff_method = "signature"; });
  });
  // Sending the customer a code needs the server (it texts them): online only.
  $("v-send-code").addEventListener("click", async () => {
    const j = current();
    if (!navigator.onLine) { $("v-code-note").textContent = "Sending a code needs a connection; the signature works offline."; return; }
    try {
      const r = await api(`/v1/jobs/${j.id}/signoff/code`, { method: "POST" });
      $("v-code-note").textContent = `Code sent to the customer; good until ${fmt(r.expires_at, false)}.`;
    } catch (e) {
      $("v-code-note").textContent = e instanceof Offline ? "No connection: try again, or take a signature." : e.message;
    }
  });
  $("v-save-code").addEventListener("click", () => {
    const j = current(), code = $("v-code").value.trim();
    act("signoff", j, { signoff: { method: "code", code } }, "Acceptance code", (x) => { x.signoff_method = "code"; });
  });
  $("v-add-part").addEventListener("click", () => { $("v-parts").append(partRow()); saveDraft(); });
  $("v-finish").addEventListener("input", saveDraft);
  $("v-complete").addEventListener("click", () => {
    const j = current();
    status(j, "completed", "Complete", { notes: $("v-notes").value, parts_used: partsUsed() });
    store.del("draft-" + j.id);
    $("visit").close();
  });
  $("v-incomplete").addEventListener("click", () => {
    const j = current();
    status(j, "incomplete", "Not finished", { outcome: $("v-outcome").value, notes: $("v-notes").value, parts_used: partsUsed() });
    store.del("draft-" + j.id);
    $("visit").close();
  });
  $("visit").addEventListener("close", () => { state.open = null; });
}

// ---- signing in and out ----

function note(msg) { $("signin-error").textContent = msg; if (state.token) alertBar(msg); }
function alertBar(msg) { $("conflicts").prepend(el("div", { class: "conflict", role: "alert" }, msg)); }

// subjectOf is the login a bearer token names (its payload's sub), "" when it is not a JWT.
function subjectOf(token) {
  try {
    const b64 = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(b64)))).sub || "";
  } catch { return ""; }
}

async function signIn(token) {
  token = token.trim();
  // Another technician on this phone: their day and cursor are not this one's. What they did and
  // did not send yet must not go out under this token, so it waits for them to sync or sign out.
  const sub = subjectOf(token), had = await store.get("subject");
  if (had && sub !== had) {
    const waiting = (await store.all("outbox")).length;
    if (waiting) {
      const msg = `${waiting} action(s) of the technician signed in before are not sent yet: let them sync, or sign out, first.`;
      $("signin-error").textContent = msg;
      if (state.token) { // signed in as them: say it where they look
        await store.addConflict({ key: "signin-" + Date.now(), label: "Sign-in", code: "queue_not_sent", message: msg, at: new Date().toISOString() });
        await load();
      }
      return;
    }
    await store.wipe();
  }
  await store.set("subject", sub);
  state.token = token;
  localStorage.setItem("fieldfix.tech.token", state.token);
  try {
    await pull();
  } catch (e) {
    if (!(e instanceof Offline)) {
      signOut(e.message === "unauthorized" ? "This token is not valid (or has expired): ask your dispatcher for a sign-in link." : e.message, true);
      return;
    }
  }
  await load();
  flush();
}

async function signOut(msg, keep = false) {
  state.token = "";
  localStorage.removeItem("fieldfix.tech.token");
  if (!keep) await store.wipe();
  if ("caches" in window) for (const k of await caches.keys()) if (k.startsWith("fieldfix-tech-data")) await caches.delete(k);
  $("signin-error").textContent = msg || "";
  await load();
}

// redeemLink signs in with a one-time link a dispatcher sent (/tech/#link=CODE): the code is
// exchanged once for a token (POST /v1/technician-signin). Offline, the link is kept in the
// address and used when the connection comes back.
async function redeemLink(code) {
  let res;
  try {
    res = await fetch("/v1/technician-signin", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code }) });
  } catch {
    $("signin-error").textContent = "Your sign-in link needs a connection once: it will be used as soon as the phone is online.";
    return false;
  }
  history.replaceState(null, "", location.pathname);
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = (body && body.detail) || "This sign-in link does not work: ask your dispatcher for a new one.";
    $("signin-error").textContent = msg;
    if (state.token) { // signed in already: say it where the technician looks
      await store.addConflict({ key: "link-" + Date.now(), label: "Sign-in link", code: body && body.code, message: msg, at: new Date().toISOString() });
      await load();
    }
    return true;
  }
  await signIn(body.token);
  return true;
}

async function fromAddress() {
  const link = location.hash.match(/link=([^&]+)/); // a one-time link from a dispatcher
  if (link) return redeemLink(decodeURIComponent(link[1]));
  const m = location.hash.match(/token=([^&]+)/); // a token given by hand
  if (m) {
    history.replaceState(null, "", location.pathname);
    await signIn(decodeURIComponent(m[1]));
  }
  return true;
}

async function start() {
  await fromAddress();
  $("signin").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value); });
  $("signout").addEventListener("click", async () => {
    const waiting = (await store.all("outbox")).length;
    if (waiting && !confirm(`${waiting} action(s) are not sent yet and would be lost. Sign out anyway?`)) return;
    signOut();
  });
  $("sync").addEventListener("click", () => flush());
  window.addEventListener("online", () => { render(); if (/link=/.test(location.hash)) fromAddress(); else flush(); });
  window.addEventListener("hashchange", fromAddress);
  window.addEventListener("offline", render);
  // Back to the app (from the maps app, a call, the lock screen): catch up.
  document.addEventListener("visibilitychange", () => { if (!document.hidden && state.token) flush(); });
  wirePad();
  wireVisit();
  await load();
  if (state.token) flush();
  setInterval(() => {
    for (const c of document.querySelectorAll(".countdown[data-expires]")) {
      const left = Math.floor((Date.parse(c.dataset.expires) - serverNow()) / 1000);
      c.textContent = left <= 0 ? "expired" : `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      if (left <= 0) { // too late to answer: the server would refuse it
        c.classList.add("expired");
        for (const b of c.closest(".offer").querySelectorAll("button")) b.disabled = true;
      }
    }
  }, 1000);
  setInterval(() => { if (state.token && navigator.onLine) flush(); }, 30000);
  if ("serviceWorker" in navigator) {
    // A new release's worker took over (it caches the release whole first): this page is the
    // old release until it is opened again.
    const had = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      if (had) $("updated").hidden = false;
    });
    navigator.serviceWorker.register("/tech/sw.js", { scope: "/tech/" }).catch(() => {});
  }
  $("updated").querySelector("button").addEventListener("click", () => location.reload());
}

start();
