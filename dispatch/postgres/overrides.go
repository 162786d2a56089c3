package postgres

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

func (s overridesStore) AddTimeOff(ctx context.Context, techID int64, from, to time.Time, reason string) error {
	return mapErr(s.q.TimeOffInsert(ctx, techID, from, to, reason))
}

func (s overridesStore) TimeOff(ctx context.Context, techID int64, from, to time.Time) ([]dispatch.Window, error) {
	m, err := s.TimeOffOf(ctx, []int64{techID}, from, to)
	return m[techID], err
}
