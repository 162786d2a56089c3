// FieldFix dispatch console: plain JavaScript over the public API, no build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { token: sessionStorage.getItem("fieldfix.token") || "", board: null, techs: [], selected: null, stream: null };

function say(text, kind) {
  const div = document.createElement("div");
  div.className = kind || "ok";
  div.textContent = text;
  $("#messages").prepend(div);
  while ($("#messages").children.length > 5) $("#messages").lastChild.remove();
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "Authorization": "Bearer " + state.token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const err = new Error(data.detail || res.statusText);
    err.status = res.status;
    err.code = data.code;
    throw err;
  }
  return data;
}

function fail(err) {
  say((err.status ? err.status + " " : "") + (err.code ? err.code + ": " : "") + err.message, "err");
}

const skillOf = { washer: "washer", dryer: "washer", dishwasher: "washer", fridge: "fridge", freezer: "fridge", ac: "ac", tv: "tv", water_heater: "water_heater" };

function minutesLeft(iso) { return Math.round((new Date(iso) - Date.now()) / 60000); }
function fmtDue(iso) {
  const m = minutesLeft(iso);
  const s = (m < 0 ? "−" : "") + Math.floor(Math.abs(m) / 60) + " h " + String(Math.abs(m) % 60).padStart(2, "0");
  return s;
}
function hhmm(iso) { return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "—"; }

function techOptions(select, appliance) {
  select.replaceChildren();
  const need = skillOf[appliance];
  const sorted = [...state.techs].sort((a, b) => (b.skills.includes(need) - a.skills.includes(need)) || a.name.localeCompare(b.name));
  for (const t of sorted) {
    if (!t.active) continue;
    const o = document.createElement("option");
    o.value = t.id;
    o.textContent = t.name + " (" + t.skills.join(", ") + ")";
    select.append(o);
  }
}

async function assign(jobId, techId, force, version) {
  try {
    const headers = {};
    const res = await api("POST", `/v1/jobs/${jobId}/assign`, { technician_id: Number(techId), force: !!force, reason: "assigned in the console" });
    const warns = (res.warnings || []).map((w) => w.message);
    say(`Job ${jobId} → ${res.job.technician_name || res.job.technician_id} at ${hhmm(res.job.planned_start)}` + (warns.length ? " — warning: " + warns.join("; ") : ""), warns.length ? "warn" : "ok");
    await load();
  } catch (e) { fail(e); }
}

function renderTables() {
  const b = state.board;
  const un = $("#unassigned tbody");
  un.replaceChildren();
  for (const it of b.unassigned) {
    const tr = document.createElement("tr");
    tr.dataset.job = it.job_id;
    tr.innerHTML = `<td></td><td>${it.appliance}</td><td>${it.tier}</td><td class="due"></td><td><select class="tech"></select></td><td><button class="assign" type="button">Assign</button></td>`;
    tr.children[0].textContent = it.reference;
    tr.children[0].title = `job ${it.job_id}` + (it.reason_code ? ` · ${it.reason_code}: ${it.reason_message}` : "");
    tr.querySelector(".due").textContent = fmtDue(it.sla_due_at);
    tr.querySelector(".due").classList.toggle("late", minutesLeft(it.sla_due_at) < 360);
    tr.querySelector(".due").dataset.due = it.sla_due_at;
    techOptions(tr.querySelector(".tech"), it.appliance);
    tr.querySelector(".assign").onclick = () => assign(it.job_id, tr.querySelector(".tech").value, false);
    un.append(tr);
  }
  $("#n-unassigned").textContent = "(" + b.unassigned.length + ")";
  const ar = $("#atrisk tbody");
  ar.replaceChildren();
  for (const it of b.at_risk) {
    const tr = document.createElement("tr");
    tr.dataset.job = it.job_id;
    const t = state.techs.find((x) => x.id === it.technician_id);
    tr.innerHTML = `<td></td><td></td><td>${hhmm(it.planned_start)}</td><td class="due late"></td><td></td>`;
    tr.children[0].textContent = it.reference;
    tr.children[0].title = `job ${it.job_id}`;
    tr.children[1].textContent = t ? t.name : "—";
    tr.children[3].textContent = fmtDue(it.sla_due_at);
    tr.children[3].dataset.due = it.sla_due_at;
    tr.children[4].textContent = (it.reasons || []).join("; ");
    tr.onclick = () => select({ id: it.job_id, reference: it.reference, appliance: it.appliance, technician_id: it.technician_id, planned_start: it.planned_start });
    ar.append(tr);
  }
  $("#n-atrisk").textContent = "(" + b.at_risk.length + ")";
}

