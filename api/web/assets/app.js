// FieldFix dispatch console: plain JavaScript over the public API, no build step. This file holds
// the state, the API client, times in the dispatchers' zone, the lists and the confirm dialog;
// gantt.js, map.js and panel.js draw the rest; start.js wires it together.
"use strict";

const $ = (sel) => document.querySelector(sel);
const FF = {
  token: sessionStorage.getItem("fieldfix.token") || "",
  config: { map_tiles: "", map_attribution: "" },
  zone: "UTC",
  day: "",          // the board's day (YYYY-MM-DD in the zone)
  skew: 0,          // server clock − browser clock, ms
  board: null,
  techs: new Map(), // id → technician (every page of GET /v1/technicians)
  jobs: new Map(),  // id → the console's record of a visit
  routes: new Map(),// technician id → route {technician, jobs: [ids], time_off, shifts}
  unassigned: [],   // job ids, server order
  atRisk: [],       // job ids
  selected: null,   // {kind: "job"|"tech", id}
  filters: { tier: "", trade: "", q: "" },
  stream: null,
};
window.FF = FF; // for the browser tests and whoever opens the console's devtools

const LIVE = ["unassigned", "planned", "offered", "accepted", "en_route", "on_site"];
const MOVABLE = ["unassigned", "planned", "offered", "accepted"];

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function say(text, kind, action) {
  const div = el("div", kind || "ok", text);
  if (action) {
    const b = el("button", "linkish", action.label);
    b.type = "button";
    b.onclick = () => { div.remove(); action.run(); };
    div.append(" ", b);
  }
  $("#messages").prepend(div);
  while ($("#messages").children.length > 4) $("#messages").lastChild.remove();
  if (!action) setTimeout(() => div.remove(), 15000);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "Authorization": "Bearer " + FF.token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const err = new Error(data.detail || res.statusText);
    Object.assign(err, data, { status: res.status, message: data.detail || res.statusText });
    throw err;
  }
  return data;
}

function fail(err) {
  say((err.status ? err.status + " " : "") + (err.code ? err.code + ": " : "") + err.message, "err");
}

