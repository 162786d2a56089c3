// The capacity strip: seven days (from today, or from the day shown when it is outside them) of
// booked against available hours (GET /v1/capacity), in total and per trade; a day's heading
// opens that day. The trade filter picks the trade row shown under the total; "by trade" shows
// them all.
"use strict";

const Capacity = (() => {
  let days = null, seq = 0;

  function firstDay() {
    const today = dayOf(nowMs());
    return FF.day >= today && FF.day < addDays(today, 7) ? today : FF.day;
  }

  async function load() {
    const my = ++seq;
    const p = new URLSearchParams({ from: firstDay(), days: "7" });
    if (FF.region) p.set("region", FF.region);
    try {
      const res = await api("GET", "/v1/capacity?" + p);
      if (my !== seq) return;
      days = res.days;
      render();
    } catch (e) { fail(e); }
  }

  const h = (x) => (x >= 100 ? Math.round(x) : Math.round(x * 10) / 10);
  function cell(label, c) {
    const td = el("td", "cap");
    if (!c || (c.available_hours === 0 && c.booked_hours === 0)) { td.textContent = "—"; td.classList.add("none"); return td; }
    const use = c.available_hours > 0 ? c.booked_hours / c.available_hours : Infinity;
    td.textContent = `${h(c.booked_hours)}/${h(c.available_hours)}`;
    td.style.setProperty("--use", Math.min(100, Math.round(use * 100)) + "%");
    if (use > 1) td.classList.add("over");
    else if (use >= 0.85) td.classList.add("full");
    td.title = `${label}: ${c.booked_hours} h booked of ${c.available_hours} h available` + (isFinite(use) ? ` (${Math.round(use * 100)}%)` : "") +
      ` · ${c.visits} visit(s) · ${c.technicians} technician(s)`;
    return td;
  }

  function render() {
    const box = $("#capacity");
    if (!days) return;
    const table = el("table", "cap-table");
    const head = el("tr");
    head.append(el("th", "cap-what", "booked/avail. h"));
    const today = dayOf(nowMs());
    for (const d of days) {
      const th = el("th", (d.day === FF.day ? "sel" : "") + (d.day === today ? " today" : ""));
      const b = el("button", "linkish", fmt(dayStart(d.day) + 12 * 3600e3, { weekday: "short", day: "numeric" }));
      b.type = "button";
      b.onclick = () => load0(d.day);
      th.dataset.day = d.day;
      th.append(b);
      head.append(th);
    }
    const thead = el("thead");
    thead.append(head);
    const tbody = el("tbody");
    const row = (name, get, trade) => {
      const tr = el("tr", trade ? "trade" : "total");
      if (trade) tr.dataset.trade = trade;
      tr.append(el("th", "cap-what", name));
      for (const d of days) tr.append(cell(`${d.day} · ${name}`, get(d)));
      tbody.append(tr);
    };
    row("all trades", (d) => d);
    const names = [...new Set(days.flatMap((d) => d.trades.map((t) => t.trade)))].sort();
    const all = $("#cap-all").checked;
    for (const n of names) {
      if (!all && n !== FF.filters.trade) continue;
      row(n, (d) => d.trades.find((t) => t.trade === n), n);
    }
    table.append(thead, tbody);
    box.replaceChildren(table);
  }

  // load0 opens a day from the strip (start.js sets it to its load).
  let load0 = () => {};
  function wire(open) {
    load0 = open;
    $("#cap-all").checked = localStorage.getItem("fieldfix.capacity.trades") === "1";
    $("#cap-all").onchange = () => { localStorage.setItem("fieldfix.capacity.trades", $("#cap-all").checked ? "1" : "0"); render(); };
  }

  return { load, render, wire };
})();
