// Wiring: sign-in, the day (opening on the dispatchers' current day and hour), the regions
// (remembered in this browser), filters and search, and the live feed, whose changes are applied
// to what they touch (a visit's rows, list entries and map marks), never by redrawing the page.
"use strict";

async function fetchTechs() {
  const all = new Map();
  let before = "";
  for (let page = 0; page < 50; page++) {
    const res = await api("GET", "/v1/technicians?limit=200" + (before ? "&before=" + before : ""));
    for (const t of res.items) all.set(t.id, t);
    if (!res.next_before || res.items.length === 0) break;
    before = res.next_before;
  }
  FF.techs = all;
}

// regionOptions lists the regions (H3 res-5 cells) the technicians are based in, busiest first,
// each with a checkbox; the dispatcher's choice (FF.region: ids joined by commas, "" for all) is
// kept in this browser.
function regionOptions() {
  const count = new Map(), lat = new Map(), lng = new Map();
  for (const t of FF.techs.values()) {
    if (!t.active || !t.region) continue;
    count.set(t.region, (count.get(t.region) || 0) + 1);
    lat.set(t.region, (lat.get(t.region) || 0) + t.home.lat);
    lng.set(t.region, (lng.get(t.region) || 0) + t.home.lng);
  }
  FF.regions = [...count].sort((a, b) => b[1] - a[1]).map(([r]) => r);
  const chosen = new Set(FF.region ? FF.region.split(",") : []);
  const box = $("#region-list");
  box.replaceChildren();
  for (const r of FF.regions) {
    const cb = el("input");
    cb.type = "checkbox";
    cb.value = r;
    cb.checked = chosen.has(r);
    cb.onchange = pickRegions;
    const l = el("label", "");
    // An H3 id's tail is all f: its head names it; where its technicians live places it.
    const n = count.get(r), at = `${(lat.get(r) / n).toFixed(2)}, ${(lng.get(r) / n).toFixed(2)}`;
    l.append(cb, ` ${regionName(r)} · ${n} technician${n === 1 ? "" : "s"} · around ${at}`);
    box.append(l);
  }
  const all = el("button", "linkish", "all regions");
  all.type = "button";
  all.onclick = () => { for (const cb of box.querySelectorAll("input")) cb.checked = false; pickRegions(); };
  box.append(all);
  regionLabel();
}
const regionName = (r) => r.replace(/f+$/, "");
function regionLabel() {
  const n = FF.region ? FF.region.split(",").length : 0;
  $("#regions-label").textContent = n === 0 ? "Regions: all" : n === 1 ? `Region ${regionName(FF.region)}` : `${n} regions`;
}
function pickRegions() {
  FF.region = [...$("#region-list").querySelectorAll("input:checked")].map((cb) => cb.value).sort().join(",");
  localStorage.setItem("fieldfix.region", FF.region);
  regionLabel();
  load(FF.day);
}

// ingest takes a board as the console's state.
function ingest(b) {
  FF.board = b;
  if (FF.zone !== b.time_zone) FF.zone = b.time_zone;
  FF.skew = Date.parse(b.now) - Date.now();
  FF.day = b.day;
  $("#day").value = b.day;
  FF.jobs = new Map();
  FF.routes = new Map();
  for (const r of b.routes) {
    FF.techs.set(r.technician.id, Object.assign(FF.techs.get(r.technician.id) || {}, r.technician));
    FF.routes.set(r.technician.id, { technician: r.technician, jobs: r.jobs.map((j) => record(j).id), time_off: r.time_off, shifts: r.shifts });
  }
  FF.unassigned = b.unassigned.map((it) => record(it).id);
  FF.atRisk = b.at_risk.map((it) => record(it).id);
  const trades = new Set();
  for (const t of FF.techs.values()) for (const s of t.skills) trades.add(s);
  for (const j of FF.jobs.values()) for (const s of j.required_skills || []) trades.add(s); // a trade nobody has: what waits for it
  const tsel = $("#f-trade");
  if ([...tsel.options].slice(1).map((o) => o.value).join() !== [...trades].sort().join()) {
    const keep = tsel.value;
    tsel.replaceChildren(el("option", "", "all"));
    tsel.firstChild.value = "";
    for (const s of [...trades].sort()) tsel.append(el("option", "", s));
    tsel.value = keep;
  }
}

