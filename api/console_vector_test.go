package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"github.com/fieldfix/fieldfix/dispatch"
)

// lyonLayers is a small made-up town around Lyon as vector tile layers, in longitude and
// latitude: a river (water), a street grid with a few major roads (transportation, the
// OpenMapTiles name), a building in each block, a park (landuse), a boundary line (a layer the
// console has no style for) and place names (labels, which it leaves out).
func lyonLayers() map[string]*geojson.FeatureCollection {
	water, roads, buildings, landuse, boundary, places := geojson.NewFeatureCollection(), geojson.NewFeatureCollection(),
		geojson.NewFeatureCollection(), geojson.NewFeatureCollection(), geojson.NewFeatureCollection(), geojson.NewFeatureCollection()
	const west, east, south, north, step = 4.74, 4.96, 45.69, 45.83, 0.01
	water.Append(geojson.NewFeature(orb.Polygon{{{4.818, south}, {4.826, south}, {4.832, north}, {4.824, north}, {4.818, south}}}))
	road := func(line orb.LineString, class string) {
		f := geojson.NewFeature(line)
		f.Properties["class"] = class
		roads.Append(f)
	}
	for i := 0; west+float64(i)*step <= east; i++ {
		lng, class := west+float64(i)*step, "minor"
		if i%6 == 3 {
			class = "primary"
		}
		road(orb.LineString{{lng, south}, {lng, north}}, class)
	}
	for j := 0; south+float64(j)*step <= north; j++ {
		lat, class := south+float64(j)*step, "minor"
		if j%5 == 2 {
			class = "primary"
		}
		road(orb.LineString{{west, lat}, {east, lat}}, class)
		for i := 0; west+float64(i+1)*step <= east; i++ {
			x, y := west+float64(i)*step+0.003, lat+0.003
			if x > 4.81 && x < 4.835 {
				continue // the river
			}
			buildings.Append(geojson.NewFeature(orb.Polygon{{{x, y}, {x + 0.004, y}, {x + 0.004, y + 0.0035}, {x, y + 0.0035}, {x, y}}}))
		}
	}
	park := geojson.NewFeature(orb.Polygon{{{4.85, 45.77}, {4.87, 45.77}, {4.87, 45.785}, {4.85, 45.785}, {4.85, 45.77}}})
	park.Properties["class"] = "park"
	landuse.Append(park)
	boundary.Append(geojson.NewFeature(orb.LineString{{4.90, south}, {4.90, north}}))
	places.Append(geojson.NewFeature(orb.Point{4.84, 45.76}))
	return map[string]*geojson.FeatureCollection{"landuse": landuse, "water": water, "transportation": roads, "building": buildings, "boundary": boundary, "place": places}
}

