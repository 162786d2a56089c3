// Package archtest keeps the house of STYLE.md: the domain at the root of dispatch imports none of
// the module; planning and offers, the two rooms every area shares, import only what is below
// them; an area imports the domain, planning, offers and the pure packages (geo, scheduling), never
// another area; services wires the areas; adapters (api, postgres, fcm, push, schedule, metrics)
// are imported by programs alone; and no room below the adapters reaches an adapter's technology.
package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/fieldfix/fieldfix/"

// pkg is a package as go list sees it: its own imports and everything it depends on.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// rooms of the house, by import path (without the module's prefix).
var (
	shared = []string{"dispatch/planning", "dispatch/offers"}
	areas  = []string{"dispatch/intake", "dispatch/lifecycle", "dispatch/roster", "dispatch/overrides", "dispatch/board",
		"dispatch/optimize", "dispatch/watchdog", "dispatch/aftersales", "dispatch/proof", "dispatch/money", "dispatch/techsync", "dispatch/parts"}
	adapters = []string{"api", "dispatch/postgres", "dispatch/fcm", "dispatch/push", "dispatch/schedule", "metrics", "dispatch/pdf", "dispatch/s3blob"}
	// programs are free to import anything: they are where the house is put together.
	programs = []string{"cmd", "internal/benchmarks", "internal/archtest", "internal/dbtest", "internal/pgsetup", "sim", "migrations", "geo/internal/geobench"}
	// an adapter's own parts, and the one adapter that drives another (push sends through fcm).
	adapterParts = map[string][]string{"api": {"api/web"}, "dispatch/postgres": {"dispatch/postgres/internal/db"},
		"dispatch/push": {"dispatch/fcm"}, "dispatch/fcm": {"dispatch/fcm/fcmtest"}}
	// technologies that stay in their adapters.
	adapterTech = []string{"github.com/labstack/echo", "github.com/jackc/pgx", "firebase.google.com", "github.com/riverqueue",
		"github.com/prometheus", "github.com/robfig/cron", "database/sql", "codeberg.org/go-pdf", "github.com/minio"}
)

// under reports whether p is root or one of its subpackages.
func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

func in(p string, roots []string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return under(p, r) })
}

// roomOf names p's room: domain, pure, planning, offers, area, wiring, adapter or program.
func roomOf(p string) string {
	switch {
	case p == "dispatch":
		return "domain"
	case in(p, []string{"geo", "scheduling"}) && !in(p, programs):
		return "pure"
	case p == "dispatch/planning":
		return "planning"
	case p == "dispatch/offers":
		return "offers"
	case in(p, areas):
		return "area"
	case p == "dispatch/services":
		return "wiring"
	case in(p, adapters):
		return "adapter"
	case under(p, "dispatch"):
		return "unknown" // a new room: it must say which it is
	}
	return "program"
}

// may lists, by room, the rooms a package may import.
var may = map[string][]string{
	"domain":   {},
	"pure":     {"pure"},
	"planning": {"domain", "pure"},
	"offers":   {"domain", "pure", "planning"},
	"area":     {"domain", "pure", "planning", "offers"},
	"wiring":   {"domain", "pure", "planning", "offers", "area"},
	"adapter":  {"domain", "pure", "planning", "offers", "area"},
}

