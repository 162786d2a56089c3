package postgres

import (
	"context"
	"time"
)

func (s optimizeStore) PlanVersions(ctx context.Context, ids []int64, lock bool) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	if lock {
		rows, err := s.q.PlanVersionsLock(ctx, ids)
		for _, r := range rows {
			out[r.ID] = r.PlanVersion
		}
		return out, mapErr(err)
	}
	rows, err := s.q.PlanVersions(ctx, ids)
	for _, r := range rows {
		out[r.ID] = r.PlanVersion
	}
	return out, mapErr(err)
}

func (s optimizeStore) MovableJobs(ctx context.Context, frozenUntil time.Time, region string) ([]int64, error) {
	ids, err := s.q.MovableJobs(ctx, frozenUntil, region)
	return ids, mapErr(err)
}

func (s optimizeStore) OpenRegions(ctx context.Context) ([]string, error) {
	rs, err := s.q.OpenRegions(ctx)
	return rs, mapErr(err)
}
