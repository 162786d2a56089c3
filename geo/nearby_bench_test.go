package geo

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// lyonSkills are the skill names of the Lyon benchmark; each technician has
// two or three of the eight, so about a third have any given one.
var lyonSkills = []string{"washing_machine", "refrigerator", "air_conditioning", "dishwasher",
	"oven", "water_heater", "tumble_dryer", "installation"}

type lyonQuery struct {
	p       Point
	skills  []string
	exclude []int64
}

// lyonFixture is the production shape of a candidate lookup: 3,000
// technicians within ~12 km of Lyon, a tenth inactive, and queries for one or
// two required skills with a short exclude list.
func lyonFixture(tb testing.TB, nSkills int) (*Index, []lyonQuery) {
	r := rand.New(rand.NewPCG(7, 3))
	centre := Point{45.764, 4.8357}
	const dLat, dLng = 0.108, 0.155 // ~12 km each way
	entries := scatter(r, 3000, centre, dLat, dLng)
	for i := range entries {
		perm := r.Perm(len(lyonSkills))[:2+r.IntN(2)]
		entries[i].Skills = entries[i].Skills[:0]
		for _, j := range perm {
			entries[i].Skills = append(entries[i].Skills, lyonSkills[j])
		}
	}
	ix := newTestIndex(tb, entries)
	qs := make([]lyonQuery, 1024)
	for i := range qs {
		perm := r.Perm(len(lyonSkills))[:nSkills]
		q := lyonQuery{p: scatter(r, 1, centre, dLat, dLng)[0].Point}
		for _, j := range perm {
			q.skills = append(q.skills, lyonSkills[j])
		}
		for range r.IntN(4) {
			q.exclude = append(q.exclude, int64(1+r.IntN(len(entries))))
		}
		qs[i] = q
	}
	return ix, qs
}

// lyonFilter is dispatch's filter: active, not excluded, has every skill.
func lyonFilter(q lyonQuery) func(Entry) bool {
	return func(e Entry) bool {
		if !e.Active || slices.Contains(q.exclude, e.ID) {
			return false
		}
		for _, sk := range q.skills {
			if !e.HasSkill(sk) {
				return false
			}
		}
		return true
	}
}

// BenchmarkNearbyLyon: the production profile's query (want 30 within 60 km,
// skills judged by the filter only).
func BenchmarkNearbyLyon(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(map[int]string{1: "skills=1", 2: "skills=2"}[n], func(b *testing.B) {
			ix, qs := lyonFixture(b, n)
			filters := make([]func(Entry) bool, len(qs))
			for i, q := range qs {
				filters[i] = lyonFilter(q)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				q := qs[i%len(qs)]
				if _, err := ix.Nearby(q.p, filters[i%len(qs)], 30, 60); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNearbyLyonRequireSkills: the same queries with the skills given
// to RequireSkills, the filter checking only Active and the exclude list
// ("lean"), or still the skills too ("full").
func BenchmarkNearbyLyonRequireSkills(b *testing.B) {
	for _, n := range []int{1, 2} {
		for _, full := range []bool{false, true} {
			name := map[int]string{1: "skills=1", 2: "skills=2"}[n] + map[bool]string{false: "/lean", true: "/full"}[full]
			b.Run(name, func(b *testing.B) {
				ix, qs := lyonFixture(b, n)
				filters := make([]func(Entry) bool, len(qs))
				opts := make([]NearbyOption, len(qs))
				for i, q := range qs {
					filters[i] = lyonFilter(q)
					if !full {
						filters[i] = lyonFilter(lyonQuery{exclude: q.exclude})
					}
					opts[i] = RequireSkills(q.skills...)
				}
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					j := i % len(qs)
					if _, err := ix.Nearby(qs[j].p, filters[j], 30, 60, opts[j]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