// check returns what breaks the house in pkgs (import path → package, the module's only).
func check(pkgs map[string]pkg) []string {
	var out []string
	for _, path := range slices.Sorted(maps.Keys(pkgs)) {
		p := pkgs[path]
		from := strings.TrimPrefix(path, mod)
		room := roomOf(from)
		if room == "program" {
			continue
		}
		if room == "unknown" {
			out = append(out, from+" is in no room of the house: list it in internal/archtest (an area, most likely)")
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			to := strings.TrimPrefix(imp, mod)
			toRoom := roomOf(to)
			switch {
			case room == "adapter" && toRoom == "adapter":
				part := slices.ContainsFunc(adapterParts[rootOf(from)], func(r string) bool { return under(to, r) })
				if rootOf(from) != rootOf(to) && !part {
					out = append(out, from+" imports "+to+": an adapter does not import another adapter")
				}
			case room == "area" && toRoom == "area":
				out = append(out, from+" imports "+to+": an area does not import another area (a hook or an interface of its own carries what it needs)")
			case from == "api" && toRoom == "wiring":
				// api calls the areas as services wires them
			case !slices.Contains(may[room], toRoom):
				out = append(out, from+" ("+room+") imports "+to+" ("+toRoom+")")
			}
		}
		if room == "adapter" {
			continue
		}
		for _, d := range p.Deps {
			for _, tech := range adapterTech {
				if under(d, tech) {
					out = append(out, from+" ("+room+") depends on "+d+", an adapter's technology")
				}
			}
		}
	}
	return out
}

// rootOf is the adapter p belongs to (p itself for others).
func rootOf(p string) string {
	for _, a := range adapters {
		if under(p, a) {
			return a
		}
	}
	return p
}

// load lists the module's packages with go list.
func load(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

func TestImportsPointInward(t *testing.T) {
	pkgs := load(t)
	for _, want := range append(append([]string{"dispatch", "dispatch/services", "api"}, shared...), areas...) {
		if _, ok := pkgs[mod+want]; !ok {
			t.Fatalf("no package %s: the rooms listed here are out of date", want)
		}
	}
	for _, v := range check(pkgs) {
		t.Error(v)
	}
}

// TestCheckFindsEachForbiddenImport: the check of the real tree, with one forbidden import added at
// a time, reports that import (and the real tree alone reports nothing, above).
func TestCheckFindsEachForbiddenImport(t *testing.T) {
	pkgs := load(t)
	cases := []struct{ from, to, want string }{
		{"dispatch", mod + "dispatch/intake", "dispatch (domain) imports dispatch/intake (area)"},
		{"dispatch", mod + "geo", "dispatch (domain) imports geo (pure)"},
		{"dispatch/intake", mod + "dispatch/lifecycle", "dispatch/intake imports dispatch/lifecycle: an area does not import another area (a hook or an interface of its own carries what it needs)"},
		{"dispatch/planning", mod + "dispatch/offers", "dispatch/planning (planning) imports dispatch/offers (offers)"},
		{"dispatch/offers", mod + "dispatch/intake", "dispatch/offers (offers) imports dispatch/intake (area)"},
		{"dispatch/watchdog", mod + "dispatch/services", "dispatch/watchdog (area) imports dispatch/services (wiring)"},
		{"dispatch/board", mod + "dispatch/postgres", "dispatch/board (area) imports dispatch/postgres (adapter)"},
		{"dispatch/services", mod + "api", "dispatch/services (wiring) imports api (adapter)"},
		{"api", mod + "dispatch/postgres", "api imports dispatch/postgres: an adapter does not import another adapter"},
		{"geo", mod + "dispatch", "geo (pure) imports dispatch (domain)"},
		{"dispatch/roster", "github.com/jackc/pgx/v5", "dispatch/roster (area) depends on github.com/jackc/pgx/v5, an adapter's technology"},
		{"dispatch/fleet", mod + "dispatch", "dispatch/fleet is in no room of the house: list it in internal/archtest (an area, most likely)"},
	}
	if v := check(pkgs); len(v) > 0 {
		t.Fatalf("the real tree breaks the house already: %v", v)
	}
	for _, c := range cases {
		bad := maps.Clone(pkgs)
		p, ok := bad[mod+c.from]
		if !ok {
			p = pkg{ImportPath: mod + c.from}
		}
		p.Imports = append(slices.Clone(p.Imports), c.to)
		p.Deps = append(slices.Clone(p.Deps), c.to)
		bad[mod+c.from] = p
		if got := check(bad); !slices.Contains(got, c.want) {
			t.Errorf("%s importing %s: got %q, want %q among them", c.from, c.to, got, c.want)
		}
	}
}
