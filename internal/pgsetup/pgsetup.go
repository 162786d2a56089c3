// Package pgsetup gets a database ready: it creates it when missing and applies the migrations.
// Shared by `fieldfix migrate`, `serve` and the test helper.
package pgsetup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldfix/fieldfix/migrations"
)

// EnsureDatabase creates the database named in dsn when it does not exist, connecting to the
// server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, dsn string) error {
	// Parsed as the pool parses it: the pool's own settings (pool_max_conns...) are not
	// PostgreSQL's, and sent as such the server refuses the connection.
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	cfg := pc.ConnConfig
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "3D000" { // invalid_catalog_name: the database is missing
		return fmt.Errorf("connect to %s: %w", redact(dsn), err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	ac, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to the server to create database %q: %w", cfg.Database, err)
	}
	defer ac.Close(ctx)
	_, err = ac.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if err != nil && !(errors.As(err, &pe) && pe.Code == "42P04") { // duplicate_database: a racer made it
		return fmt.Errorf("create database %q: %w", cfg.Database, err)
	}
	return nil
}

// Migrate applies every migration on a connection of pool, under an advisory lock so that
// replicas starting together migrate once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7201001)"); err != nil {
		return fmt.Errorf("migrate lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7201001)")
	return migrations.Migrate(ctx, conn.Conn())
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return strings.Replace(u.String(), "xxx", "***", 1)
}