// TestConsoleDrawsVectorTiles: with a vector tile template (.pbf) in FIELDFIX_MAP_TILES the page
// may fetch from the tile server's origin (connect-src), the map asks it for tiles (Mapbox Vector
// Tiles, made here with orb's encoder), draws their water and roads in its plain style on canvas
// tiles, and credits the source.
func TestConsoleDrawsVectorTiles(t *testing.T) {
	bin := chromium(t)
	b := setup(t)
	b.parisBusiness()
	b.clock.Set(consoleDay)
	b.lyonDay()
	var asked, at14, deeper atomic.Int64
	tiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var z, x, y uint32
		path, cors := strings.CutPrefix(r.URL.Path, "/cors")
		if _, err := fmt.Sscanf(path, "/%d/%d/%d.pbf", &z, &x, &y); err != nil || z > 14 || x >= 1<<z || y >= 1<<z {
			if err == nil && z > 14 {
				deeper.Add(1)
			}
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		if z == 14 {
			at14.Add(1)
		}
		layers := mvt.NewLayers(lyonLayers())
		layers.ProjectToTile(maptile.New(x, y, maptile.Zoom(z)))
		layers.Clip(mvt.MapboxGLDefaultExtentBound)
		data, err := mvt.Marshal(layers)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if cors {
			w.Header().Set("Access-Control-Allow-Origin", "*") // the console is on another origin, as with any tile server
		}
		w.Header().Set("Content-Type", "application/vnd.mapbox-vector-tile")
		_, _ = w.Write(data)
	}))
	t.Cleanup(tiles.Close)
	srv := b.consoleWithTiles(tiles.URL+"/cors/{z}/{x}/{y}.pbf", "© Test Vector Tiles", "connect-src 'self' "+tiles.URL+";")
	nocors := b.consoleWithTiles(tiles.URL+"/{z}/{x}/{y}.pbf", "", "connect-src 'self' "+tiles.URL+";") // before the tab, closed after it

	// Pixels of the canvas tiles in the style's water blue and road white: the tiles were decoded
	// and each layer drawn in its colour (the canvases are transparent elsewhere).
	const painted = `(() => {
  const n = { canvases: 0, water: 0, road: 0, building: 0 };
  for (const c of document.querySelectorAll("#map .leaflet-tile-pane canvas.leaflet-tile")) {
    n.canvases++;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] !== 255) continue;
      const rgb = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
      if (rgb === 0xaad3df) n.water++;
      else if (rgb === 0xffffff) n.road++;
      else if (rgb === 0xd9d0c9) n.building++;
    }
  }
  return n;
})()`
	_, ctx := browser(t, bin)
	var thrown atomic.Value
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			thrown.CompareAndSwap(nil, e.ExceptionDetails.Error())
		}
	})
	var note, credit string
	var got struct{ Canvases, Water, Road, Building int }
	start := time.Now()
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(1440, 900, 1, false),
		signIn(srv.URL, b.token(dispatch.RoleDispatcher, "disp")),
		chromedp.Poll(`MapView.drawnRoute(FF.routes.keys().next().value) !== null`, nil),
		chromedp.Poll(`(() => { const n = `+painted+`; return n.water > 0 && n.road > 0 && n.building > 0; })()`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(painted, &got),
		chromedp.Text("#map-note", &note, chromedp.ByQuery),
		chromedp.Text("#map .leaflet-control-attribution", &credit, chromedp.ByQuery),
	); err != nil {
		failShot(t, ctx, "console-vector-tiles", fmt.Errorf("%w (%d tiles asked for)", err, asked.Load()))
	}
	t.Logf("%d tiles asked for; %d canvases with %d water, %d road, %d building pixels, in %v", asked.Load(), got.Canvases, got.Water, got.Road, got.Building, time.Since(start))
	if asked.Load() == 0 || got.Canvases == 0 {
		t.Fatalf("%d vector tiles asked for, %d drawn", asked.Load(), got.Canvases)
	}
	if strings.Contains(note, "No street tiles") || !strings.Contains(credit, "© Test Vector Tiles") {
		t.Fatalf("with vector tiles the map says %q and credits %q", note, credit)
	}
	screenshot(t, ctx, "console-vector-tiles.png")

	// Zoomed in past 14 (six clicks on + from the day's view at 11–13): no deeper tile is asked
	// for (the z14 ones are drawn larger) and the page throws nothing. How large they are drawn
	// is left out: on a busy machine clicks during the zoom animation are lost, and the pixels
	// under the view after zooming depend on where it lands.
	for range 6 {
		if err := chromedp.Run(ctx, chromedp.Click("#map .leaflet-control-zoom-in", chromedp.ByQuery), chromedp.Sleep(400*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // the tiles of the last zoom are asked for
	if at14.Load() == 0 || deeper.Load() != 0 {
		t.Fatalf("zoomed in: %d tiles asked for at zoom 14, %d deeper", at14.Load(), deeper.Load())
	}
	if e := thrown.Load(); e != nil {
		t.Fatalf("the page threw: %v", e)
	}

	// A tile server that does not allow the page by CORS: the map says so (and draws no tile).
	if err := chromedp.Run(ctx, signIn(nocors.URL, b.token(dispatch.RoleDispatcher, "disp")),
		chromedp.Poll(`document.querySelector("#map-note").textContent.includes("Vector tiles could not be read from `+tiles.URL+` (its server must allow this page by CORS)")`, nil, chromedp.WithPollingTimeout(5*time.Second)),
	); err != nil {
		failShot(t, ctx, "console-vector-nocors", err)
	}
}
