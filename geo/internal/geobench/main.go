// Command geobench measures candidate lookup on one data set three ways —
// geo.Index (H3 rings), a brute-force scan, and PostGIS KNN on a GiST index —
// plus the travel-matrix build, and prints a Markdown report. It is a report,
// not a test: scripts/bench-geo.sh runs it and writes docs/benchmarks-geo.md.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldfix/fieldfix/geo"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "geobench:", err)
		os.Exit(1)
	}
}

type config struct {
	n, queries, scanQueries, pgQueries, want, matrix int
	radiusKm                                         float64
	dsn                                              string
	seed                                             uint64
}

// The data: a metropolitan region of ~220 km × 220 km around Paris, the
// scale of a national provider's densest territory.
var centre = geo.Point{Lat: 48.85, Lng: 2.35}

const dLat, dLng = 1.0, 1.5

var skills = []string{"washer", "fridge", "ac", "tv", "water_heater", "install"}

func run(ctx context.Context, args []string, out io.Writer) error {
	var c config
	fs := flag.NewFlagSet("geobench", flag.ContinueOnError)
	fs.IntVar(&c.n, "n", 100_000, "technicians")
	fs.IntVar(&c.queries, "queries", 20_000, "index queries")
	fs.IntVar(&c.scanQueries, "scan-queries", 500, "brute-force queries (slow)")
	fs.IntVar(&c.pgQueries, "pg-queries", 2_000, "PostGIS queries")
	fs.IntVar(&c.want, "want", 10, "candidates per query")
	fs.Float64Var(&c.radiusKm, "radius", 25, "maximum radius, km")
	fs.IntVar(&c.matrix, "matrix", 1_000, "points in the travel matrix")
	fs.StringVar(&c.dsn, "dsn", "", "PostgreSQL URL of a scratch database with PostGIS available (empty: skip PostGIS)")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}

	r := rand.New(rand.NewPCG(c.seed, 7))
	entries := make([]geo.Entry, c.n)
	for i := range entries {
		entries[i] = geo.Entry{
			ID:     int64(i + 1),
			Point:  randomPoint(r),
			Skills: []string{skills[r.IntN(len(skills))], skills[r.IntN(len(skills))]},
			Active: r.IntN(10) != 0,
		}
	}
	queries := make([]geo.Point, c.queries)
	for i := range queries {
		queries[i] = randomPoint(r)
	}
	// A typical eligibility filter: active, with the skill the appliance needs.
	filter := func(e geo.Entry) bool { return e.Active && e.HasSkill("washer") }

	fmt.Fprintf(out, "Data: %d technicians uniform over %.0f km × %.0f km around %v (%.1f per km²), 2 random skills of 6, 90%% active.\n",
		c.n, 2*dLat*111.2, 2*dLng*111.2*math.Cos(centre.Lat*math.Pi/180), centre,
		float64(c.n)/(2*dLat*111.2*2*dLng*111.2*math.Cos(centre.Lat*math.Pi/180)))
	fmt.Fprintf(out, "Query: the %d nearest active technicians with skill `washer` within %.0f km of a random point in the region. Go %s, GOMAXPROCS %d, one query at a time.\n\n",
		c.want, c.radiusKm, runtime.Version(), runtime.GOMAXPROCS(0))

	// H3 index.
	ix := geo.NewIndex()
	t0 := time.Now()
	for _, e := range entries {
		if err := ix.Upsert(e); err != nil {
			return err
		}
	}
	build := time.Since(t0)
	for _, q := range queries[:min(2000, len(queries))] { // warm the cell-geometry cache
		if _, err := ix.Nearby(q, filter, c.want, c.radiusKm); err != nil {
			return err
		}
	}
	idxLat := make([]time.Duration, len(queries))
	idxRes := make([][]int64, len(queries))
	for i, q := range queries {
		s := time.Now()
		got, err := ix.Nearby(q, filter, c.want, c.radiusKm)
		idxLat[i] = time.Since(s)
		if err != nil {
			return err
		}
		idxRes[i] = ids(got)
	}
	t0 = time.Now()
	for i := range 10_000 {
		if err := ix.Move(entries[i%c.n].ID, randomPoint(r)); err != nil {
			return err
		}
	}
	move := time.Since(t0) / 10_000
	for i := range 10_000 { // put them back so every method sees the same data
		if err := ix.Upsert(entries[i%c.n]); err != nil {
			return err
		}
	}

	// Brute force, on the first scanQueries queries.
	ns := min(c.scanQueries, len(queries))
	scanLat := make([]time.Duration, ns)
	mismatch := 0
	for i, q := range queries[:ns] {
		s := time.Now()
		got := scan(entries, q, filter, c.want, c.radiusKm)
		scanLat[i] = time.Since(s)
		if !slices.Equal(got, idxRes[i]) {
			mismatch++
		}
	}

	fmt.Fprintln(out, "| method | queries | p50 | p99 | mean | p99 vs H3 index |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|")
	idxP99 := pct(idxLat, 99)
	row := func(name string, lat []time.Duration) {
		fmt.Fprintf(out, "| %s | %d | %s | %s | %s | %.1f× |\n", name, len(lat), us(pct(lat, 50)), us(pct(lat, 99)), us(mean(lat)),
			float64(pct(lat, 99))/float64(idxP99))
	}
	row("H3 index (`geo.Index.Nearby`, res-7 buckets)", idxLat)
	row("brute-force scan (Go, same data)", scanLat)

	var pgNote string
	if c.dsn != "" {
		pgLat, pingLat, agree, version, err := postgis(ctx, c, entries, queries, idxRes)
		if err != nil {
			return fmt.Errorf("postgis: %w", err)
		}
		row("PostGIS `ORDER BY geom <-> pt LIMIT k` (GiST, via pgx)", pgLat)
		row("PostgreSQL `SELECT 1` round trip (floor of any SQL query)", pingLat)
		pgNote = fmt.Sprintf("PostGIS: %s; geography(Point,4326) column, GiST index, the filter in SQL (`active AND skills @> '{washer}'`), prepared statement over localhost TCP. Same ids as the index on %d of %d queries (PostGIS's sphere vs our haversine radius can swap near-ties; the query also ignores the 25 km limit, which the dense data never reaches).",
			version, agree, len(pgLat))
	} else {
		pgNote = "PostGIS: skipped (no -dsn)."
	}
	fmt.Fprintf(out, "\nThe index agreed with the brute-force scan (same ids, same order) on %d of %d queries.\n", ns-mismatch, ns)
	fmt.Fprintln(out, pgNote)
	fmt.Fprintf(out, "Index build: %d upserts in %s (%s each); a location ping (`Move`): %s.\n\n",
		c.n, build.Round(time.Millisecond), us(build/time.Duration(c.n)), us(move))

	// Travel matrix: the model straight (what runs without OSRM), and the
	// cached path an OSRM-backed builder takes (a FallbackTable is cached;
	// here both its sides are the model so no server is needed).
	model := geo.DefaultTravelModel()
	pts := make([]geo.Point, c.matrix)
	for i := range pts {
		pts[i] = randomPoint(r)
	}
	at := time.Date(2025, 3, 12, 9, 0, 0, 0, time.UTC)
	timeIt := func(f func() error) (time.Duration, error) {
		s := time.Now()
		err := f()
		return time.Since(s), err
	}
	direct, err := geo.NewMatrixBuilder(model, model, 0)
	if err != nil {
		return err
	}
	pairs := c.matrix * c.matrix
	cached, err := geo.NewMatrixBuilder(geo.FallbackTable{Primary: model, Secondary: model}, model, 2*pairs)
	if err != nil {
		return err
	}
	var times [3]time.Duration
	for i, f := range []func() error{
		func() error { _, err := direct.Matrix(ctx, pts, at); return err },
		func() error { _, err := cached.Matrix(ctx, pts, at); return err },
		func() error { _, err := cached.Matrix(ctx, pts, at.Add(time.Minute)); return err },
	} {
		if times[i], err = timeIt(f); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "| travel matrix, %d points (%d pairs) | time |\n|---|---:|\n", c.matrix, pairs)
	fmt.Fprintf(out, "| `MatrixBuilder` over the `TravelModel` (no OSRM; not cached, recomputing is cheaper) | %s |\n", times[0].Round(time.Millisecond))
	fmt.Fprintf(out, "| `MatrixBuilder` over a cached table (the OSRM path), cold: table + filling the cache | %s |\n", times[1].Round(time.Millisecond))
	fmt.Fprintf(out, "| same, warm (same 15-min slot, no table call) | %s |\n", times[2].Round(time.Millisecond))
	return nil
}