function renderRoutes() {
  const box = $("#routes");
  box.replaceChildren();
  const day = new Date($("#day").value + "T00:00:00");
  const span = 24 * 3600 * 1000;
  for (const r of state.board.routes) {
    const row = document.createElement("div");
    row.className = "route";
    row.dataset.tech = r.technician.id;
    const name = document.createElement("div");
    name.textContent = r.technician.name + " · " + r.technician.skills.join(", ");
    const bar = document.createElement("div");
    bar.className = "bar";
    for (const j of r.jobs) {
      if (!j.planned_start) continue;
      const s = new Date(j.planned_start) - day, e = new Date(j.planned_end || j.planned_start) - day;
      const el = document.createElement("div");
      el.className = "job " + j.status + (j.pinned ? " pinned" : "");
      el.dataset.job = j.id;
      el.style.left = Math.max(0, (100 * s) / span) + "%";
      el.style.width = Math.max(0.6, (100 * (e - s)) / span) + "%";
      el.textContent = j.reference;
      el.title = `${j.reference} (job ${j.id}) · ${j.status} · ${hhmm(j.planned_start)}–${hhmm(j.planned_end)}` + (j.pinned ? " · pinned" : "");
      el.onclick = () => select({ id: j.id, reference: j.reference, technician_id: r.technician.id, planned_start: j.planned_start, status: j.status, pinned: j.pinned });
      bar.append(el);
    }
    const off = document.createElement("button");
    off.type = "button";
    off.className = "unavailable";
    off.textContent = "Unavailable";
    off.onclick = async () => {
      try {
        const res = await api("POST", `/v1/technicians/${r.technician.id}/unavailable`, { reason: "marked in the console" });
        say(`${r.technician.name} unavailable; ${res.redispatched.length} job(s) re-dispatched`);
        await load();
      } catch (e) { fail(e); }
    };
    row.append(name, bar, off);
    box.append(row);
  }
}

function select(job) {
  state.selected = job;
  $("#selected").hidden = false;
  $("#sel-id").textContent = job.reference || "#" + job.id;
  const t = state.techs.find((x) => x.id === job.technician_id);
  $("#sel-info").textContent = (t ? "with " + t.name : "unassigned") + (job.planned_start ? " at " + hhmm(job.planned_start) : "") + (job.pinned ? " · pinned" : "");
  techOptions($("#sel-tech"), job.appliance);
}

// The map: the region's H3 hexagons as SVG polygons, shaded by open bookings; technicians as dots.
async function renderMap() {
  const svg = $("#map");
  const b = state.board;
  let region = (b.unassigned[0] || b.at_risk[0] || {}).region;
  if (!region) {
    // Otherwise the region of the newest booking still to serve, else of a technician.
    try {
      const open = await api("GET", "/v1/bookings?status=scheduled&limit=1");
      region = (open.items[0] || {}).region;
    } catch (e) { /* fall back below */ }
  }
  region = region || (state.techs[0] || {}).region;
  if (!region) return;
  let fc;
  try { fc = await api("GET", "/v1/geo/cells?region=" + region); } catch (e) { fail(e); return; }
  const pts = [];
  for (const f of fc.features) for (const ring of f.geometry.coordinates) for (const p of (typeof ring[0][0] === "number" ? ring : ring.flat())) pts.push(p);
  const lngs = pts.map((p) => p[0]), lats = pts.map((p) => p[1]);
  const minX = Math.min(...lngs), maxX = Math.max(...lngs), minY = Math.min(...lats), maxY = Math.max(...lats);
  const k = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
  const W = 600, H = 420, sx = W / ((maxX - minX) * k || 1), sy = H / ((maxY - minY) || 1), s = Math.min(sx, sy);
  const xy = (lng, lat) => [((lng - minX) * k * s).toFixed(1), ((maxY - lat) * s).toFixed(1)];
  const maxB = Math.max(1, ...fc.features.map((f) => f.properties.bookings));
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  for (const f of fc.features) {
    const rings = f.geometry.type === "Polygon" ? [f.geometry.coordinates[0]] : f.geometry.coordinates.map((p) => p[0]);
    for (const ring of rings) {
      const poly = document.createElementNS(ns, "polygon");
      poly.setAttribute("points", ring.map((p) => xy(p[0], p[1]).join(",")).join(" "));
      const a = f.properties.bookings / maxB;
      poly.setAttribute("fill", `rgba(29, 53, 87, ${0.08 + 0.8 * a})`);
      const title = document.createElementNS(ns, "title");
      title.textContent = `${f.properties.cell}: ${f.properties.bookings} open booking(s), ${f.properties.technicians} technician(s)`;
      poly.append(title);
      svg.append(poly);
    }
  }
  for (const t of state.techs) {
    const p = t.last_position || t.home;
    if (!t.active || p.lng < minX || p.lng > maxX || p.lat < minY || p.lat > maxY) continue;
    const c = document.createElementNS(ns, "circle");
    const [x, y] = xy(p.lng, p.lat);
    c.setAttribute("cx", x); c.setAttribute("cy", y); c.setAttribute("r", 4);
    const title = document.createElementNS(ns, "title");
    title.textContent = t.name;
    c.append(title);
    svg.append(c);
  }
}

