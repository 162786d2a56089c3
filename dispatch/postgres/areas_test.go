package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/lifecycle"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// TestJoinWritesInTheCallersTransaction: a hook's store joined to another area's transaction
// (intake's Join in lifecycle's Tx, as the warranty check on a visit report does) writes in that
// transaction: rolled back with it, committed with it. A store from elsewhere is refused.
func TestJoinWritesInTheCallersTransaction(t *testing.T) {
	ctx := context.Background()
	store := postgres.New(dbtest.New(t).Pool)
	in := store.Intake()
	c, err := in.EnsureCustomer(ctx, "cust")
	if err != nil {
		t.Fatal(err)
	}
	p, err := in.CreatePurchase(ctx, dispatch.Purchase{CustomerID: c.ID, Category: "washer", PurchasedAt: dispatch.Date{Year: 2026, Month: 1, Day: 2}, WarrantyMonths: 24})
	if err != nil || p.Verified {
		t.Fatalf("purchase %+v, %v: want an unverified one", p, err)
	}
	rollback := errors.New("roll back")
	verify := func(outcome error) error {
		return store.Lifecycle().Tx(ctx, func(st lifecycle.Store) error {
			if err := in.Join(st).VerifyPurchase(ctx, p.ID); err != nil {
				return err
			}
			return outcome
		})
	}
	if err := verify(rollback); !errors.Is(err, rollback) {
		t.Fatalf("rolled back: %v", err)
	}
	if got, err := in.GetPurchase(ctx, p.ID); err != nil || got.Verified {
		t.Fatalf("after the rollback: %+v, %v; want it still unverified", got, err)
	}
	if err := verify(nil); err != nil {
		t.Fatal(err)
	}
	if got, err := in.GetPurchase(ctx, p.ID); err != nil || !got.Verified {
		t.Fatalf("after the commit: %+v, %v; want it verified", got, err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("joining a transaction of another store did not panic")
		}
	}()
	in.Join(foreignTx{})
}

type foreignTx struct{}

func (foreignTx) AfterTx(func(bool)) {}
