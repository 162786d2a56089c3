package scheduling

import "fmt"

// Cost is a plan's objective, compared field by field in this order (Less).
type Cost struct {
	// Breaches counts visits after their SLA deadline, paid twice warranty; an unassigned job
	// with a deadline counts as breached.
	Breaches int64 `json:"breaches"`
	// Lateness sums seconds past the deadlines; an unassigned job counts as late as the horizon
	// (the last shift end) plus a day, so any visit beats none.
	Lateness           int64 `json:"lateness_s"`
	UnassignedPriority int64 `json:"unassigned_priority"`
	Unassigned         int   `json:"unassigned"`
	// Travel (seconds) plus Disruption (accepted jobs given to someone else) is one level.
	Travel     int64 `json:"travel_s"`
	Disruption int64 `json:"disruption_s"`
	// Waiting (seconds) is the technicians' idle time between visits, each route leaving as
	// late as its visits allow (shift-start slack): after travel, before balance.
	Waiting int64 `json:"waiting_s"`
	// Balance is Σ over technicians of their working minutes squared: lower is more even.
	Balance int64 `json:"balance"`
}

// Less is the lexicographic order of the objective.
func (c Cost) Less(d Cost) bool {
	switch {
	case c.Breaches != d.Breaches:
		return c.Breaches < d.Breaches
	case c.Lateness != d.Lateness:
		return c.Lateness < d.Lateness
	case c.UnassignedPriority != d.UnassignedPriority:
		return c.UnassignedPriority < d.UnassignedPriority
	case c.Unassigned != d.Unassigned:
		return c.Unassigned < d.Unassigned
	case c.Travel+c.Disruption != d.Travel+d.Disruption:
		return c.Travel+c.Disruption < d.Travel+d.Disruption
	case c.Waiting != d.Waiting:
		return c.Waiting < d.Waiting
	default:
		return c.Balance < d.Balance
	}
}

// upper is the part of the cost above travel; the search accepts no step that worsens it.
func (c Cost) upper() [4]int64 {
	return [4]int64{c.Breaches, c.Lateness, c.UnassignedPriority, int64(c.Unassigned)}
}

func (c Cost) String() string {
	return fmt.Sprintf("breaches %d, lateness %ds, unassigned %d (priority %d), travel %ds, disruption %ds, waiting %ds, balance %d",
		c.Breaches, c.Lateness, c.Unassigned, c.UnassignedPriority, c.Travel, c.Disruption, c.Waiting, c.Balance)
}

func (c Cost) add(d Cost) Cost {
	return Cost{c.Breaches + d.Breaches, c.Lateness + d.Lateness, c.UnassignedPriority + d.UnassignedPriority,
		c.Unassigned + d.Unassigned, c.Travel + d.Travel, c.Disruption + d.Disruption, c.Waiting + d.Waiting, c.Balance + d.Balance}
}

func (c Cost) sub(d Cost) Cost {
	return Cost{c.Breaches - d.Breaches, c.Lateness - d.Lateness, c.UnassignedPriority - d.UnassignedPriority,
		c.Unassigned - d.Unassigned, c.Travel - d.Travel, c.Disruption - d.Disruption, c.Waiting - d.Waiting, c.Balance - d.Balance}
}

// unassignedCost is what leaving a job out costs.
func unassignedCost(j Job, horizon, disruption int64) Cost {
	c := Cost{UnassignedPriority: int64(j.Priority), Unassigned: 1}
	if j.Due != 0 {
		c.Breaches = j.Tier.weight()
		c.Lateness = max(0, horizon-j.Due) + 86400
	}
	if j.AcceptedBy != 0 {
		c.Disruption = disruption
	}
	return c
}

// lateness is the breach and lateness of a visit starting at s.
func lateness(j Job, s int64) (breach, late int64) {
	if j.Due != 0 && s > j.Due {
		return j.Tier.weight(), s - j.Due
	}
	return 0, 0
}

func balanceOf(workSeconds int64) int64 {
	m := workSeconds / 60
	return m * m
}
