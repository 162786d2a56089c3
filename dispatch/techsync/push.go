package techsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// MaxActs is the most acts one push carries.
const MaxActs = 200

// Act kinds.
var ActKinds = []string{"accept", "decline", "status", "checklist", "ping", "attachment", "signoff", "pickup"}

// Act is one thing the technician did, perhaps offline, as the phone queued it.
type Act struct {
	Key        string     `json:"key"` // the phone's own idempotency key for this act
	Kind       string     `json:"kind"`
	JobID      int64      `json:"job_id,omitempty"`
	OccurredAt *time.Time `json:"occurred_at,omitempty"` // by the phone's clock
	// decline
	Reason string `json:"reason,omitempty"`
	// status
	Status          dispatch.JobStatus `json:"status,omitempty"`
	Outcome         string             `json:"outcome,omitempty"`
	Notes           string             `json:"notes,omitempty"`
	PartsUsed       []dispatch.Part    `json:"parts_used,omitempty"`
	ProofOfPurchase *bool              `json:"proof_of_purchase,omitempty"`
	// status (optional) and ping
	Location *dispatch.Location `json:"location,omitempty"`
	// checklist
	Answers map[string]any `json:"answers,omitempty"`
	// attachment: a photo uploaded already (POST /v1/jobs/{id}/attachments), named by its
	// SHA-256, and the checklist item it answers, if any
	SHA256        string `json:"sha256,omitempty"`
	ChecklistItem string `json:"checklist_item,omitempty"`
	// signoff
	SignOff *SignOff `json:"signoff,omitempty"`
}

// Batch is what the phone sends: its acts in the order it made them, and its clock when it sent
// them (the Date header, or the body's device_time where a browser may not set Date).
type Batch struct {
	Acts      []Act
	DeviceNow *time.Time
}

// Outcomes of an act.
const (
	Applied        = "applied"
	AlreadyApplied = "already_applied" // this key was applied before, or the job is past the act already
	Conflicted     = "conflict"        // the world moved meanwhile: Code says how, Visit shows it now
	Rejected       = "rejected"        // the act is wrong in itself and will never apply (Code, Field)
	InProgress     = "in_progress"     // another request is applying this key right now: send it again later
)

// Answer is what became of one act.
type Answer struct {
	Key        string      `json:"key"`
	Outcome    string      `json:"outcome"`
	Code       string      `json:"code,omitempty"`
	Message    string      `json:"message,omitempty"`
	Field      string      `json:"field,omitempty"`
	DeviceTime *DeviceTime `json:"device_time,omitempty"`
	// Visit is the job as the server has it after the act (nil for pings and jobs the technician
	// may no longer see).
	Visit *Visit `json:"-"`
}

// Pushed is the answer to a batch.
type Pushed struct {
	Skew    time.Duration  // the phone's clock minus the server's
	Zone    *time.Location // the technician's, for the times a person reads
	Answers []Answer
}

// Push applies the technician's acts in order, each once: an act whose key was applied before
// answers already_applied, one the world moved past answers conflict with the job as it is now.
// A database outage stops the batch with the error: what was applied is kept, and the same batch
// sent again answers already_applied for it.
func (s *Service) Push(ctx context.Context, a dispatch.Actor, b Batch) (Pushed, error) {
	if len(b.Acts) == 0 || len(b.Acts) > MaxActs {
		return Pushed{}, dispatch.Invalid("actions", "invalid_actions", "a sync carries 1 to %d actions", MaxActs)
	}
	t, err := s.technicianFor(ctx, a)
	if err != nil {
		return Pushed{}, err
	}
	now := s.Now()
	out := Pushed{Zone: zoneOf(t), Answers: make([]Answer, 0, len(b.Acts))}
	if b.DeviceNow != nil {
		out.Skew = b.DeviceNow.Sub(now)
	}
	for _, act := range b.Acts {
		ans, err := s.once(ctx, a, t, act, out.Skew)
		if err != nil {
			return Pushed{}, fmt.Errorf("sync action %q: %w", act.Key, err)
		}
		out.Answers = append(out.Answers, ans)
	}
	return out, nil
}

