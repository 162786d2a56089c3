// The app's offline store (IndexedDB): the world as last pulled (jobs, notifications, time off,
// the cursor), the outbox of acts not yet sent (with the photos taken offline), and the conflicts
// the server answered, until the technician has read them.
const DB = "fieldfix-tech";
const STORES = ["kv", "jobs", "notifications", "time_off", "outbox", "conflicts"];

const opened = new Promise((resolve, reject) => {
  const rq = indexedDB.open(DB, 1);
  rq.onupgradeneeded = () => {
    const db = rq.result;
    db.createObjectStore("kv");
    db.createObjectStore("jobs", { keyPath: "id" });
    db.createObjectStore("notifications", { keyPath: "id" });
    db.createObjectStore("time_off", { keyPath: "id" });
    db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
    db.createObjectStore("conflicts", { keyPath: "key" });
  };
  rq.onsuccess = () => resolve(rq.result);
  rq.onerror = () => reject(rq.error);
});

function done(rq) {
  return new Promise((resolve, reject) => { rq.onsuccess = () => resolve(rq.result); rq.onerror = () => reject(rq.error); });
}

// run calls fn with the transaction's stores and resolves once the transaction has committed.
async function run(names, mode, fn) {
  const db = await opened;
  return new Promise((resolve, reject) => {
    const t = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, t.objectStore(n)]));
    let out;
    Promise.resolve(fn(stores)).then((v) => { out = v; }, (e) => { t.abort(); reject(e); });
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export const get = (key) => run(["kv"], "readonly", (s) => done(s.kv.get(key)));
export const set = (key, value) => run(["kv"], "readwrite", (s) => { s.kv.put(value, key); });
export const del = (key) => run(["kv"], "readwrite", (s) => { s.kv.delete(key); });
export const all = (name) => run([name], "readonly", (s) => done(s[name].getAll()));
export const putJob = (job) => run(["jobs"], "readwrite", (s) => { s.jobs.put(job); });
export const dropJob = (id) => run(["jobs"], "readwrite", (s) => { s.jobs.delete(id); });

// applyPull writes a pull's answer: a full one replaces the world, a later one changes it.
export function applyPull(w) {
  return run(["kv", "jobs", "notifications", "time_off"], "readwrite", (s) => {
    if (w.full) {
      s.jobs.clear();
      s.notifications.clear();
      s.time_off.clear();
    }
    for (const j of w.upserts.jobs) s.jobs.put(j);
    for (const n of w.upserts.notifications) s.notifications.put(n);
    for (const o of w.upserts.time_off) s.time_off.put(o);
    for (const r of w.removals) {
      if (r.entity === "job") s.jobs.delete(r.id);
      if (r.entity === "time_off") s.time_off.delete(r.id);
    }
    s.kv.put(w.cursor, "cursor");
    s.kv.put(w.technician, "technician");
  });
}

export const enqueue = (item) => run(["outbox"], "readwrite", (s) => done(s.outbox.add(item)));
export const dequeue = (seq) => run(["outbox"], "readwrite", (s) => { s.outbox.delete(seq); });
export const addConflict = (c) => run(["conflicts"], "readwrite", (s) => { s.conflicts.put(c); });
export const dropConflict = (key) => run(["conflicts"], "readwrite", (s) => { s.conflicts.delete(key); });

// wipe forgets everything (sign-out).
export const wipe = () => run(STORES, "readwrite", (s) => { for (const n of STORES) s[n].clear(); });