func randomPoint(r *rand.Rand) geo.Point {
	return geo.Point{Lat: centre.Lat + (r.Float64()*2-1)*dLat, Lng: centre.Lng + (r.Float64()*2-1)*dLng}
}

// scan is the baseline: every technician, every query.
func scan(entries []geo.Entry, p geo.Point, filter func(geo.Entry) bool, want int, maxKm float64) []int64 {
	type hit struct {
		id int64
		d  float64
	}
	best := make([]hit, 0, want+1)
	for _, e := range entries {
		d := geo.DistanceKm(p, e.Point)
		if d > maxKm || (len(best) == want && (d > best[want-1].d || d == best[want-1].d && e.ID > best[want-1].id)) || !filter(e) {
			continue
		}
		h := hit{e.ID, d}
		i, _ := slices.BinarySearchFunc(best, h, func(a, b hit) int {
			if c := cmp.Compare(a.d, b.d); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		best = slices.Insert(best, i, h)
		if len(best) > want {
			best = best[:want]
		}
	}
	out := make([]int64, len(best))
	for i, h := range best {
		out[i] = h.id
	}
	return out
}

func postgis(ctx context.Context, c config, entries []geo.Entry, queries []geo.Point, idxRes [][]int64) (lat, ping []time.Duration, agree int, version string, err error) {
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		return nil, nil, 0, "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`CREATE EXTENSION IF NOT EXISTS postgis`,
		`DROP TABLE IF EXISTS geobench_technicians`,
		`CREATE TABLE geobench_technicians (id bigint PRIMARY KEY, geom geography(Point, 4326) NOT NULL, skills text[] NOT NULL, active boolean NOT NULL)`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return nil, nil, 0, "", fmt.Errorf("%s: %w", sql, err)
		}
	}
	if err := conn.QueryRow(ctx, `SELECT postgis_lib_version()`).Scan(&version); err != nil {
		return nil, nil, 0, "", err
	}
	var pgVersion string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&pgVersion); err != nil {
		return nil, nil, 0, "", err
	}
	version = "PostGIS " + version + " on PostgreSQL " + pgVersion
	// COPY cannot build geography from text cheaply, so stage lat/lng columns.
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE stage (id bigint, lat float8, lng float8, skills text[], active boolean)`); err != nil {
		return nil, nil, 0, "", err
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"stage"}, []string{"id", "lat", "lng", "skills", "active"},
		pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
			e := entries[i]
			return []any{e.ID, e.Point.Lat, e.Point.Lng, e.Skills, e.Active}, nil
		}))
	if err != nil {
		return nil, nil, 0, "", fmt.Errorf("copy: %w", err)
	}
	for _, sql := range []string{
		`INSERT INTO geobench_technicians SELECT id, ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography, skills, active FROM stage`,
		`CREATE INDEX ON geobench_technicians USING gist (geom)`,
		`ANALYZE geobench_technicians`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return nil, nil, 0, "", fmt.Errorf("%s: %w", sql, err)
		}
	}
	const knn = `SELECT id FROM geobench_technicians
