package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/services"
	"github.com/fieldfix/fieldfix/geo"
)

func TestLocationPingAndMap(t *testing.T) {
	b := setup(t)
	id := b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	disp := b.token(dispatch.RoleDispatcher, "disp")

	for _, bad := range []map[string]any{{"lat": 95.0, "lng": 4.8}, {"lat": 0, "lng": 0}, {"lat": 45.7}, {"lat": 45.7, "lng": 4.8, "recorded_at": "2030-01-01T00:00:00Z"}} {
		r := b.do("PUT", "/v1/technicians/me/location", tech, bad)
		if r.Status != 400 {
			t.Errorf("ping %v: %d %s", bad, r.Status, r.Body)
		}
	}
	// A few streets away: the index must move the technician there.
	if r := b.do("PUT", "/v1/technicians/me/location", tech, map[string]any{"lat": 45.7655, "lng": 4.8402}); r.Status != 200 {
		t.Fatalf("ping: %d %s", r.Status, r.Body)
	}
	e, ok := b.svc.Planner.Index.Get(id)
	if !ok || e.Point.Lat != 45.7655 {
		t.Fatalf("index holds %v %v", e, ok)
	}
	var lat float64
	if err := b.db.Pool.QueryRow(t.Context(), "SELECT last_lat FROM technicians WHERE id=$1", id).Scan(&lat); err != nil || lat != 45.7655 {
		t.Fatalf("stored %v %v", lat, err)
	}
	// An older ping arriving late changes nothing.
	old := b.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	b.do("PUT", "/v1/technicians/me/location", tech, map[string]any{"lat": 45.70, "lng": 4.80, "recorded_at": old})
	if e, _ := b.svc.Planner.Index.Get(id); e.Point.Lat != 45.7655 {
		t.Fatalf("late ping moved the technician to %v", e.Point)
	}

	b.do("POST", "/v1/bookings", b.token(dispatch.RoleCustomer, "c"), washerBooking(nil))
	region, _ := geo.RegionOf(geo.Point{Lat: 45.764, Lng: 4.8357})
	r := b.do("GET", "/v1/geo/cells?region="+region.String(), disp, nil)
	if r.Status != 200 {
		t.Fatalf("cells: %d %s", r.Status, r.Body)
	}
	m := r.json(t)
	feats := m["features"].([]any)
	bookings, techs := 0.0, 0.0
	for _, f := range feats {
		p := f.(map[string]any)["properties"].(map[string]any)
		bookings += p["bookings"].(float64)
		techs += p["technicians"].(float64)
	}
	if m["type"] != "FeatureCollection" || len(feats) < 40 || bookings != 1 || techs != 1 {
		t.Fatalf("map: %d features, %v bookings, %v technicians", len(feats), bookings, techs)
	}
	wantProblem(t, b.do("GET", "/v1/geo/cells?region=zzz", disp, nil), 400, "invalid_region")
	wantProblem(t, b.do("GET", "/v1/geo/cells", disp, nil), 400, "missing_field")
	cell9, _ := geo.CellOf(geo.Point{Lat: 45.764, Lng: 4.8357}, 9)
	wantProblem(t, b.do("GET", "/v1/geo/cells?region="+cell9.String(), disp, nil), 400, "invalid_region")
	wantProblem(t, b.do("GET", "/v1/board?region=8a1fb46622dffff", disp, nil), 400, "invalid_region")
}

// TestIndexFollowsOtherReplica: a second server process on the same database keeps its own
// index in step through LISTEN/NOTIFY.
func TestIndexFollowsOtherReplica(t *testing.T) {
	b := setup(t)
	store := postgres.New(b.db.Pool)
	other := services.New(store, dispatch.DefaultRules(), b.clock, nil)
	other.Planner.Index = geo.NewIndex()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{}, 1)
	go store.ListenTechnicians(ctx, func(id int64) { other.Planner.SyncTechnician(ctx, id) }, func() {
		_ = other.Planner.LoadIndex(ctx)
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	<-ready
	id := b.technician("tech-a", []string{"washer"}, 45.76, 4.84) // created through the first replica
	b.do("PUT", "/v1/technicians/me/location", b.token(dispatch.RoleTechnician, "tech-a"), map[string]any{"lat": 45.78, "lng": 4.87})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if e, ok := other.Planner.Index.Get(id); ok && e.Point.Lat == 45.78 {
			break
		}
		if time.Now().After(deadline) {
			e, ok := other.Planner.Index.Get(id)
			t.Fatalf("other replica's index holds %v %v", e, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
