package postgres

import (
	"context"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

func (s offersStore) ExpiredOffers(ctx context.Context, now time.Time, limit int) ([]dispatch.Offer, error) {
	rows, err := s.q.OffersExpired(ctx, now, int32(limit))
	if err != nil {
		return nil, mapErr(err)
	}
	return mapAll(rows, offerFrom), nil
}

func (s offersStore) NextOfferExpiry(ctx context.Context) (time.Time, error) {
	t, err := s.q.NextOfferExpiry(ctx)
	return t.UTC(), mapErr(err)
}

func (s offersStore) JobsToOffer(ctx context.Context, horizon time.Time, limit int) ([]int64, error) {
	ids, err := s.q.JobsToOffer(ctx, horizon, int32(limit))
	return ids, mapErr(err)
}
