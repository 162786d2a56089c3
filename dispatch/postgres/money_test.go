package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch/money"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// TestDocumentNumbersAreGapless: a number taken in a transaction that rolls back is taken again
// by the next; forty concurrent transactions, every third rolled back, leave the numbers of the
// committed ones 1..n without a gap; each series and year counts on its own; and a number is
// not taken outside a transaction.
func TestDocumentNumbersAreGapless(t *testing.T) {
	ctx := context.Background()
	store := postgres.New(dbtest.New(t).Pool).Money()
	rollback := errors.New("roll back")
	take := func(series string, year int, outcome error) (int, error) {
		var n int
		err := store.Tx(ctx, func(st money.Store) error {
			var err error
			if n, err = st.NextNumber(ctx, "main", series, year); err != nil {
				return err
			}
			return outcome
		})
		return n, err
	}
	if n, err := take("INV", 2026, rollback); n != 1 || !errors.Is(err, rollback) {
		t.Fatalf("first, rolled back: %d %v", n, err)
	}
	if n, err := take("INV", 2026, nil); n != 1 || err != nil {
		t.Fatalf("after a rollback the number is %d (%v), want 1 again", n, err)
	}
	if n, _ := take("CN", 2026, nil); n != 1 {
		t.Fatalf("credit notes count on their own: %d", n)
	}
	if n, _ := take("INV", 2027, nil); n != 1 {
		t.Fatalf("a new year starts at 1: %d", n)
	}
	if _, err := store.NextNumber(ctx, "main", "INV", 2026); err == nil {
		t.Fatal("a number was taken outside a transaction")
	}

	var (
		mu        sync.Mutex
		committed []int
		wg        sync.WaitGroup
	)
	for i := range 40 {
		wg.Go(func() {
			outcome := error(nil)
			if i%3 == 0 {
				outcome = rollback
			}
			n, err := take("INV", 2026, outcome)
			if err == nil {
				mu.Lock()
				committed = append(committed, n)
				mu.Unlock()
			} else if !errors.Is(err, rollback) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, n := range committed {
		if seen[n] {
			t.Fatalf("number %d given twice", n)
		}
		seen[n] = true
	}
	// 1 was taken before; the committed ones are 2..len+1.
	for n := 2; n <= len(committed)+1; n++ {
		if !seen[n] {
			t.Fatalf("gap at %d in %v", n, committed)
		}
	}
	if len(committed) != 26 {
		t.Fatalf("%d committed, want 26", len(committed))
	}
}
