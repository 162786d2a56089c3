package dispatch

import "time"

// Complaint is recorded against a booking and tracked to resolution.
type Complaint struct {
	ID             int64
	BookingID      int64
	CustomerID     int64
	TechnicianID   *int64
	Category       string
	Description    string
	Status         string // open, acknowledged, resolved
	Resolution     string
	CreatedAt      time.Time
	AcknowledgedAt *time.Time
	ResolvedAt     *time.Time
	Version        int
}

// ComplaintCategories are what a complaint can be about.
var ComplaintCategories = []string{"technician_behaviour", "quality", "lateness", "no_show", "damage", "billing", "other"}

// ComplaintAckWithin is how soon a complaint must be acknowledged before it shows on the board.
const ComplaintAckWithin = 24 * time.Hour