WHERE active AND skills @> ARRAY['washer']
ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography LIMIT $3`
	var plan string
	rows, err := conn.Query(ctx, "EXPLAIN "+knn, centre.Lng, centre.Lat, c.want)
	if err != nil {
		return nil, nil, 0, "", err
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, nil, 0, "", err
		}
		plan += line + "\n"
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, "", err
	}
	if !strings.Contains(plan, "Index Scan") || !strings.Contains(plan, "<->") {
		return nil, nil, 0, "", errors.New("the KNN query does not use the GiST index:\n" + plan)
	}
	n := min(c.pgQueries, len(queries))
	for _, q := range queries[:min(200, n)] { // warm the buffer cache and the prepared plan
		if _, err := pgIDs(ctx, conn, knn, q, c.want); err != nil {
			return nil, nil, 0, "", err
		}
	}
	lat = make([]time.Duration, n)
	for i, q := range queries[:n] {
		s := time.Now()
		got, err := pgIDs(ctx, conn, knn, q, c.want)
		lat[i] = time.Since(s)
		if err != nil {
			return nil, nil, 0, "", err
		}
		if slices.Equal(got, idxRes[i]) {
			agree++
		}
	}
	ping = make([]time.Duration, n)
	for i := range ping {
		s := time.Now()
		var one int
		if err := conn.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
			return nil, nil, 0, "", err
		}
		ping[i] = time.Since(s)
	}
	_, _ = conn.Exec(ctx, `DROP TABLE geobench_technicians`)
	return lat, ping, agree, version, nil
}

func pgIDs(ctx context.Context, conn *pgx.Conn, sql string, q geo.Point, want int) ([]int64, error) {
	rows, err := conn.Query(ctx, sql, q.Lng, q.Lat, want)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func ids(cs []geo.Candidate) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Entry.ID
	}
	return out
}

func pct(lat []time.Duration, p int) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func mean(lat []time.Duration) time.Duration {
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	return sum / time.Duration(len(lat))
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}