function boardPath(day) {
  const p = new URLSearchParams();
  if (day) p.set("day", day);
  if (FF.region) p.set("region", FF.region);
  return "/v1/board?" + p;
}

// load draws a day whole: sign-in, another day, another region. Only the latest load is drawn.
let loadSeq = 0;
async function load(day) {
  const seq = ++loadSeq;
  const t = performance.now();
  const region = FF.region || mapRegion();
  const cells = MapView.cells(region);
  try {
    const b = await api("GET", boardPath(day));
    if (seq !== loadSeq) return;
    const drawn = performance.now();
    performance.measure("console-board-fetch", { start: t, end: drawn });
    ingest(b);
    renderLists();
    const g = performance.now();
    Gantt.render();
    const m = performance.now();
    performance.measure("console-draw-gantt", { start: g, end: m });
    Capacity.load();
    await MapView.render(region, cells);
    performance.measure("console-draw-map", { start: m, end: performance.now() });
    if (!day) Gantt.scrollToNow();
    performance.measure("console-draw", { start: drawn, end: performance.now() });
    performance.measure("console-load", { start: t, end: performance.now() });
    document.body.dataset.loaded = String(Date.now());
  } catch (e) {
    fail(e);
    if (e.status === 401 || e.status === 403) signout();
  }
}

// mapRegion is the region the map draws cells of when the board shows every region: the one
// with the most technicians.
function mapRegion() {
  return (FF.regions || [])[0] || "";
}

// reload reads the board again and applies only what differs (after time off, or to settle
// the lists after live changes).
async function reload() {
  const seq = ++loadSeq;
  try {
    const b = await api("GET", boardPath(FF.day));
    if (seq !== loadSeq) return;
    ingest(b);
    renderLists();
    Gantt.updateRows(null);
    MapView.updateRoutes(null);
    MapView.updatePositions();
    Capacity.load();
    document.body.dataset.reloaded = String(Date.now());
  } catch (e) { fail(e); }
}
FF.reload = reload;

let settleTimer = null;
function settleSoon(wait) {
  clearTimeout(settleTimer);
  settleTimer = setTimeout(reload, wait);
}

// onChange applies one audit event from the feed: a visit is read and put where it belongs;
// anything else (a technician, time off, a new booking) settles the board shortly after.
async function onChange(ev) {
  const mark = "sse-" + ev.id;
  performance.mark(mark);
  let ids = [];
  if (ev.entity === "job") ids = [ev.entity_id];
  else if (ev.entity === "booking") ids = [...FF.jobs.values()].filter((j) => j.booking_id === ev.entity_id).map((j) => j.id);
  if (ids.length === 0) { settleSoon(1000); return; }
  // A technician's progress or a pin says all it changes: drawn at once, the read then settles it.
  const quick = fromEvent(ev);
  if (quick) {
    const t = performance.now();
    applyJob(quick);
    performance.measure("sse-draw", { start: t, end: performance.now() });
    performance.measure("sse-apply", mark);
    performance.measure("sse-from-event", mark);
  }
  try {
    const read = await Promise.all(ids.map((id) => api("GET", `/v1/jobs/${id}`)));
    const t = performance.now();
    for (const j of read) applyJob(j);
    if (!quick) {
      performance.measure("sse-draw", { start: t, end: performance.now() });
      performance.measure("sse-apply", mark);
    }
    performance.measure("sse-read", mark); // the event to its visit read and drawn, whichever way
  } catch (e) { if (e.status !== 404) fail(e); }
  settleSoon(2000);
}

// fromEvent is what a job's change event tells by itself, as a partial visit, or null: a
// technician's acceptance, departure, arrival or finish (from the status the console holds), or
// a pin. Anything else (a new technician, new times) waits for the visit's read.
function fromEvent(ev) {
  const j = ev.entity === "job" && FF.jobs.get(ev.entity_id);
  if (!j) return null;
  if (ev.action === "pinned" || ev.action === "unpinned") return { id: j.id, pinned: ev.action === "pinned" };
  if (!["accepted", "en_route", "on_site", "completed", "incomplete"].includes(ev.action) || ev.from_status !== j.status || !ev.to_status) return null;
  const o = { id: j.id, status: ev.to_status };
  if (ev.action === "on_site") o.on_site_at = ev.at;
  if (ev.action === "completed" || ev.action === "incomplete") o.finished_at = ev.at;
  return o;
}