// once applies act under its key: claimed, applied, recorded; or answered from the key's record.
func (s *Service) once(ctx context.Context, a dispatch.Actor, t dispatch.Technician, act Act, skew time.Duration) (Answer, error) {
	if strings.TrimSpace(act.Key) == "" || len(act.Key) > 200 {
		return Answer{Key: act.Key, Outcome: Rejected, Code: "invalid_key", Field: "key", Message: "every action needs its own key of 1 to 200 characters"}, nil
	}
	body, _ := json.Marshal(act)
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	claimed, prior, err := s.Store.ClaimAct(ctx, t.ID, act.Key, act.Kind, hash, s.Now())
	if err != nil {
		return Answer{}, err
	}
	if !claimed {
		switch {
		case prior.RequestHash != hash:
			return Answer{Key: act.Key, Outcome: Rejected, Code: "idempotency_key_reused", Field: "key",
				Message: "this key was used for another action; each action needs a key of its own"}, nil
		case !prior.Done:
			return Answer{Key: act.Key, Outcome: InProgress, Code: "in_progress", Message: "another request is applying this action; send it again"}, nil
		}
		var ans Answer
		_ = json.Unmarshal(prior.Answer, &ans)
		ans.Key, ans.Outcome = act.Key, AlreadyApplied
		ans.Visit = s.visitOf(ctx, t, act.JobID)
		return ans, nil
	}
	ans, err := s.apply(ctx, a, t, act, skew)
	if err != nil {
		if rerr := s.Store.ReleaseAct(ctx, t.ID, act.Key); rerr != nil {
			s.Log.Warn("sync: releasing an action's key", "technician_id", t.ID, "key", act.Key, "err", rerr)
		}
		return Answer{}, err
	}
	ans.Key = act.Key
	if ans.Outcome == Applied || ans.Outcome == AlreadyApplied {
		rec, _ := json.Marshal(ans)
		return ans, s.Store.FinishAct(ctx, t.ID, act.Key, rec, s.Now())
	}
	// A conflict or a refusal is not final: the same act may come again and be judged again.
	return ans, s.Store.ReleaseAct(ctx, t.ID, act.Key)
}

// apply carries act out; an error is one of the server's (the batch stops), the act's own
// failures are answers.
func (s *Service) apply(ctx context.Context, a dispatch.Actor, t dispatch.Technician, act Act, skew time.Duration) (Answer, error) {
	if !slices.Contains(ActKinds, act.Kind) {
		return Answer{Outcome: Rejected, Code: "invalid_kind", Field: "kind", Message: "kind must be one of " + strings.Join(ActKinds, ", ")}, nil
	}
	if act.Kind != "ping" && act.JobID <= 0 {
		return Answer{Outcome: Rejected, Code: "missing_field", Field: "job_id", Message: act.Kind + " needs job_id"}, nil
	}
	var v *Visit
	if act.Kind != "ping" {
		if v = s.visitOf(ctx, t, act.JobID); v == nil {
			return s.judge(ctx, t, act, dispatch.NotFound("job", act.JobID))
		}
	}
	var (
		err error
		dt  *DeviceTime
	)
	switch act.Kind {
	case "accept":
		_, err = s.Acts.Accept(ctx, a, act.JobID)
	case "decline":
		_, err = s.Acts.Decline(ctx, a, act.JobID, act.Reason)
	case "status":
		u := dispatch.StatusUpdate{Status: act.Status, Outcome: act.Outcome, Notes: act.Notes, PartsUsed: act.PartsUsed,
			Location: act.Location, ProofOfPurchase: act.ProofOfPurchase}
		if act.OccurredAt != nil {
			dt = judgeDeviceTime(*act.OccurredAt, skew, s.Now(), stepFloor(*v, act.Status))
			u.DeviceAt = dt.At
		}
		_, err = s.Acts.Status(ctx, a, act.JobID, u)
	case "checklist":
		err = s.Acts.Answer(ctx, a, act.JobID, act.Answers)
	case "attachment":
		err = s.attachment(ctx, a, *v, act)
	case "signoff":
		if act.SignOff == nil {
			return Answer{Outcome: Rejected, Code: "missing_field", Field: "signoff", Message: "signoff needs the method and its proof"}, nil
		}
		err = s.Acts.SignOff(ctx, a, act.JobID, *act.SignOff)
	case "pickup":
		err = s.Acts.PickUp(ctx, a, act.JobID)
	case "ping":
		if act.Location == nil {
			return Answer{Outcome: Rejected, Code: "missing_field", Field: "location", Message: "a ping needs a location"}, nil
		}
		var at *time.Time
		if act.OccurredAt != nil {
			dt = judgeDeviceTime(*act.OccurredAt, skew, s.Now(), s.Now().Add(-24*time.Hour))
			if dt.At == nil {
				// A status keeps the server's time when the phone's cannot be placed; a position
				// cannot: an old one taken as now would put the technician where they no longer are.
				return Answer{Outcome: Rejected, Code: dt.Code, Field: "occurred_at", DeviceTime: dt,
					Message: "a position whose time cannot be placed (more than 24 h ago, or in the future) is not kept"}, nil
			}
			at = dt.At
		}
		_, err = s.Acts.Ping(ctx, a, *act.Location, at)
	}
	if err != nil {
		ans, jerr := s.judge(ctx, t, act, err)
		ans.DeviceTime = nil
		return ans, jerr
	}
	return Answer{Outcome: Applied, DeviceTime: dt, Visit: s.visitOf(ctx, t, act.JobID)}, nil
}

