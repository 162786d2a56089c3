// The map (Leaflet, vendored): raster or vector tiles from FIELDFIX_MAP_TILES when set, else a plain background
// that says so; layers: each technician's planned route in visit order, live positions, jobs by
// tier and state, the region's H3 cells shaded by open work, and (when asked for) service areas.
"use strict";

const MapView = (() => {
  let map = null, fitted = "";
  const layers = {}, routes = new Map(), jobs = new Map(), positions = new Map();
  const STATE = { unassigned: "#c0392b", planned: "#8d99ae", offered: "#8fb3c9", accepted: "#457b9d", en_route: "#f4a261", on_site: "#2a9d8f", completed: "#6c757d", incomplete: "#6d597a" };
  const TIER = { warranty: "#1d3557", paid: "#e76f51" };
  const hue = (id) => `hsl(${(id * 137) % 360}, 65%, 42%)`;

  function init() {
    if (map || typeof L === "undefined") return;
    // A canvas: thousands of marks stay cheap. Until the day's routes are fitted the map shows
    // where the technicians are based.
    const homes = [...FF.techs.values()].filter((t) => t.active && t.home);
    const mid = (k) => homes.reduce((s, t) => s + t.home[k], 0) / homes.length;
    map = L.map("map", { zoomSnap: 0.25, preferCanvas: true }).setView(homes.length ? [mid("lat"), mid("lng")] : [20, 0], homes.length ? 11 : 2);
    // A template ending in .pbf or .mvt names Mapbox Vector Tiles (the server's CSP rule is the
    // same), drawn by Leaflet.VectorGrid with the plain style below; any other is raster images.
    const tiles = FF.config.map_tiles || "", attribution = FF.config.map_attribution || "";
    if (tiles && /\.(pbf|mvt)(\?|$)/i.test(tiles)) {
      $("#map").classList.add("vector");
      // Canvas tiles; a source's own zooms stop at 14 in the usual schemas, and deeper tiles are
      // its z14 ones drawn larger.
      new VectorTiles(tiles, { rendererFactory: L.canvas.tile, vectorTileLayerStyles: vectorStyles, maxNativeZoom: 14, maxZoom: 19, attribution })
        .once("tileerror", () => ($("#map-note").textContent = `Vector tiles could not be read from ${(tiles.match(/^\w+:\/\/[^/]+/) || [tiles])[0]} (its server must allow this page by CORS): routes in visit order, from home base.`))
        .addTo(map);
    } else if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution }).addTo(map);
    }
    if (tiles) {
      $("#map-note").textContent = "Routes in visit order, from home base. Ring colour: tier (blue warranty, orange paid); fill: state.";
    } else {
      $("#map").classList.add("plain");
      $("#map-note").textContent = "No street tiles configured (FIELDFIX_MAP_TILES): H3 cells and routes on a plain background. Ring colour: tier; fill: state.";
    }
    for (const k of ["cells", "routes", "jobs", "positions"]) {
      layers[k] = L.layerGroup().addTo(map);
      $("#l-" + k).onchange = (ev) => (ev.target.checked ? layers[k].addTo(map) : layers[k].remove());
    }
    // Service areas are read when first shown (and again for another region while shown).
    layers.areas = L.layerGroup();
    $("#l-areas").onchange = (ev) => {
      if (!ev.target.checked) { layers.areas.remove(); return; }
      layers.areas.addTo(map);
      drawAreas();
    };
  }

  // VectorTiles is VectorGrid's protobuf layer whose tile, when its fetch fails (no answer, or a
  // server without CORS), is drawn empty and reported as a tileerror; VectorGrid 1.3.0 leaves the
  // promise rejected and the tile loading for ever.
  const VectorTiles = typeof L === "undefined" || !L.VectorGrid ? null : L.VectorGrid.Protobuf.extend({
    _getVectorTilePromise(coords) {
      return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords).catch(() => {
        this.fire("tileerror", { coords });
        return { layers: {} };
      });
    },
  });

  // vectorStyles styles a vector tile's layers by name, across the usual schemas (OpenMapTiles,
  // Mapbox Streets, Tilezen, Protomaps): water blue, roads white on a grey casing (wider for the
  // major ones), buildings and land use in soft fills, labels and points of interest left out
  // (the map's own marks are the points), any other layer a thin grey line.
  const WATER = "#aad3df", ROAD = "#ffffff", CASING = "#c2bcb2", BUILDING = "#d9d0c9", GREEN = "#d8e8c8", LAND = "#ebe6dc";
  const MAJOR = /^(motorway|trunk|primary|highway|major_road)/, MINOR = /^(service|track|path|footway|cycleway|pedestrian|steps)/;
  const roadStyle = (p) => {
    const cls = String(p.class || p.kind || p.type || ""), w = MAJOR.test(cls) ? 4 : MINOR.test(cls) ? 1.2 : 2.5;
    if (/rail/.test(cls)) return { color: "#a7a29a", weight: 1, dashArray: "3 3" };
    return [{ color: CASING, weight: w + 1.5, lineCap: "round" }, { color: ROAD, weight: w, lineCap: "round" }];
  };
  const fill = (color, weight = 0) => ({ fill: true, fillColor: color, fillOpacity: 1, color, weight });
  const landStyle = (p) => fill(/park|grass|forest|wood|garden|meadow|recreation|cemetery|pitch|golf|nature|farm/.test(String(p.class || p.kind || p.type || "")) ? GREEN : LAND);
  const named = {
    water: fill(WATER, 1), ocean: fill(WATER, 1), waterway: { color: WATER, weight: 1.5 },
    road: roadStyle, roads: roadStyle, transportation: roadStyle,
    building: fill(BUILDING, 0.5), buildings: fill(BUILDING, 0.5),
    landuse: landStyle, landuse_overlay: landStyle, landcover: landStyle, park: fill(GREEN), earth: fill("#f2efe9"),
  };
  const LABELS = /(^|_)(name|names|label|labels|place|places|poi|pois|housenumber|housenum|mountain_peak|peak)s?$/;
  const vectorStyles = new Proxy(named, {
    get: (t, layer) => (typeof layer !== "string" ? undefined : t[layer] || (LABELS.test(layer) ? [] : { color: "#9a9a9a", weight: 0.5, radius: 1 })),
  });

  // drawAreas draws where the region's technicians take work: their service areas' cells, or a
  // circle of the search's reach around one without an area.
  let areasSeq = 0;
  async function drawAreas() {
    const my = ++areasSeq;
    let fc;
    try { fc = await api("GET", "/v1/geo/areas" + (FF.region ? "?region=" + FF.region : "")); } catch (e) { fail(e); return; }
    if (my !== areasSeq) return;
    layers.areas.clearLayers();
    const names = (ids) => ids.map((id) => techName(id)).join(", ");
    const drawn = L.geoJSON(fc, {
      // A reach is an outline: dozens of them overlap over a city.
      style: (f) => ({ weight: 1, color: "#6d597a", dashArray: "4 3", fillColor: "#6d597a", fillOpacity: f.geometry.type === "Point" ? 0 : 0.08 }),
      pointToLayer: (f, ll) => L.circle(ll, { radius: f.properties.radius_km * 1000 }),
      onEachFeature: (f, l) => {
        l.bindTooltip(f.properties.radius_km ? `${names(f.properties.technician_ids)}: within ${f.properties.radius_km} km` : `${names(f.properties.technician_ids)}: service area`, { sticky: true });
        l.techIds = f.properties.technician_ids;
      },
    }).addTo(layers.areas);
    document.body.dataset.areas = String(drawn.getLayers().length); // for the tests: shapes drawn
  }

  // routeLatLngs is a technician's day in visit order: home base, then each visit by planned
  // start, past the warehouse of a visit's pick-up stop first.
  function routeLatLngs(r) {
    const pts = [[r.technician.home.lat, r.technician.home.lng]];
    for (const id of r.jobs) {
      const j = FF.jobs.get(id);
      if (j.pickup) pts.push([j.pickup.location.lat, j.pickup.location.lng]);
      if (j.location) pts.push([j.location.lat, j.location.lng]);
    }
    return pts;
  }

  function updateRoutes(techIds) {
    if (!map) return;
    const ids = techIds || [...FF.routes.keys()];
    for (const id of ids) {
      const r = FF.routes.get(id);
      const old = routes.get(id);
      if (!r || r.jobs.length === 0) {
        if (old) { old.remove(); routes.delete(id); }
        continue;
      }
      const pts = routeLatLngs(r);
      const sig = pts.join(";");
      if (old) {
        if (old._sig !== sig) old.setLatLngs(pts);
        old._sig = sig;
        continue;
      }
      const line = L.polyline(pts, { color: hue(id), weight: 3, opacity: 0.8, className: "route-line" });
      line.bindTooltip(r.technician.name + " · " + r.jobs.map((x) => FF.jobs.get(x).reference).join(" → "), { sticky: true });
      line.on("click", () => Panel.showTech(id));
      line.techId = id;
      line._sig = sig;
      line.addTo(layers.routes);
      routes.set(id, line);
    }
    if (!techIds) for (const [id, line] of routes) if (!FF.routes.has(id)) { line.remove(); routes.delete(id); }
    for (const id of ids) for (const jid of (FF.routes.get(id) || { jobs: [] }).jobs) updateJob(FF.jobs.get(jid));
  }

  function updateJob(j) {
    if (!map || !j || !j.location) return;
    const shown = FF.unassigned.includes(j.id) || (j.technician_id && FF.routes.has(j.technician_id) && FF.routes.get(j.technician_id).jobs.includes(j.id));
    let m = jobs.get(j.id);
    if (!shown) { if (m) { m.remove(); jobs.delete(j.id); } return; }
    const style = { radius: 6, weight: 3, color: TIER[j.tier] || "#333", fillColor: STATE[j.status] || "#999", fillOpacity: 0.95 };
    const sig = style.fillColor + j.technician_id + j.location.lat + j.location.lng;
    if (m && m._sig === sig) return;
    const tip = `${j.reference} · ${j.status.replace("_", " ")} · ${j.tier} · ${techName(j.technician_id)}`;
    if (!m) {
      m = L.circleMarker([j.location.lat, j.location.lng], style).addTo(layers.jobs);
      m.on("click", () => Panel.showJob(j.id));
      // The tooltip is made on the first hover: a thousand of them up front cost the first drawing.
      m.once("mouseover", () => m.bindTooltip(m._tip).openTooltip());
      jobs.set(j.id, m);
    } else {
      m.setLatLng([j.location.lat, j.location.lng]);
      m.setStyle(style);
      if (m.getTooltip()) m.setTooltipContent(tip);
    }
    m._sig = sig;
    m._tip = tip;
  }

  // updatePositions moves the technicians' dots to their latest pings (and drops stale ones).
  function updatePositions() {
    if (!map) return;
    for (const t of FF.techs.values()) updatePosition(t);
    for (const [id, m] of positions) if (!FF.techs.has(id)) { m.remove(); positions.delete(id); }
  }

  // updatePosition moves one technician's dot (a "technician" event of the live feed, a ping).
  function updatePosition(t) {
    if (!map) return;
    let m = positions.get(t.id);
    if (!t.active || !t.last_position || (FF.board.region && !FF.board.region.split(",").includes(t.region))) {
      if (m) { m.remove(); positions.delete(t.id); }
      return;
    }
    const ll = [t.last_position.lat, t.last_position.lng];
    if (!m) {
      m = L.circleMarker(ll, { radius: 5, weight: 2, color: "#fff", fillColor: hue(t.id), fillOpacity: 1, className: "pos" }).addTo(layers.positions);
      m.bindTooltip(t.name);
      positions.set(t.id, m);
    } else m.setLatLng(ll);
    m.setTooltipContent(t.name + (t.last_seen_at ? " · seen " + hm(t.last_seen_at) : ""));
  }

  // For the tests: where a technician's dot is drawn, [lat, lng], or null.
  function drawnPosition(id) {
    const m = positions.get(id);
    return m ? [m.getLatLng().lat, m.getLatLng().lng] : null;
  }

  // cells reads the regions' hexagons (started alongside the board's read), one read a region.
  function cells(region) {
    if (!region) return Promise.resolve(null);
    return Promise.all(region.split(",").map((r) => api("GET", "/v1/geo/cells?region=" + r)))
      .then((fcs) => ({ type: "FeatureCollection", features: fcs.flatMap((fc) => fc.features) }))
      .catch((e) => { fail(e); return null; });
  }

  async function drawCells(pending) {
    layers.cells.clearLayers();
    const fc = await pending;
    if (!fc) return null;
    const max = Math.max(1, ...fc.features.map((f) => f.properties.bookings));
    return L.geoJSON(fc, {
      style: (f) => ({ weight: 0.6, color: "#8899aa", fillColor: "#1d3557", fillOpacity: 0.05 + 0.55 * (f.properties.bookings / max) }),
      onEachFeature: (f, l) => l.bindTooltip(`${f.properties.bookings} open booking(s), ${f.properties.technicians} technician(s)`),
    }).addTo(layers.cells);
  }

  // render draws the day afresh (sign-in, a new day or region).
  async function render(region, pending) {
    init();
    if (!map) return;
    map.invalidateSize(); // the box may have changed since (the phone layout): draw for its size
    updateRoutes(null);
    for (const [id, m] of jobs) if (!FF.jobs.has(id)) { m.remove(); jobs.delete(id); }
    for (const id of FF.unassigned) updateJob(FF.jobs.get(id));
    updatePositions();
    const fit = (extra) => {
      if (fitted === region + FF.day) return;
      const b = L.latLngBounds([]);
      for (const line of routes.values()) b.extend(line.getBounds());
      if (extra && extra.getLayers().length) b.extend(extra.getBounds());
      // maxZoom: one short route shows its streets, not a doorstep
      if (b.isValid()) { fitted = region + FF.day; map.fitBounds(b, { padding: [10, 10], animate: false, maxZoom: 14 }); }
    };
    if (routes.size) fit(null);
    if ($("#l-areas").checked) drawAreas();
    // The cells come when they come: the day is drawn without waiting for them.
    drawCells(pending || cells(region)).then(fit);
  }

  // For the tests: the route drawn for a technician, as [lat, lng] pairs in drawing order.
  function drawnRoute(techId) {
    const line = routes.get(techId);
    return line ? line.getLatLngs().map((p) => [p.lat, p.lng]) : null;
  }

  return { render, cells, updateRoutes, updateJob, updatePositions, updatePosition, drawnRoute, drawnPosition, resize: () => map && map.invalidateSize() };
})();
