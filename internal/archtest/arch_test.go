// Package archtest keeps the arrows of STYLE.md pointing inward: the core and the pure packages
// never import an adapter or an adapter's technology.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestImportsPointInward(t *testing.T) {
	const mod = "github.com/fieldfix/fieldfix/"
	cases := []struct {
		pkg       string
		forbidden []string
	}{
		{mod + "dispatch", []string{mod + "api", mod + "dispatch/postgres", mod + "dispatch/fcm", mod + "dispatch/worker",
			mod + "dispatch/schedule", mod + "metrics", "github.com/labstack/echo", "github.com/jackc/pgx", "firebase.google.com", "github.com/riverqueue"}},
		{mod + "geo", []string{mod + "dispatch", mod + "api", "github.com/labstack/echo", "github.com/jackc/pgx", "database/sql"}},
		{mod + "api", []string{mod + "dispatch/postgres", "github.com/jackc/pgx"}},
		{mod + "dispatch/postgres", []string{mod + "api", mod + "dispatch/fcm", "github.com/labstack/echo"}},
		{mod + "dispatch/push", []string{mod + "api", mod + "dispatch/postgres", "github.com/labstack/echo", "github.com/jackc/pgx"}},
	}
	for _, c := range cases {
		for _, d := range deps(t, c.pkg) {
			for _, f := range c.forbidden {
				if d == f || strings.HasPrefix(d, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) || strings.HasPrefix(d, f) && !strings.HasPrefix(f, mod) {
					t.Errorf("%s imports %s", c.pkg, d)
				}
			}
		}
	}
}
