// The customer's tracking page: /t/{token}. It reads the visit, refreshes it by itself (every
// 5 s while the technician is on the way, else every 30 s), and reschedules or cancels through
// the link's own endpoints until the cut-off.
"use strict";
(function () {
  const token = location.pathname.split("/")[2] || "";
  const base = "/t/" + encodeURIComponent(token);
  const $ = (id) => document.getElementById(id);
  const words = {
    planning: "We are finding a technician", planned: "Your visit is planned", confirmed: "Your visit is confirmed",
    on_the_way: "On the way", arrived: "Your technician has arrived", completed: "Visit completed",
    incomplete: "Another visit is needed", cancelled: "Visit cancelled",
  };
  let zone = "UTC", timer = null, visit = null;

  const fmt = (iso, opts) => new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, opts)).format(new Date(iso));
  const day = (iso) => fmt(iso, { weekday: "short", day: "numeric", month: "short" });
  const clock = (iso) => fmt(iso, { hour: "2-digit", minute: "2-digit", hour12: false });
  const sentence = (t) => t ? t.charAt(0).toUpperCase() + t.slice(1) + (t.endsWith(".") ? "" : ".") : "";
  const windowText = (w) => `${day(w.start)}, ${clock(w.start)}–${clock(w.end)}`;

  async function call(method, path, body) {
    const res = await fetch(base + path, {
      method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined, cache: "no-store",
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.detail || "Something went wrong (" + res.status + ")");
    return data;
  }

  function drawMap(home, tech) {
    const svg = $("map");
    svg.replaceChildren();
    if (!tech) { svg.hidden = true; return; }
    svg.hidden = false;
    const pad = 24, w = 300, h = 160;
    // The home at the centre, at a fixed scale (about 3 km across) unless the technician is
    // farther: the dot comes closer as they do.
    const reach = Math.max(Math.abs(tech.lat - home.lat), Math.abs(tech.lng - home.lng) * Math.cos(home.lat * Math.PI / 180), 0.015);
    const scale = (h / 2 - pad) / reach;
    const pt = (p) => [w / 2 + (p.lng - home.lng) * Math.cos(home.lat * Math.PI / 180) * scale, h / 2 - (p.lat - home.lat) * scale];
    const [hx, hy] = pt(home), [tx, ty] = pt(tech);
    const ns = "http://www.w3.org/2000/svg";
    const el = (name, attrs, text) => { const e = document.createElementNS(ns, name); for (const k in attrs) e.setAttribute(k, attrs[k]); if (text) e.textContent = text; svg.appendChild(e); return e; };
    el("line", { x1: tx, y1: ty, x2: hx, y2: hy, class: "road" });
    el("circle", { cx: hx, cy: hy, r: 8, class: "home" });
    el("text", { x: hx + 11, y: hy + 4 }, "you");
    el("circle", { cx: tx, cy: ty, r: 8, class: "tech", id: "tech-dot" });
    el("text", { x: tx + 11, y: ty + 4 }, visit.technician_first_name || "technician");
  }

  function render(v) {
    visit = v;
    zone = v.time_zone || "UTC";
    $("card").hidden = false;
    const what = `${v.appliance.replace("_", " ")} ${v.service_type.replace("_", " ")}`;
    $("what").textContent = `${what.charAt(0).toUpperCase()}${what.slice(1)} · ${v.address}`;
    $("state").textContent = words[v.visit] || v.visit;
    $("window").textContent = v.window ? windowText(v.window) : "";
    $("tech").textContent = v.technician_first_name ? `${v.technician_first_name} is your technician.` : "";
    $("enroute").hidden = v.visit !== "on_the_way";
    $("eta").textContent = v.eta ? `Expected at ${clock(v.eta)}` : "";
    if (v.visit === "on_the_way") drawMap(v.location, v.technician_position);
    $("reschedule").disabled = $("cancel").disabled = !v.can_change;
    $("actions").hidden = ["cancelled", "completed"].includes(v.visit);
    $("cutoff").textContent = v.can_change
      ? (v.changes_close_at ? `You can change or cancel until ${day(v.changes_close_at)}, ${clock(v.changes_close_at)}.` : "")
      : sentence(v.cannot_change_reason || "");
    clearTimeout(timer);
    timer = setTimeout(refresh, v.visit === "on_the_way" ? 5000 : 30000);
  }

  // The visit's quotes: the one waiting is shown option by option with its text, to approve or
  // decline; answered ones say what was decided.
  async function loadQuotes() {
    const { items } = await call("GET", "/quotes");
    const list = $("quote-list");
    list.replaceChildren();
    const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text) e.textContent = text; return e; };
    for (const q of items) {
      const box = el("div", "quote");
      if (q.status !== "sent") {
        box.appendChild(el("p", "note", q.status === "approved" ? `You approved ${q.approved_option === "standard" ? "the quote" : q.approved_option}.` : "You declined this quote."));
        list.appendChild(box);
        continue;
      }
      for (const o of q.options) {
        box.appendChild(el("pre", "quote-text", o.text));
        const b = el("button", "", q.options.length > 1 ? `Approve ${o.key}` : "Approve");
        b.type = "button";
        b.addEventListener("click", () => answer(q.id, "approve", { option: o.key }));
        box.appendChild(b);
      }
      const d = el("button", "secondary", "Decline");
      d.type = "button";
      d.addEventListener("click", () => answer(q.id, "decline", { reason: "declined on the tracking page" }));
      box.appendChild(d);
      list.appendChild(box);
    }
    $("quotes").hidden = !items.length;
  }

  async function answer(id, verb, body) {
    try { await call("POST", `/quotes/${id}/${verb}`, body); $("message").textContent = ""; await loadQuotes(); }
    catch (e) { $("message").textContent = e.message; }
  }

  async function refresh() {
    try {
      render(await call("GET", "/visit"));
      await loadQuotes();
      $("live").className = "on";
    } catch (e) {
      $("live").className = "";
      $("message").textContent = e.message;
      clearTimeout(timer);
      timer = setTimeout(refresh, 30000);
    }
  }

  $("reschedule").addEventListener("click", async () => {
    $("message").textContent = "";
    try {
      const { slots } = await call("GET", "/slots");
      const list = $("slots");
      list.replaceChildren();
      for (const s of slots) {
        const li = document.createElement("li"), b = document.createElement("button");
        b.type = "button";
        b.className = "slot";
        b.textContent = windowText(s);
        if (s.grade === "best") { const g = document.createElement("span"); g.className = "grade"; g.textContent = "recommended"; b.appendChild(g); }
        b.addEventListener("click", async () => {
          try {
            render(await call("POST", "/reschedule", { start: s.start, end: s.end }));
            $("picker").hidden = true;
            $("message").textContent = "";
          } catch (e) { $("message").textContent = e.message; }
        });
        li.appendChild(b);
        list.appendChild(li);
      }
      if (!slots.length) $("message").textContent = "No other time is free in the next three days; please call us.";
      $("picker").hidden = !slots.length;
    } catch (e) { $("message").textContent = e.message; }
  });
  $("picker-close").addEventListener("click", () => { $("picker").hidden = true; });
  $("cancel").addEventListener("click", async () => {
    if (!confirm("Cancel this visit?")) return;
    try { render(await call("POST", "/cancel", { reason: "cancelled by the customer on the tracking page" })); $("message").textContent = ""; }
    catch (e) { $("message").textContent = e.message; }
  });
  refresh();
})();
