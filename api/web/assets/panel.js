// The side panel: a visit whole (customer, place, appliance, problem, tier, SLA, status history,
// notes, parts, arrival and finish, messages sent) with only the actions its state allows; or a technician's day
// with their time off (withdrawn with one click) and a way to mark them unavailable.
"use strict";

const Panel = (() => {
  let seq = 0;
  const body = () => $("#panel-body");

  function open() {
    const was = $("#panel").hidden;
    $("#panel").hidden = false;
    document.body.classList.add("panel-open");
    MapView.resize();
    // On a phone the panel sits under the map, in the page: bring it into view.
    if (was && matchMedia("(max-width: 760px)").matches) $("#panel").scrollIntoView({ block: "start" });
  }
  function close() {
    $("#panel").hidden = true;
    document.body.classList.remove("panel-open");
    FF.selected = null;
    for (const e of document.querySelectorAll("#gantt .sel")) e.classList.remove("sel");
    MapView.resize();
  }
  function dl(pairs) {
    const d = el("dl", "facts");
    for (const [k, v] of pairs) {
      if (v === undefined || v === null || v === "") continue;
      d.append(el("dt", "", k), el("dd", "", v));
    }
    return d;
  }
  function button(text, cls, fn) {
    const b = el("button", cls || "", text);
    b.type = "button";
    b.onclick = fn;
    return b;
  }
  function mark(kind, id) {
    FF.selected = { kind, id };
    for (const e of document.querySelectorAll("#gantt .sel")) e.classList.remove("sel");
    const target = kind === "job" ? `#gantt .visit[data-job="${id}"]` : `#gantt .g-row[data-tech="${id}"]`;
    const e = document.querySelector(target);
    if (e) e.classList.add("sel");
  }
  // zoneTime is HH:MM on the board's day in the dispatchers' zone, as epoch ms.
  function zoneTime(hhmm) {
    const [h, m] = hhmm.split(":").map(Number);
    return dayStart(FF.day) + (h * 60 + m) * 60e3;
  }

  async function showJob(id, quiet) {
    const my = ++seq;
    mark("job", id);
    let d, history, sent;
    const known = FF.jobs.get(id);
    const messages = (bid) => api("GET", `/v1/bookings/${bid}/messages?limit=50`);
    try {
      [d, history, sent] = await Promise.all([api("GET", `/v1/jobs/${id}`), api("GET", `/v1/audit?entity=job&entity_id=${id}&limit=50`),
        known && known.booking_id ? messages(known.booking_id) : null]);
      if (!sent) sent = await messages(d.booking_id || d.booking.id);
    } catch (e) { if (!quiet) fail(e); return; }
    if (my !== seq) return;
    const j = record(d);
    const b = d.booking || {};
    const root = el("div", "job-panel");
    root.dataset.job = id;
    root.append(el("h2", "", `${j.reference} · ${j.status.replace("_", " ")}${j.pinned ? " · pinned" : ""}`));
    root.append(dl([
      ["Customer", j.customer_name || ""], ["Address", b.address], ["Appliance", `${b.appliance} (${b.service_type})`], ["Problem", b.problem],
      ["Tier", b.tier], ["SLA due", dayHm(b.sla_due_at) + (j.planned_start ? ` · slack ${duration(slackMin(j))}` : "")], ["Booking", `${b.status}`],
      ["Technician", j.technician_id ? techName(j.technician_id) : "none"],
      ["Planned", j.planned_start ? `${dayHm(j.planned_start)}–${hm(j.planned_end)}` : "not planned"],
      ["Offer expires", d.offer_expires_at ? dayHm(d.offer_expires_at) : ""], ["Accepted", d.accepted_at ? dayHm(d.accepted_at) : ""],
      ["Set off", d.en_route_at ? dayHm(d.en_route_at) : ""], ["Arrived", d.on_site_at ? dayHm(d.on_site_at) : ""],
      ["Finished", d.finished_at ? dayHm(d.finished_at) + (d.outcome ? " · " + d.outcome : "") : ""],
      ["Notes", d.notes || ""], ["Parts", (d.parts_used || []).map((p) => `${p.quantity}× ${p.name || p.sku}`).join(", ")],
      ["Why unassigned", j.technician_id ? "" : whyUnassigned(j, history.items)],
    ]));
    root.append(actions(j));
    const h = el("ol", "history");
    for (const ev of [...history.items].reverse()) {
      h.append(el("li", "", `${dayHm(ev.at)} · ${ev.action}${ev.to_status ? " → " + ev.to_status : ""} · ${ev.actor_role}${ev.reason ? " · " + ev.reason : ""}`));
    }
    root.append(el("h3", "", "History"), h);
    const m = el("ol", "messages");
    for (const x of [...sent.items].reverse()) { // oldest first, as the history
      const p = x.pushes;
      const how = p.delivered ? "pushed" : p.pending ? "push pending" : p.failed ? "push failed" : "in-app inbox";
      const li = el("li", "", `${dayHm(x.created_at)} · to ${x.recipient_kind} ${x.recipient_subject} · ${x.title} (${how})`);
      li.title = x.body;
      li.dataset.kind = x.kind;
      m.append(li);
    }
    if (!sent.items.length) m.append(el("li", "muted", "none"));
    root.append(el("h3", "", "Messages sent"), m);
    body().replaceChildren(root);
    open();
  }

  // whyUnassigned is the board's reason, or (for a visit changed live) the last unassignment's.
  function whyUnassigned(j, events) {
    if (j.reason_code) return [j.reason_code, j.reason_message].filter(Boolean).join(": ");
    const ev = events.find((e) => e.action === "unassigned");
    if (!ev) return "not_planned";
    const code = (ev.data && ev.data.reason_code) || (["dispatcher", "admin"].includes(ev.actor_role) ? "unassigned_by_dispatcher" : "planning_failed");
    return code + (ev.reason ? ": " + ev.reason : "");
  }

  // actions are only those the visit's state allows.
  function actions(j) {
    const box = el("div", "actions");
    if (!MOVABLE.includes(j.status)) {
      box.append(el("p", "muted", ["en_route", "on_site"].includes(j.status) ? "Under way: the technician reports its progress; no dispatcher action." : "Closed: nothing to change."));
      return box;
    }
    const form = el("div", "assign-form");
    const sel = el("select", "");
    sel.id = "p-tech";
    const need = j.required_skills || [];
    const techs = [...FF.techs.values()].filter((t) => t.active)
      .sort((a, b) => (need.every((s) => b.skills.includes(s)) - need.every((s) => a.skills.includes(s))) || a.name.localeCompare(b.name));
    for (const t of techs) {
      const o = el("option", "", t.name + (need.every((s) => t.skills.includes(s)) ? "" : " (lacks " + need.filter((s) => !t.skills.includes(s)).join(", ") + ")"));
      o.value = t.id;
      if (t.id === j.technician_id) o.selected = true;
      sel.append(o);
    }
    const start = el("input", "");
    start.type = "time";
    start.id = "p-start";
    start.step = 900;
    const lt = el("label", "", "Technician "); lt.append(sel);
    const ls = el("label", "", "Start (optional) "); ls.append(start);
    form.append(lt, ls, button(j.technician_id ? "Re-assign…" : "Assign…", "primary", () =>
      proposeAssign(j.id, Number(sel.value), start.value ? zoneTime(start.value) : null)));
    box.append(form);
    const row = el("div", "buttons");
    if (j.technician_id) {
      row.append(button(j.pinned ? "Unpin" : "Pin", "", () => pin(j, !j.pinned)));
      row.append(button("Unassign…", "danger", () => unassign(j)));
    }
    box.append(row);
    return box;
  }

  async function pin(j, on) {
    try {
      const res = await api("POST", `/v1/jobs/${j.id}/${on ? "pin" : "unpin"}`, {});
      say(`${j.reference} ${on ? "pinned" : "unpinned"}`);
      applyJob(res.job);
    } catch (e) { fail(e); }
  }

  async function unassign(j) {
    const a = await ask({ title: `Take ${j.reference} off ${techName(j.technician_id)}?`, lines: ["The visit goes back to the unassigned list until someone plans it; the technician is told."], ok: "Unassign" });
    if (!a.ok) return;
    try {
      const res = await api("POST", `/v1/jobs/${j.id}/unassign`, { reason: a.reason || "unassigned in the console" });
      say(`${j.reference} unassigned`);
      applyJob(res.job);
    } catch (e) { fail(e); }
  }

  async function showTech(id) {
    const my = ++seq;
    mark("tech", id);
    let offs;
    try { offs = await api("GET", `/v1/technicians/${id}/time-off`); } catch (e) { fail(e); return; }
    if (my !== seq) return;
    const t = FF.techs.get(id) || FF.routes.get(id).technician;
    const r = FF.routes.get(id);
    const root = el("div", "tech-panel");
    root.dataset.tech = id;
    root.append(el("h2", "", t.name));
    root.append(dl([["Skills", t.skills.join(", ")], ["Zone", t.time_zone],
      ["Shifts", r ? r.shifts.map((w) => `${hm(w.start)}–${hm(w.end)}`).join(", ") || "none this day" : ""],
      ["Last seen", t.last_seen_at ? dayHm(t.last_seen_at) : "no ping"]]));
    if (r && r.jobs.length) {
      const ol = el("ol", "visits");
      for (const jid of r.jobs) {
        const j = FF.jobs.get(jid);
        const li = el("li", "", `${hm(j.planned_start)} ${j.reference} · ${j.status.replace("_", " ")} · ${j.customer_name || j.appliance}`);
        li.onclick = () => showJob(jid);
        ol.append(li);
      }
      root.append(el("h3", "", "Visits"), ol);
    }
    root.append(el("h3", "", "Time off"));
    const list = el("ul", "time-off");
    for (const o of offs.items) {
      const li = el("li", "", `${dayHm(o.from)} → ${dayHm(o.until)}${o.reason ? " · " + o.reason : ""} `);
      li.dataset.timeOff = o.id;
      li.append(button("Withdraw", "undo", () => withdraw(id, o)));
      list.append(li);
    }
    if (!offs.items.length) list.append(el("li", "muted", "none"));
    root.append(list);
    const form = el("div", "off-form");
    const from = el("input", ""); from.type = "time"; from.id = "o-from";
    const until = el("input", ""); until.type = "time"; until.id = "o-until";
    const why = el("input", ""); why.type = "text"; why.id = "o-reason"; why.placeholder = "reason";
    const lf = el("label", "", "From "); lf.append(from);
    const lu = el("label", "", "Until "); lu.append(until);
    form.append(lf, lu, why, button("Mark unavailable…", "danger", () => unavailable(t, from.value, until.value, why.value)));
    root.append(el("p", "muted", "Empty times: from now for 24 h."), form);
    const link = el("div", "signin-link");
    link.append(button("Make a sign-in link", "", () => signinLink(t, link)));
    root.append(el("h3", "", "Phone"), el("p", "muted", "A link that signs their phone in to the technician app, once, within 24 h; send it by text or message. A new link cancels the last."), link);
    body().replaceChildren(root);
    open();
  }

  async function signinLink(t, box) {
    let res;
    try { res = await api("POST", `/v1/technicians/${t.id}/signin-links`); } catch (e) { fail(e); return; }
    const full = res.url.startsWith("/") ? location.origin + res.url : res.url; // no FIELDFIX_PUBLIC_URL: this server's
    const url = el("input", "");
    url.type = "text"; url.readOnly = true; url.id = "signin-url"; url.value = full;
    const copy = button("Copy", "", async () => {
      url.select();
      try { await navigator.clipboard.writeText(full); say(`Sign-in link for ${t.name} copied`); } catch { say("Select the link and copy it", "warn"); }
    });
    box.replaceChildren(url, copy, el("p", "muted", `Good once, until ${dayHm(res.expires_at)}.`));
  }

  async function unavailable(t, from, until, reason) {
    const r = FF.routes.get(t.id);
    const n = r ? r.jobs.filter((id) => MOVABLE.includes(FF.jobs.get(id).status)).length : 0;
    const a = await ask({ title: `Mark ${t.name} unavailable?`, lines: [`${from || "now"} → ${until || "24 h later"}. Their visits in that time (${n} today not yet under way) are planned again, with other technicians where possible.`], ok: "Mark unavailable" });
    if (!a.ok) return;
    const body = { reason: a.reason || reason || "marked in the console" };
    if (from) body.from = new Date(zoneTime(from)).toISOString();
    if (until) body.until = new Date(zoneTime(until)).toISOString();
    try {
      const res = await api("POST", `/v1/technicians/${t.id}/unavailable`, body);
      say(`${t.name} unavailable; ${res.redispatched.length} visit(s) planned again`, "warn", { label: "Undo", run: () => withdraw(t.id, res.time_off) });
      await FF.reload();
      showTech(t.id);
    } catch (e) { fail(e); }
  }

  async function withdraw(techId, o) {
    try {
      const res = await api("DELETE", `/v1/technicians/${techId}/time-off/${o.id}`);
      say(`Time off withdrawn; ${res.replanned.length} visit(s) planned again`);
      await FF.reload();
      if (FF.selected && FF.selected.kind === "tech" && FF.selected.id === techId) showTech(techId);
    } catch (e) { fail(e); }
  }

  return { showJob, showTech, close };
})();