// ---- Times, told in the dispatchers' zone (FIELDFIX_TIME_ZONE, the board's time_zone) ----
const fmts = new Map();
function fmt(ms, opts) {
  const key = FF.zone + JSON.stringify(opts);
  if (!fmts.has(key)) fmts.set(key, new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: FF.zone }, opts)));
  return fmts.get(key).format(new Date(ms));
}
const ms = (iso) => (iso ? Date.parse(iso) : NaN);
const nowMs = () => Date.now() + FF.skew;
function hm(iso) { return iso ? fmt(ms(iso), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }) : "—"; }
function dayHm(iso) {
  if (!iso) return "—";
  return fmt(ms(iso), { weekday: "short", day: "numeric", month: "short" }) + " " + hm(iso);
}
// zoneOffset is the zone's offset from UTC at instant t, in ms.
function zoneOffset(t) {
  const p = {};
  for (const x of partsFmt().formatToParts(new Date(t))) p[x.type] = x.value;
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - Math.floor(t / 1000) * 1000;
}
function partsFmt() {
  const key = "parts:" + FF.zone;
  if (fmts.has(key)) return fmts.get(key);
  const f = new Intl.DateTimeFormat("en-US", { timeZone: FF.zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  fmts.set(key, f);
  return f;
}
// dayStart is 00:00 of the day (YYYY-MM-DD) in the zone, as epoch ms.
function dayStart(day) {
  const [y, m, d] = day.split("-").map(Number);
  const guess = Date.UTC(y, m - 1, d);
  const first = guess - zoneOffset(guess);
  return guess - zoneOffset(first);
}
function dayOf(t) {
  const p = {};
  for (const x of partsFmt().formatToParts(new Date(t))) p[x.type] = x.value;
  return `${p.year}-${p.month}-${p.day}`;
}
function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}
function duration(min) {
  const a = Math.abs(Math.round(min));
  return (min < 0 ? "−" : "") + (a >= 60 ? Math.floor(a / 60) + " h " + String(a % 60).padStart(2, "0") : a + " min");
}

// ---- The console's record of a visit: one shape for route jobs, board items and job details ----
function record(src) {
  const id = src.job_id || src.id;
  const old = FF.jobs.get(id) || {};
  const r = Object.assign({}, old, src, { id });
  delete r.job_id;
  if (src.booking && typeof src.booking === "object") {
    const b = src.booking;
    Object.assign(r, { tier: b.tier, sla_due_at: b.sla_due_at, appliance: b.appliance, address: b.address, location: b.location, problem: b.problem, service_type: b.service_type, booking_status: b.status });
  }
  FF.jobs.set(id, r);
  return r;
}
function techName(id) { const t = FF.techs.get(id); return t ? t.name : id ? "#" + id : "—"; }
function slackMin(j) {
  const start = j.planned_start && j.status !== "on_site" ? ms(j.planned_start) : nowMs();
  return (ms(j.sla_due_at) - start) / 60000;
}
// atRisk is the board's rule, for a visit changed live (the board is read again soon after).
function atRisk(j) {
  if (!LIVE.includes(j.status) || j.status === "on_site" || (j.visit && j.visit !== 1)) return false;
  const due = ms(j.sla_due_at) - nowMs();
  if (!j.technician_id && due < 6 * 3600e3) return true;
  if (j.planned_start && ms(j.planned_start) > ms(j.sla_due_at)) return true;
  return !!j.technician_id && due < 6 * 3600e3 && j.status !== "en_route" && j.planned_start && ms(j.planned_start) + 30 * 60e3 < nowMs();
}

// ---- Filters and search ----
function matches(j) {
  const f = FF.filters;
  if (f.tier && j.tier !== f.tier) return false;
  if (f.trade && !(j.required_skills || []).includes(f.trade)) return false;
  if (!f.q) return true;
  const hay = [j.reference, j.customer_name, j.address, j.appliance, techName(j.technician_id)].join(" ").toLowerCase();
  return hay.includes(f.q);
}

// ---- Lists: unassigned (with the reason) and at risk (sorted by slack); rows kept by job ----
function listRow(j, risk) {
  const li = el("li", "item tier-" + j.tier);
  li.dataset.job = j.id;
  li.tabIndex = 0;
  const top = el("div", "line");
  top.append(el("b", "ref", j.reference), el("span", "cust", j.customer_name || ""), el("span", "tier", j.tier));
  const mid = el("div", "line small");
  mid.append(el("span", "", j.appliance), el("span", "addr", j.address || ""));
  const low = el("div", "line small");
  const due = el("span", "due", "due " + dayHm(j.sla_due_at));
  if (risk) {
    const s = slackMin(j);
    low.append(el("span", "", (j.technician_id ? techName(j.technician_id) + " · " : "no technician · ") + (j.planned_start ? dayHm(j.planned_start) : "not planned")), due,
      el("span", "slack" + (s < 0 ? " late" : s < 120 ? " warn" : ""), "slack " + duration(s)));
  } else {
    low.append(due, el("span", "reason", j.reason_code || "not_planned"));
    if (j.reason_message) low.lastChild.title = j.reason_message;
  }
  li.append(top, mid, low);
  if (risk && j.reasons && j.reasons.length) li.title = j.reasons.join("; ");
  if (!risk && j.reason_message) li.append(el("div", "line small why", j.reason_message));
  li.onclick = () => Panel.showJob(j.id);
  li.onkeydown = (ev) => {
    if (Gantt.moving()) return; // the move's keys
    if (ev.key === "Enter") Panel.showJob(j.id);
    // M: move it onto a technician's row from the keyboard, as a visit of the Gantt
    else if ((ev.key === "m" || ev.key === "M") && MOVABLE.includes(j.status)) { ev.preventDefault(); ev.stopPropagation(); Gantt.startMove(j.id, 0, NaN); }
  };
  if (!risk || !j.technician_id) li.onpointerdown = (ev) => Gantt.dragFromList(ev, j.id); // onto a row of the Gantt
  li._sig = sigOf(j) + risk;
  return li;
}
function sigOf(j) {
  return [j.status, j.technician_id, j.planned_start, j.sla_due_at, j.reason_code, j.version, j.customer_name, FF.filters.q].join("|");
}
// syncList puts the rows of ids into ol, reusing the rows whose visit did not change.
function syncList(ol, ids, risk) {
  const have = new Map([...ol.children].map((li) => [Number(li.dataset.job), li]));
  let prev = null;
  for (const id of ids) {
    const j = FF.jobs.get(id);
    let li = have.get(id);
    have.delete(id);
    const sig = sigOf(j) + risk;
    if (!li || li._sig !== sig) {
      const fresh = listRow(j, risk);
      if (li) li.replaceWith(fresh);
      li = fresh;
    }
    const want = prev ? prev.nextSibling : ol.firstChild;
    if (want !== li) ol.insertBefore(li, want);
    prev = li;
  }
  for (const li of have.values()) li.remove();
}
function renderLists() {
  const un = FF.unassigned.filter((id) => matches(FF.jobs.get(id)));
  const ar = FF.atRisk.filter((id) => matches(FF.jobs.get(id)));
  ar.sort((a, b) => slackMin(FF.jobs.get(a)) - slackMin(FF.jobs.get(b)));
  syncList($("#unassigned"), un, false);
  syncList($("#atrisk"), ar, true);
  $("#n-unassigned").textContent = "(" + un.length + (un.length !== FF.unassigned.length ? " of " + FF.unassigned.length : "") + ")";
  $("#n-atrisk").textContent = "(" + ar.length + (ar.length !== FF.atRisk.length ? " of " + FF.atRisk.length : "") + ")";
}

// ---- The confirm dialog: warnings before a change, and the reason for it ----
function ask({ title, lines = [], warnings = [], error = null, ok = "Confirm", reason = true }) {
  const d = $("#confirm");
  $("#confirm-title").textContent = title;
  const body = $("#confirm-body");
  body.replaceChildren();
  for (const l of lines) body.append(el("p", "", l));
  if (warnings.length) {
    const ul = el("ul", "warnings");
    for (const w of warnings) {
      const li = el("li", "warn", w.message);
      li.dataset.code = w.code;
      ul.append(li);
    }
    body.append(el("p", "warn-head", "Warnings — the change can still be made:"), ul);
  }
  if (error) body.append(el("p", "conflict", error));
  $("#confirm-reason-box").hidden = !reason || !!error;
  $("#confirm-reason").value = "";
  $("#confirm-ok").hidden = !!error;
  $("#confirm-ok").textContent = ok;
  $("#confirm-cancel").textContent = error ? "Close" : "Cancel";
  d.returnValue = "";
  d.showModal();
  (error ? $("#confirm-cancel") : $("#confirm-ok")).focus();
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve({ ok: d.returnValue === "ok", reason: $("#confirm-reason").value.trim() }), { once: true });
  });
}