// Loads overlap (sign-in, a change of day, live changes): only the latest one is drawn, or a slow
// answer for the day before could replace the board of the day just chosen.
let loadSeq = 0;
async function load() {
  const seq = ++loadSeq;
  try {
    const [board, techs] = await Promise.all([api("GET", "/v1/board?day=" + $("#day").value), api("GET", "/v1/technicians?limit=200")]);
    if (seq !== loadSeq) return;
    state.board = board;
    state.techs = techs.items;
    renderTables();
    renderRoutes();
    await renderMap();
    document.body.dataset.loaded = String(Date.now());
  } catch (e) {
    fail(e);
    if (e.status === 401 || e.status === 403) signout();
  }
}

let reloadTimer = null;
function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(load, 300);
}

// The server ends the stream when the token expires: ask for a fresh one rather than retry.
function expired() {
  signout();
  say("Your token has expired: sign in with a fresh one", "err");
}

// Live updates: GET /v1/events as a stream (fetch, so the token travels in the header).
async function listen() {
  const ctl = new AbortController();
  state.stream = ctl;
  while (!ctl.signal.aborted) {
    try {
      const res = await fetch("/v1/events", { headers: { "Authorization": "Bearer " + state.token }, signal: ctl.signal });
      if (res.status === 401) return expired();
      if (!res.ok) throw new Error("events: " + res.status);
      $("#live").textContent = "live";
      $("#live").classList.add("on");
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const msg = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (/^event: token_expired/m.test(msg)) return expired();
          if (/^event: (change|resync)/m.test(msg)) reloadSoon();
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    $("#live").textContent = "offline";
    $("#live").classList.remove("on");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function signout() {
  sessionStorage.removeItem("fieldfix.token");
  state.token = "";
  if (state.stream) state.stream.abort();
  $("#app").hidden = true;
  $("#controls").hidden = true;
  $("#signin").hidden = false;
}

function start() {
  $("#signin").hidden = true;
  $("#controls").hidden = false;
  $("#app").hidden = false;
  load();
  listen();
}

// The board's default day is the dispatcher's own calendar day: toISOString is the UTC date, which
// east of UTC is still yesterday just after local midnight (and west of UTC already tomorrow at night).
function localDay(d) {
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
}

$("#day").value = localDay(new Date());
$("#day").onchange = load;
$("#signin").onsubmit = (ev) => {
  ev.preventDefault();
  state.token = $("#token").value.trim();
  sessionStorage.setItem("fieldfix.token", state.token);
  start();
};
$("#signout").onclick = signout;
$("#optimize").onclick = async () => {
  try {
    const res = await api("POST", "/v1/dispatch/optimize", {});
    say(`Re-optimised: ${res.moved.length} job(s) moved, ${res.newly_assigned} assigned, ${res.breaches_avoided} breach(es) avoided`);
    await load();
  } catch (e) { fail(e); }
};
$("#sel-assign").onclick = () => state.selected && assign(state.selected.id, $("#sel-tech").value, $("#sel-force").checked);
for (const [id, action] of [["#sel-pin", "pin"], ["#sel-unpin", "unpin"], ["#sel-unassign", "unassign"]]) {
  $(id).onclick = async () => {
    if (!state.selected) return;
    try {
      await api("POST", `/v1/jobs/${state.selected.id}/${action}`, {});
      say(`Job ${state.selected.id}: ${action}`);
      await load();
    } catch (e) { fail(e); }
  };
}
setInterval(() => {
  for (const td of document.querySelectorAll("td[data-due]")) td.textContent = fmtDue(td.dataset.due);
}, 30000);
if (state.token) start();