// onTechnician moves a technician's dot to the position of their latest ping, and nothing else.
function onTechnician(ev) {
  const t = FF.techs.get(ev.technician_id);
  if (!t) return; // a technician this console has not read yet: the next full read brings them
  const t0 = performance.now();
  Object.assign(t, { active: ev.active, last_position: ev.last_position, last_seen_at: ev.last_seen_at });
  MapView.updatePosition(t);
  performance.measure("ping-draw", { start: t0, end: performance.now() });
  document.body.dataset.pinged = String(ev.technician_id);
}

function expired() {
  signout();
  say("Your token has expired: sign in with a fresh one", "err");
}

// listen reads GET /v1/events as a stream (fetch, so the token travels in the header).
async function listen() {
  const ctl = new AbortController();
  FF.stream = ctl;
  while (!ctl.signal.aborted) {
    try {
      const res = await fetch("/v1/events", { headers: { "Authorization": "Bearer " + FF.token }, signal: ctl.signal });
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
          if (/^event: resync/m.test(msg)) settleSoon(300);
          const data = () => JSON.parse(msg.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n"));
          if (/^event: change/m.test(msg)) {
            try { onChange(data()); } catch (e) { settleSoon(300); }
          }
          if (/^event: technician/m.test(msg)) {
            try { onTechnician(data()); } catch (e) { /* the next ping */ }
          }
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
  FF.token = "";
  if (FF.stream) FF.stream.abort();
  $("#app").hidden = true;
  $("#controls").hidden = true;
  $("#signin").hidden = false;
}

async function start() {
  $("#signin").hidden = true;
  $("#controls").hidden = false;
  $("#app").hidden = false;
  try {
    FF.config = await (await fetch("/console/config.json")).json();
    await fetchTechs();
  } catch (e) {
    fail(e);
    if (e.status === 401 || e.status === 403) return signout();
  }
  // The regions remembered, less any no technician is based in any more.
  FF.region = localStorage.getItem("fieldfix.region") || "";
  regionOptions();
  FF.region = FF.region.split(",").filter((r) => FF.regions.includes(r)).join(",");
  regionOptions();
  listen();
  await load("");
}

function wire() {
  $("#signin").onsubmit = (ev) => {
    ev.preventDefault();
    FF.token = $("#token").value.trim();
    sessionStorage.setItem("fieldfix.token", FF.token);
    start();
  };
  $("#signout").onclick = signout;
  $("#day").onchange = () => $("#day").value && load($("#day").value);
  $("#day-prev").onclick = () => load(addDays(FF.day, -1));
  $("#day-next").onclick = () => load(addDays(FF.day, 1));
  $("#day-today").onclick = () => load("");
  const refilter = () => { renderLists(); Gantt.updateRows(null); };
  $("#f-tier").onchange = () => { FF.filters.tier = $("#f-tier").value; refilter(); };
  $("#f-trade").onchange = () => { FF.filters.trade = $("#f-trade").value; refilter(); Capacity.render(); };
  let st = null;
  $("#search").oninput = () => { clearTimeout(st); st = setTimeout(() => { FF.filters.q = $("#search").value.trim().toLowerCase(); refilter(); }, 150); };
  $("#panel-close").onclick = Panel.close;
  $("#optimize").onclick = async () => {
    const a = await ask({ title: "Re-optimise the plan now?", lines: ["Visits not pinned, accepted or under way may move to other technicians or times."], ok: "Re-optimise", reason: false });
    if (!a.ok) return;
    try {
      // One run per region chosen (the optimiser takes one), or one for all.
      let moved = 0, assigned = 0, avoided = 0;
      for (const r of FF.region ? FF.region.split(",") : [""]) {
        const res = await api("POST", "/v1/dispatch/optimize", r ? { region: r } : {});
        moved += res.moved.length; assigned += res.newly_assigned; avoided += res.breaches_avoided;
      }
      say(`Re-optimised: ${moved} visit(s) moved, ${assigned} assigned, ${avoided} breach(es) avoided`);
      await reload();
    } catch (e) { fail(e); }
  };
  Gantt.wire();
  Capacity.wire(load);
  setInterval(Gantt.tick, 30000);
  // Pings come live ("technician" events); this read catches what a lost stream missed.
  setInterval(async () => {
    if (!FF.token || $("#app").hidden || document.hidden) return;
    try { await fetchTechs(); MapView.updatePositions(); } catch (e) { /* the next round */ }
  }, 120000);
}

wire();
if (FF.token) start();
