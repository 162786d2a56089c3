// The Gantt: one row per technician over the day's hours in the dispatchers' zone, with shifts,
// time off, the drive before each visit, visits coloured by state, SLA due ticks and a now line.
// A visit is moved by dragging it to another row or time, or from the keyboard (M, arrows, Enter).
"use strict";

const Gantt = (() => {
  let t0 = 0, t1 = 1, rowsBox = null, nowLine = null, kmove = null, drag = null;
  const SNAP = 15 * 60e3;

  const pct = (t) => Math.max(0, Math.min(100, ((t - t0) / (t1 - t0)) * 100));
  function place(e, from, to, minPct) {
    e.style.left = pct(from) + "%";
    e.style.width = Math.max(minPct || 0, pct(to) - pct(from)) + "%";
  }

  // range is the hours drawn: 07–20 at least, widened to the shifts and visits of the day.
  function range() {
    const d0 = dayStart(FF.day), d1 = dayStart(addDays(FF.day, 1));
    let lo = d0 + 7 * 3600e3, hi = d0 + 20 * 3600e3;
    for (const r of FF.routes.values()) {
      for (const w of r.shifts) { lo = Math.min(lo, ms(w.start)); hi = Math.max(hi, ms(w.end)); }
      for (const id of r.jobs) {
        const j = FF.jobs.get(id);
        lo = Math.min(lo, ms(j.planned_start) - (j.travel_minutes || 0) * 60e3);
        hi = Math.max(hi, ms(j.planned_end || j.planned_start));
      }
    }
    lo = Math.max(d0, Math.floor((lo - d0) / 3600e3) * 3600e3 + d0);
    hi = Math.min(d1, Math.ceil((hi - d0) / 3600e3) * 3600e3 + d0);
    return [lo, hi];
  }

  function axis() {
    const head = el("div", "g-row g-axis");
    head.append(el("div", "g-name", FF.zone));
    const lane = el("div", "g-lane");
    for (let t = t0; t < t1; t += 3600e3) {
      const tick = el("span", "tick", fmt(t, { hour: "2-digit", hourCycle: "h23" }));
      tick.style.left = pct(t) + "%";
      lane.append(tick);
    }
    head.append(lane);
    return head;
  }

  function visitEl(j) {
    const v = el("div", "visit " + j.status + (j.pinned ? " pinned" : "") + (j.tier === "paid" ? " paid" : ""));
    v.dataset.job = j.id;
    v.tabIndex = 0;
    v.setAttribute("role", "gridcell");
    const from = j.status === "completed" || j.status === "incomplete" ? (ms(j.on_site_at) || ms(j.planned_start)) : ms(j.planned_start);
    const to = j.finished_at ? ms(j.finished_at) : ms(j.planned_end || j.planned_start);
    place(v, from, Math.max(to, from + 5 * 60e3), 0.4);
    v.textContent = j.reference;
    v.title = `${j.reference} · ${j.status.replace("_", " ")} · ${hm(j.planned_start)}–${hm(j.planned_end)} · ${j.appliance || ""} · ${j.customer_name || ""} · due ${dayHm(j.sla_due_at)}` + (j.pinned ? " · pinned" : "");
    if (MOVABLE.includes(j.status)) v.classList.add("movable");
    if (FF.filters.q && matches(j)) v.classList.add("hit");
    if (FF.selected && FF.selected.kind === "job" && FF.selected.id === j.id) v.classList.add("sel");
    return v;
  }

  // rowEl draws one technician's day; its _sig says what it was drawn from.
  function rowEl(r) {
    const t = r.technician;
    const row = el("div", "g-row");
    row.dataset.tech = t.id;
    const name = el("div", "g-name");
    const btn = el("button", "tech", t.name);
    btn.type = "button";
    btn.onclick = () => Panel.showTech(t.id);
    const jobs = r.jobs.map((id) => FF.jobs.get(id));
    const booked = jobs.reduce((s, j) => s + (ms(j.planned_end) - ms(j.planned_start) || 0) + (j.travel_minutes || 0) * 60e3, 0);
    // Shift time less the time off inside it: a technician off all day is neither idle nor available.
    const over = (a0, a1, b0, b1) => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
    const shift = r.shifts.reduce((s, w) => s + Math.max(0, ms(w.end) - ms(w.start) -
      r.time_off.reduce((o, x) => o + over(ms(w.start), ms(w.end), ms(x.from), ms(x.until)), 0)), 0);
    const load = el("span", "load", `${jobs.length} · ${(booked / 3600e3).toFixed(1)}/${(shift / 3600e3).toFixed(0)} h`);
    if (shift > 0 && jobs.length === 0) { row.classList.add("idle"); load.textContent += " idle"; }
    if (booked > shift || jobs.some((j) => !r.shifts.some((w) => ms(j.planned_start) >= ms(w.start) && ms(j.planned_end) <= ms(w.end)))) {
      row.classList.add("over"); load.textContent += " over";
    }
    name.append(btn, load);
    const lane = el("div", "g-lane");
    for (const w of r.shifts) { const s = el("div", "shift"); place(s, ms(w.start), ms(w.end)); lane.append(s); }
    for (const o of r.time_off) {
      const s = el("div", "off"); place(s, ms(o.from), ms(o.until)); s.title = "time off: " + (o.reason || ""); lane.append(s);
    }
    for (const j of jobs) {
      if (j.pickup && j.planned_start) {
        // A stop at a warehouse for the visit's parts: the drive there, the stop, the drive on.
        const p = j.pickup, on = Math.max(0, ms(j.planned_start) - ms(p.end)), there = Math.max(0, j.travel_minutes * 60e3 - on);
        const t1 = el("div", "travel"); place(t1, ms(p.start) - there, ms(p.start)); t1.title = `drive to ${p.name}`;
        const pk = el("div", "pickup"); place(pk, ms(p.start), ms(p.end), 0.4);
        pk.title = `pick up the parts of ${j.reference} at ${p.name}, ${hm(p.start)}–${hm(p.end)}`;
        pk.dataset.pickup = j.id;
        const t2 = el("div", "travel"); place(t2, ms(p.end), ms(j.planned_start)); t2.title = `drive from ${p.name} to ${j.reference}`;
        lane.append(t1, pk, t2);
      } else if (j.travel_minutes > 0 && j.planned_start) {
        const tr = el("div", "travel");
        place(tr, ms(j.planned_start) - j.travel_minutes * 60e3, ms(j.planned_start));
        tr.title = `drive ${j.travel_minutes} min to ${j.reference}`;
        lane.append(tr);
      }
      const due = ms(j.sla_due_at);
      if (due > t0 && due < t1 && LIVE.includes(j.status)) {
        const d = el("div", "due" + (ms(j.planned_start) > due ? " missed" : ""));
        d.style.left = pct(due) + "%";
        d.title = `${j.reference} SLA due ${hm(j.sla_due_at)}`;
        lane.append(d);
      }
      lane.append(visitEl(j));
    }
    row.append(name, lane);
    if (FF.selected && FF.selected.kind === "tech" && FF.selected.id === t.id) row.classList.add("sel");
    row._sig = rowSig(r);
    return row;
  }
  function rowSig(r) {
    return JSON.stringify([r.technician.name, r.shifts, r.time_off.map((o) => [o.id, o.from, o.until]), FF.filters.q, FF.selected,
      r.jobs.map((id) => sigOf(FF.jobs.get(id)) + FF.jobs.get(id).travel_minutes + JSON.stringify(FF.jobs.get(id).pickup || ""))]);
  }
  function visibleRoutes() {
    const q = FF.filters.q;
    return [...FF.routes.values()].filter((r) => !q || r.technician.name.toLowerCase().includes(q) || r.jobs.some((id) => matches(FF.jobs.get(id))));
  }

  // render draws the whole Gantt (a new day or region); later changes go through updateRows.
  function render() {
    [t0, t1] = range();
    FF.range = [t0, t1];
    const box = $("#gantt");
    box.replaceChildren(axis());
    rowsBox = el("div", "g-rows");
    for (const r of visibleRoutes()) rowsBox.append(rowEl(r));
    box.append(rowsBox);
    nowLine = el("div", "nowline");
    box.append(nowLine);
    tick();
    summary();
  }

  // updateRows redraws only the rows of the technicians given (and follows the filter).
  function updateRows(techIds) {
    if (!rowsBox) return;
    const [a, b] = range();
    if (a < t0 || b > t1) return render(); // a visit outside the hours drawn: widen them
    const want = new Set(visibleRoutes().map((r) => r.technician.id));
    for (const row of [...rowsBox.children]) {
      const id = Number(row.dataset.tech);
      if (!want.has(id)) row.remove();
    }
    const have = new Map([...rowsBox.children].map((r) => [Number(r.dataset.tech), r]));
    let prev = null;
    for (const r of FF.routes.values()) {
      if (!want.has(r.technician.id)) continue;
      let row = have.get(r.technician.id);
      if (!row || ((techIds === null || techIds.includes(r.technician.id)) && row._sig !== rowSig(r))) {
        const fresh = rowEl(r);
        if (row) row.replaceWith(fresh);
        row = fresh;
      }
      const next = prev ? prev.nextSibling : rowsBox.firstChild;
      if (next !== row) rowsBox.insertBefore(row, next);
      prev = row;
    }
    summary();
  }

  function summary() {
    let n = 0, live = 0;
    for (const r of FF.routes.values()) for (const id of r.jobs) { n++; if (["en_route", "on_site"].includes(FF.jobs.get(id).status)) live++; }
    $("#day-summary").textContent = `${FF.routes.size} technicians · ${n} visits · ${live} under way`;
    $("#day-title").textContent = fmt(dayStart(FF.day) + 12 * 3600e3, { weekday: "long", day: "numeric", month: "long" });
  }

  function tick() {
    if (!nowLine) return;
    const n = nowMs();
    nowLine.hidden = n < t0 || n > t1;
    nowLine.style.left = `calc(var(--name-w) + (100% - var(--name-w)) * ${pct(n) / 100})`;
    $("#clock").textContent = fmt(n, { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }) + " " + FF.zone;
  }

  // scrollToNow brings the rows with work under way into view.
  function scrollToNow() {
    const v = document.querySelector("#gantt .visit.en_route, #gantt .visit.on_site");
    if (v) v.closest(".g-row").scrollIntoView({ block: "nearest" });
  }

  function flash(jobId) {
    if (!jobId) return;
    const v = document.querySelector(`#gantt .visit[data-job="${jobId}"]`);
    if (!v) return;
    v.classList.add("clash");
    setTimeout(() => v.classList.remove("clash"), 4000);
  }

  // ---- Moving a visit: the pointer target (row, time) or the keyboard's, then proposeAssign ----
  function timeAt(lane, x) {
    const r = lane.getBoundingClientRect();
    const t = t0 + ((x - r.left) / r.width) * (t1 - t0);
    return Math.round(t / SNAP) * SNAP;
  }
  function ghost(j, row, t) {
    let g = $("#gantt .ghost");
    if (!g) { g = el("div", "visit ghost"); }
    const lane = row.querySelector(".g-lane");
    if (g.parentNode !== lane) lane.append(g);
    const len = ms(j.planned_end) - ms(j.planned_start) || 3600e3;
    place(g, t, t + len, 0.4);
    g.textContent = `${j.reference} → ${techName(Number(row.dataset.tech))} ${fmt(t, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" })}`;
    return g;
  }
  function clearGhost() { const g = $("#gantt .ghost"); if (g) g.remove(); }

  function onPointerDown(ev) {
    const v = ev.target.closest(".visit.movable");
    if (!v || ev.button !== 0) return;
    beginDrag(ev, Number(v.dataset.job), false);
  }
  // beginDrag follows the pointer over the rows until it is released: a visit of the Gantt, or
  // one of the unassigned list (fromList: a plain click there opens it as before).
  // It follows the pointer on the window, not on the element it started from: a live update
  // may redraw the list or the row under the pointer mid-drag, and a detached element gets no
  // more events (the drag was lost, and the mouse selected the page's text).
  function beginDrag(ev, id, fromList) {
    drag = { id, x: ev.clientX, y: ev.clientY, moved: false, target: null, fromList };
    document.body.classList.add("dragging"); // no text selection while dragging
    const end = (e) => {
      if (e.pointerId !== ev.pointerId) return;
      window.removeEventListener("pointermove", onPointerMove);
      window.removeEventListener("pointerup", end);
      window.removeEventListener("pointercancel", end);
      document.body.classList.remove("dragging");
      if (e.type === "pointerup") onPointerUp(e);
      else { drag = null; clearGhost(); }
    };
    window.addEventListener("pointermove", onPointerMove);
    window.addEventListener("pointerup", end);
    window.addEventListener("pointercancel", end);
  }
  function dragFromList(ev, id) {
    if (ev.button !== 0 || ev.pointerType === "touch") return; // a finger scrolls the list
    beginDrag(ev, id, true);
  }
  function onPointerMove(ev) {
    if (!drag) return;
    if (!drag.moved && Math.hypot(ev.clientX - drag.x, ev.clientY - drag.y) < 5) return;
    drag.moved = true;
    const under = document.elementsFromPoint(ev.clientX, ev.clientY).find((e) => e.classList && e.classList.contains("g-row") && e.dataset.tech);
    if (!under) return;
    const j = FF.jobs.get(drag.id);
    const lane = under.querySelector(".g-lane");
    const len = ms(j.planned_end) - ms(j.planned_start) || 3600e3;
    const rect = lane.getBoundingClientRect();
    const grab = drag.fromList ? 0 : drag.x - rect.left - (pct(ms(j.planned_start)) / 100) * rect.width; // keep the grab point
    const t = timeAt(lane, ev.clientX - (isFinite(grab) ? grab : 0));
    drag.target = { tech: Number(under.dataset.tech), t: Math.max(t, t0), len };
    ghost(j, under, drag.target.t);
  }
  async function onPointerUp(ev) {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (!d.moved) { if (!d.fromList) Panel.showJob(d.id); return; }
    const target = d.target;
    if (!target) { clearGhost(); return; }
    await proposeAssign(d.id, target.tech, target.t);
    clearGhost();
  }

  function onKey(ev) {
    const v = ev.target.closest && ev.target.closest(".visit");
    if (kmove) {
      const rows = [...rowsBox.children];
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") kmove.row = Math.max(0, Math.min(rows.length - 1, kmove.row + (ev.key === "ArrowDown" ? 1 : -1)));
      else if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") kmove.t += ev.key === "ArrowRight" ? SNAP : -SNAP;
      else if (ev.key === "Escape") { kmove = null; clearGhost(); say("Move cancelled"); ev.preventDefault(); return; }
      else if (ev.key === "Enter") {
        const m = kmove;
        kmove = null;
        ev.preventDefault();
        proposeAssign(m.id, Number(rows[m.row].dataset.tech), m.t).finally(() => {
          clearGhost();
          const back = document.querySelector(`#gantt .visit[data-job="${m.id}"]`);
          if (back) back.focus();
        });
        return;
      } else return;
      ev.preventDefault();
      ghost(FF.jobs.get(kmove.id), rows[kmove.row], kmove.t).scrollIntoView({ block: "nearest" });
      return;
    }
    if (!v) return;
    const id = Number(v.dataset.job);
    if ((ev.key === "m" || ev.key === "M" || ev.key === " ") && v.classList.contains("movable")) {
      ev.preventDefault();
      const j = FF.jobs.get(id);
      startMove(id, [...rowsBox.children].indexOf(v.closest(".g-row")), ms(j.planned_start));
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      Panel.showJob(id);
    }
  }

  // startMove begins a keyboard move of a visit from a row at a time; a visit of the unassigned
  // list starts on the first row at the next quarter hour of the day shown.
  function startMove(id, row, t) {
    const j = FF.jobs.get(id);
    if (!rowsBox || !rowsBox.children.length) return;
    if (!isFinite(t)) t = Math.ceil(Math.max(nowMs(), t0) / SNAP) * SNAP;
    kmove = { id, row: Math.max(0, row), t };
    ghost(j, rowsBox.children[kmove.row], kmove.t).scrollIntoView({ block: "nearest" });
    say(`Moving ${j.reference}: ↑↓ technician, ←→ 15 min, Enter to assign, Esc to cancel`);
  }

  function wire() {
    const box = $("#gantt");
    box.addEventListener("pointerdown", onPointerDown);
    // Keys while moving go to the move wherever the focus is (a move may start in the list).
    document.addEventListener("keydown", (ev) => { if (kmove || box.contains(ev.target)) onKey(ev); });
  }

  return { render, updateRows, tick, flash, wire, scrollToNow, dragFromList, startMove, moving: () => !!kmove };
})();
