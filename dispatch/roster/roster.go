// Package roster owns the technicians as the staff manage them: who they are, their skills, home,
// weekly shifts and service area, and whether they are active.
package roster

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Store keeps the technicians.
type Store interface {
	// Tx runs fn with a Store bound to one transaction; fn's error rolls it back.
	Tx(ctx context.Context, fn func(Store) error) error
	CreateTechnician(ctx context.Context, t dispatch.Technician) (dispatch.Technician, error)
	GetTechnician(ctx context.Context, id int64) (dispatch.Technician, error)
	ListTechnicians(ctx context.Context, page dispatch.Page) ([]dispatch.Technician, error)
	UpdateTechnician(ctx context.Context, t dispatch.Technician) (dispatch.Technician, error)
	AddAudit(ctx context.Context, e dispatch.AuditEvent) error
}

// Service keeps the technicians: who they are, their skills, home, shifts and service area.
type Service struct {
	*dispatch.Env
	Store Store
	// Reads, when set, serves the technician list from a read replica.
	Reads Store
}

// New is the roster over store.
func New(store Store, env *dispatch.Env) *Service { return &Service{Env: env, Store: store} }

// TechnicianPatch is a partial update; nil fields stay as they are.
type TechnicianPatch struct {
	Name         *string
	Skills       *[]string
	Home         *dispatch.Location
	TimeZone     *string
	WeeklyShifts *[]dispatch.Shift
	ServiceArea  *[]string
	Active       *bool
}

// TechnicianRequest creates a technician.
type TechnicianRequest struct {
	Subject      string
	Name         string
	Skills       []string
	Home         dispatch.Location
	TimeZone     string
	WeeklyShifts []dispatch.Shift
	ServiceArea  []string
	Active       *bool
}

func validateTechnician(t dispatch.Technician) error {
	if strings.TrimSpace(t.Name) == "" {
		return dispatch.Invalid("name", "missing_field", "name is required")
	}
	if utf8.RuneCountInString(t.Name) > 200 {
		return dispatch.Invalid("name", "too_long", "name is longer than 200 characters")
	}
	if len(t.Skills) == 0 {
		return dispatch.Invalid("skills", "missing_field", "a technician needs at least one skill")
	}
	for _, sk := range t.Skills {
		if !dispatch.ValidSkill(sk) {
			return dispatch.Invalid("skills", "unknown_skill", "unknown skill %q; one of: %s", sk, strings.Join(dispatch.Skills(), ", "))
		}
	}
	if err := dispatch.ValidateLocation("home", t.Home); err != nil {
		return err
	}
	if _, err := time.LoadLocation(t.TimeZone); err != nil || t.TimeZone == "" || t.TimeZone == "Local" {
		return dispatch.Invalid("time_zone", "invalid_time_zone", "time_zone must be an IANA zone such as Europe/Paris; got %q", t.TimeZone)
	}
	if err := dispatch.ValidateShifts(t.WeeklyShifts); err != nil {
		return err
	}
	if len(t.ServiceArea) > 10000 {
		return dispatch.Invalid("service_area", "too_many_cells", "service_area has more than 10000 cells")
	}
	return nil
}

// CreateTechnician adds a technician (admin, dispatcher).
func (s *Service) CreateTechnician(ctx context.Context, a dispatch.Actor, r TechnicianRequest) (dispatch.Technician, error) {
	if !a.Staff() {
		return dispatch.Technician{}, dispatch.Forbidden("only admins and dispatchers manage technicians")
	}
	skills, err := skillsOf(r.Skills)
	if err != nil {
		return dispatch.Technician{}, err
	}
	t := dispatch.Technician{Name: strings.TrimSpace(r.Name), Skills: skills, Home: r.Home, TimeZone: r.TimeZone,
		WeeklyShifts: r.WeeklyShifts, ServiceArea: r.ServiceArea, Active: r.Active == nil || *r.Active}
	if r.Subject != "" {
		if len(r.Subject) > 200 {
			return dispatch.Technician{}, dispatch.Invalid("subject", "too_long", "subject is longer than 200 characters")
		}
		t.Subject = &r.Subject
	}
	if t.WeeklyShifts == nil {
		t.WeeklyShifts = []dispatch.Shift{}
	}
	if t.ServiceArea == nil {
		t.ServiceArea = []string{}
	}
	if err := validateTechnician(t); err != nil {
		return dispatch.Technician{}, err
	}
	var out dispatch.Technician
	err = s.Store.Tx(ctx, func(st Store) error {
		var err error
		if out, err = st.CreateTechnician(ctx, t); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: s.Now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "technician",
			EntityID: out.ID, Action: "created"})
	})
	return out, err
}

// ListTechnicians lists technicians (admin, dispatcher).
func (s *Service) ListTechnicians(ctx context.Context, a dispatch.Actor, page dispatch.Page) ([]dispatch.Technician, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only admins and dispatchers list technicians")
	}
	if s.Reads != nil {
		return s.Reads.ListTechnicians(ctx, page.Norm())
	}
	return s.Store.ListTechnicians(ctx, page.Norm())
}

// UpdateTechnician applies a patch when ifVersion (0: unchecked) matches.
func (s *Service) UpdateTechnician(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, p TechnicianPatch) (dispatch.Technician, error) {
	if !a.Staff() {
		return dispatch.Technician{}, dispatch.Forbidden("only admins and dispatchers manage technicians")
	}
	var out dispatch.Technician
	err := s.Store.Tx(ctx, func(st Store) error {
		t, err := st.GetTechnician(ctx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != t.Version {
			return dispatch.Conflict("version_mismatch", "technician %d is at version %d, not %d: reload and retry", id, t.Version, ifVersion)
		}
		if p.Name != nil {
			t.Name = strings.TrimSpace(*p.Name)
		}
		if p.Skills != nil {
			if t.Skills, err = skillsOf(*p.Skills); err != nil {
				return err
			}
		}
		if p.Home != nil {
			t.Home = *p.Home
		}
		if p.TimeZone != nil {
			t.TimeZone = *p.TimeZone
		}
		if p.WeeklyShifts != nil {
			t.WeeklyShifts = *p.WeeklyShifts
		}
		if p.ServiceArea != nil {
			t.ServiceArea = *p.ServiceArea
		}
		if p.Active != nil {
			t.Active = *p.Active
		}
		if err := validateTechnician(t); err != nil {
			return err
		}
		t.UpdatedAt = s.Now()
		if out, err = st.UpdateTechnician(ctx, t); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: s.Now(), ActorSub: a.Subject, ActorRole: a.Role, Entity: "technician",
			EntityID: id, Action: "updated"})
	})
	return out, err
}

// maxSkills bounds the skills list a request may send (there are fewer skills than this).
const maxSkills = 50

// skillsOf is a request's skills, sorted, each once; a list longer than any technician needs is
// refused before it is read.
func skillsOf(xs []string) ([]string, error) {
	if len(xs) > maxSkills {
		return nil, dispatch.Invalid("skills", "too_many_skills", "at most %d skills", maxSkills)
	}
	return dedupe(xs), nil
}

func dedupe(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
