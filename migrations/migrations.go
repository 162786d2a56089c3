// Package migrations embeds the SQL migrations and applies them with tern.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded migration files (NNN_name.sql).
func FS() fs.FS { return files }

var numbered = regexp.MustCompile(`^(\d+)_.+\.sql$`)

// withGapsFilled adds a no-op migration for each number missing below the highest one. Work
// on branches takes migration numbers in parallel, so a branch may hold 015 before 012 lands;
// tern refuses a gap. Once every number is present this changes nothing, and a database
// migrated by a build with a gap must be recreated, since the real migration of that number
// will not run on it.
func withGapsFilled(fsys fs.FS) (fs.FS, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	have, highest := map[int]bool{}, 0
	out := fstest.MapFS{}
	for _, e := range entries {
		m := numbered.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		have[n], highest = true, max(highest, n)
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	for n := 1; n < highest; n++ {
		if !have[n] {
			out[fmt.Sprintf("%03d_not_in_this_build.sql", n)] = &fstest.MapFile{Data: []byte("SELECT 1;\n")}
		}
	}
	return out, nil
}

// Migrate brings the schema on conn (its search_path decides the schema) to the newest version.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, "schema_version")
	if err != nil {
		return fmt.Errorf("migrator: %w", err)
	}
	all, err := withGapsFilled(files)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	if err := m.LoadMigrations(all); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