// attachment checks that the photo the act names reached the visit, and answers its checklist
// item with it.
func (s *Service) attachment(ctx context.Context, a dispatch.Actor, v Visit, act Act) error {
	i := slices.IndexFunc(v.Attachments, func(r AttachmentRef) bool { return strings.EqualFold(r.SHA256, act.SHA256) })
	if i < 0 {
		return dispatch.Conflict("attachment_missing", "no photo with sha256 %q was uploaded to job %d: upload it first (POST /v1/jobs/%d/attachments)", act.SHA256, act.JobID, act.JobID)
	}
	if act.ChecklistItem == "" {
		return nil
	}
	return s.Acts.Answer(ctx, a, act.JobID, map[string]any{act.ChecklistItem: float64(v.Attachments[i].ID)})
}

// judge turns an act's failure into its answer: a refusal of the act itself is rejected; a
// conflict is already_applied when the job is past the act already (the act was applied by an
// earlier delivery whose key was not recorded), else a conflict with the job as it is now.
// Failures of the server are returned as errors.
func (s *Service) judge(ctx context.Context, t dispatch.Technician, act Act, err error) (Answer, error) {
	var de *dispatch.Error
	if !errors.As(err, &de) {
		return Answer{}, err
	}
	switch de.Kind {
	case dispatch.KindInvalid, dispatch.KindUnprocessable, dispatch.KindForbidden:
		return Answer{Outcome: Rejected, Code: de.Code, Field: de.Field, Message: de.Message}, nil
	case dispatch.KindConflict, dispatch.KindNotFound:
	default:
		return Answer{}, err
	}
	v := s.visitOf(ctx, t, act.JobID)
	if v != nil && past(*v, t.ID, act) {
		return Answer{Outcome: AlreadyApplied, Visit: v}, nil
	}
	ans := Answer{Outcome: Conflicted, Code: de.Code, Message: de.Message, Visit: v}
	if v != nil {
		if ok, why := holds(*v, t.ID); !ok {
			ans.Code, ans.Message = "job_"+why, fmt.Sprintf(leftBecause[why], act.JobID)
			if why == "declined" || why == "offer_expired" {
				ans.Code = why
			}
			ans.Visit = nil // no longer theirs to read
		}
	} else if de.Kind == dispatch.KindNotFound && act.JobID > 0 {
		ans.Code = "job_not_found"
	}
	return ans, nil
}

// leftBecause says why a job left the technician's world, by the reason holds gives.
var leftBecause = map[string]string{
	"reassigned":    "job %d was given to another technician",
	"unassigned":    "job %d was taken back by dispatch",
	"cancelled":     "job %d was cancelled",
	"declined":      "you declined job %d",
	"offer_expired": "the offer of job %d expired",
}

// statusRank orders the visit's steps in the technician's hands.
var statusRank = map[dispatch.JobStatus]int{dispatch.JobAccepted: 1, dispatch.JobEnRoute: 2, dispatch.JobOnSite: 3, dispatch.JobCompleted: 4, dispatch.JobIncomplete: 4}

// past reports whether visit v is where act would have taken it, or beyond.
func past(v Visit, techID int64, act Act) bool {
	mine := v.Job.TechnicianID != nil && *v.Job.TechnicianID == techID
	switch act.Kind {
	case "accept":
		return mine && statusRank[v.Job.Status] >= 1
	case "decline":
		return v.Offer != nil && v.Offer.Status == "declined"
	case "status":
		r := statusRank[act.Status]
		if r == 4 {
			return mine && v.Job.Status == act.Status
		}
		return mine && r > 0 && statusRank[v.Job.Status] >= r
	case "signoff":
		return mine && v.Job.SignOffMethod != ""
	case "pickup":
		return mine && v.Job.PickedUpAt != nil
	}
	return false
}

// visitOf reads job id as technician t sees it; nil when it does not exist or cannot be read.
func (s *Service) visitOf(ctx context.Context, t dispatch.Technician, id int64) *Visit {
	if id <= 0 {
		return nil
	}
	vs, err := s.Store.Visits(ctx, t.ID, []int64{id})
	if err != nil || len(vs) == 0 || s.withPickups(ctx, vs) != nil {
		return nil
	}
	return &vs[0]
}