// clashText says what a 409 clashes with, from the problem's fields.
function clashText(e) {
  if (e.code === "technician_double_booked" && e.clashing_reference) {
    return `Clashes with ${e.clashing_reference} (${hm(e.clashing_start)}–${hm(e.clashing_end)}). ${e.message}`;
  }
  return e.message;
}

// proposeAssign asks the API what an assignment would do (dry run), shows its warnings or its
// conflict, and makes it once the dispatcher confirms.
async function proposeAssign(jobId, techId, startMs) {
  const j = FF.jobs.get(jobId);
  const body = { technician_id: techId };
  if (startMs) body.planned_start = new Date(startMs).toISOString();
  let dry;
  try {
    dry = await api("POST", `/v1/jobs/${jobId}/assign`, Object.assign({ dry_run: true }, body));
  } catch (e) {
    if (e.status === 409 || e.status === 422) {
      Gantt.flash(e.clashing_job_id);
      await ask({ title: `${j.reference} cannot go to ${techName(techId)}`, error: clashText(e) });
      return false;
    }
    fail(e);
    return false;
  }
  const when = `${dayHm(dry.job.planned_start)}–${hm(dry.job.planned_end)}`;
  const answer = await ask({
    title: `Assign ${j.reference} to ${techName(techId)}?`,
    lines: [`${when}${j.technician_id && j.technician_id !== techId ? " (now with " + techName(j.technician_id) + ")" : ""}. The visit is pinned there.`],
    warnings: dry.warnings || [], ok: "Assign",
  });
  if (!answer.ok) return false;
  try {
    body.reason = answer.reason || "assigned in the console";
    const res = await api("POST", `/v1/jobs/${jobId}/assign`, body);
    const warns = (res.warnings || []).map((w) => w.message);
    say(`${j.reference} → ${res.job.technician_name || techName(techId)} at ${dayHm(res.job.planned_start)}` + (warns.length ? " — " + warns.join("; ") : ""), warns.length ? "warn" : "ok");
    applyJob(res.job);
    return true;
  } catch (e) {
    if (e.status === 409) {
      Gantt.flash(e.clashing_job_id);
      await ask({ title: `${j.reference} cannot go to ${techName(techId)}`, error: clashText(e) });
    } else fail(e);
    return false;
  }
}

// applyJob puts a changed visit where it now belongs: its rows in the Gantt, the lists, the map.
function applyJob(src) {
  const before = FF.jobs.get(src.id || src.job_id);
  const oldTech = before ? before.technician_id : null;
  const j = record(src);
  const rows = new Set([oldTech, j.technician_id].filter(Boolean));
  for (const [tid, r] of FF.routes) {
    const i = r.jobs.indexOf(j.id);
    if (i >= 0 && tid !== j.technician_id) r.jobs.splice(i, 1);
  }
  const inDay = j.planned_start && ms(j.planned_end || j.planned_start) > dayStart(FF.day) && ms(j.planned_start) < dayStart(addDays(FF.day, 1));
  const r = FF.routes.get(j.technician_id);
  if (r) {
    const i = r.jobs.indexOf(j.id);
    const keep = inDay && (LIVE.includes(j.status) || j.status === "completed" || j.status === "incomplete");
    if (keep && i < 0) r.jobs.push(j.id);
    if (!keep && i >= 0) r.jobs.splice(i, 1);
    r.jobs.sort((a, b) => ms(FF.jobs.get(a).planned_start) - ms(FF.jobs.get(b).planned_start));
  }
  const un = LIVE.includes(j.status) && !j.technician_id;
  FF.unassigned = FF.unassigned.filter((x) => x !== j.id);
  if (un) FF.unassigned.push(j.id);
  FF.atRisk = FF.atRisk.filter((x) => x !== j.id);
  if (atRisk(j)) FF.atRisk.push(j.id);
  renderLists();
  Gantt.updateRows([...rows]);
  MapView.updateRoutes([...rows]);
  MapView.updateJob(j);
  if (FF.selected && FF.selected.kind === "job" && FF.selected.id === j.id) Panel.showJob(j.id, true);
}
