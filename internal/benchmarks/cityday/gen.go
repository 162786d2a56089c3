package main

import (
	"math"
	"slices"

	"github.com/fieldfix/fieldfix/scheduling/vroom"
)

// pyRandom is CPython's random.Random (MT19937 seeded by init_by_array from an int), with the
// few methods cityday.py calls, drawing exactly as CPython 3 does so the days are the same.
type pyRandom struct {
	mt  [624]uint32
	mti int
}

func newPyRandom(seed uint32) *pyRandom {
	r := &pyRandom{}
	r.initGenrand(19650218)
	key := []uint32{seed}
	i, j := 1, 0
	for k := max(624, len(key)); k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= 624 {
			r.mt[0] = r.mt[623]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := 623; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= 624 {
			r.mt[0] = r.mt[623]
			i = 1
		}
	}
	r.mt[0] = 0x80000000
	return r
}

func (r *pyRandom) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.mti = 624
}

func (r *pyRandom) uint32() uint32 {
	const upper, lower = 0x80000000, 0x7fffffff
	if r.mti >= 624 {
		mag := [2]uint32{0, 0x9908b0df}
		var k int
		for k = 0; k < 624-397; k++ {
			y := (r.mt[k] & upper) | (r.mt[k+1] & lower)
			r.mt[k] = r.mt[k+397] ^ (y >> 1) ^ mag[y&1]
		}
		for ; k < 623; k++ {
			y := (r.mt[k] & upper) | (r.mt[k+1] & lower)
			r.mt[k] = r.mt[k+(397-624)] ^ (y >> 1) ^ mag[y&1]
		}
		y := (r.mt[623] & upper) | (r.mt[0] & lower)
		r.mt[623] = r.mt[396] ^ (y >> 1) ^ mag[y&1]
		r.mti = 0
	}
	y := r.mt[r.mti]
	r.mti++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// random is random.random(): 53 bits from two draws.
func (r *pyRandom) random() float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864 + float64(b)) * (1.0 / 9007199254740992.0)
}

// below is random._randbelow(n): rejection sampling on n's bit length.
func (r *pyRandom) below(n int) int {
	k := 0
	for x := n; x > 0; x >>= 1 {
		k++
	}
	for {
		v := int(r.uint32() >> (32 - k))
		if v < n {
			return v
		}
	}
}

func choice[T any](r *pyRandom, xs ...T) T { return xs[r.below(len(xs))] }

// sample is random.sample(range(lo, lo+n), k) for a small n (CPython's pool branch).
func (r *pyRandom) sample(lo, n, k int) []int {
	pool := make([]int, n)
	for i := range pool {
		pool[i] = lo + i
	}
	out := make([]int, k)
	for i := range k {
		j := r.below(n - i)
		out[i] = pool[j]
		pool[j] = pool[n-i-1]
	}
	return out
}

// weighted is random.choices(range(lo, lo+len(w)), weights=w)[0].
func (r *pyRandom) weighted(lo int, w []float64) int {
	cum := make([]float64, len(w))
	var t float64
	for i, x := range w {
		t += x
		cum[i] = t
	}
	x := r.random() * t
	i, hi := 0, len(w)-1 // bisect_right(cum, x, 0, hi)
	for i < hi {
		m := (i + hi) / 2
		if x < cum[m] {
			hi = m
		} else {
			i = m + 1
		}
	}
	return lo + i
}

// The city's centre, and its travel model: great circle × 1.35 at 25 km/h, in whole seconds.
const lat0, lng0 = 31.2304, 121.4737

func rad(x float64) float64 { return x * (math.Pi / 180) }

// secs is the drive between two [lng, lat] points.
func secs(a, b [2]float64) int64 {
	la1, lo1, la2, lo2 := rad(a[1]), rad(a[0]), rad(b[1]), rad(b[0])
	s1, s2 := math.Sin((la2-la1)/2), math.Sin((lo2-lo1)/2)
	h := s1*s1 + math.Cos(la1)*math.Cos(la2)*s2*s2
	d := 2 * 6371000 * math.Asin(math.Sqrt(h))
	return int64(math.RoundToEven(d * 1.35 / (25 / 3.6)))
}

// cityDay is cityday.py SEED JOBS TECHS, as a VROOM problem.
func cityDay(seed uint32, njobs, ntechs int) *vroom.Problem {
	p, _ := cityDayAt(seed, njobs, ntechs)
	return p
}

// cityDayAt is cityDay and the [lng, lat] of its matrix's locations.
func cityDayAt(seed uint32, njobs, ntechs int) (*vroom.Problem, [][2]float64) {
	rnd := newPyRandom(seed)
	point := func() [2]float64 {
		r := 15000 * math.Sqrt(rnd.random())
		if rnd.random() < 0.5 {
			r *= 0.4
		}
		a := rnd.random() * 2 * math.Pi
		return [2]float64{lng0 + r*math.Cos(a)/(111320*math.Cos(rad(lat0))), lat0 + r*math.Sin(a)/110540}
	}
	var locs [][2]float64
	p := &vroom.Problem{}
	for t := range ntechs {
		locs = append(locs, point())
		sk := rnd.sample(1, 6, choice(rnd, 1, 2, 2, 3))
		slices.Sort(sk)
		start := int64(8 * 3600)
		if rnd.random() >= 0.7 {
			start = 10 * 3600
		}
		at, nine := len(locs)-1, 9
		v := vroom.Vehicle{ID: int64(t + 1), StartIndex: &at, EndIndex: &at, TimeWindow: []int64{start, start + 9*3600}, MaxTasks: &nine, Profile: "car"}
		for _, s := range sk {
			v.Skills = append(v.Skills, int64(s))
		}
		p.Vehicles = append(p.Vehicles, v)
	}
	for j := range njobs {
		locs = append(locs, point())
		skill := rnd.weighted(1, []float64{30, 20, 20, 10, 10, 10})
		paid := rnd.random() < 0.3
		service := choice[int64](rnd, 1800, 2700, 3600, 3600, 5400)
		var tw [2]int64
		if rnd.random() < 0.5 {
			s := choice[int64](rnd, 8, 9, 10, 11, 12, 13, 14, 15) * 3600
			tw = [2]int64{s, s + 3*3600}
		} else {
			tw = [2]int64{8 * 3600, 19 * 3600}
		}
		prio := 10
		if paid {
			tw = [2]int64{tw[0], min(tw[1], choice[int64](rnd, 12, 14, 16, 18)*3600)}
			if tw[1] <= tw[0] {
				tw = [2]int64{8 * 3600, tw[1]}
			}
			prio = 100
		}
		at := len(locs) - 1
		p.Jobs = append(p.Jobs, vroom.Job{ID: int64(j + 1), LocationIndex: &at, Service: service, Skills: []int64{int64(skill)},
			Priority: prio, TimeWindows: [][]int64{{tw[0], tw[1]}}})
	}
	mat := make([][]int64, len(locs))
	for a := range locs {
		mat[a] = make([]int64, len(locs))
		for b := range locs {
			mat[a][b] = secs(locs[a], locs[b])
		}
	}
	p.Matrices = map[string]vroom.MatrixSet{"car": {Durations: mat}}
	return p, locs
}
