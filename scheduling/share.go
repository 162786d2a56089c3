package scheduling

import "sync"

// shareRounds is how many times in a budget parallel searches compare their best plans; at each,
// a search behind the best of them goes on from it.
const shareRounds = 8

// share lets the parallel searches of one Optimize exchange their best plans at fixed points of
// the budget (shareRounds). With an iteration budget every search waits at each point for the
// others (or their end), so a seed gives the same answer every time; with a time budget nobody
// waits: a search takes the best plan posted so far.
type share struct {
	mu    sync.Mutex
	cond  *sync.Cond
	wait  bool
	posts [shareRounds][]*state
	ended []*state // a search's final best, once it has stopped
}

func newShare(searches int, wait bool) *share {
	sh := &share{wait: wait, ended: make([]*state, searches)}
	sh.cond = sync.NewCond(&sh.mu)
	for k := range sh.posts {
		sh.posts[k] = make([]*state, searches)
	}
	return sh
}

// meet posts search i's best at point k and returns a better plan to go on from (nil: its own is
// the best, or the first of the best).
func (sh *share) meet(i, k int, best *state) *state {
	if sh == nil {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.posts[k][i] = best.clone()
	sh.cond.Broadcast()
	if sh.wait {
		for {
			all := true
			for j := range sh.ended {
				if sh.posts[k][j] == nil && sh.ended[j] == nil {
					all = false
				}
			}
			if all {
				break
			}
			sh.cond.Wait()
		}
	}
	var won *state
	for j := range sh.ended {
		cand := sh.posts[k][j]
		if cand == nil {
			cand = sh.ended[j]
		}
		if !sh.wait && cand == nil { // time budgets: the best posted at any point so far
			for kk := k; kk >= 0 && cand == nil; kk-- {
				cand = sh.posts[kk][j]
			}
		}
		if cand != nil && cand.sum.Less(best.sum) && (won == nil || cand.sum.Less(won.sum)) {
			won = cand
		}
	}
	if won == nil {
		return nil
	}
	return won.clone()
}

// end records search i's final best: nobody waits for it any more.
func (sh *share) end(i int, best *state) {
	if sh == nil {
		return
	}
	sh.mu.Lock()
	sh.ended[i] = best
	sh.cond.Broadcast()
	sh.mu.Unlock()
}
