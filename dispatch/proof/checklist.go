package proof

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// Item kinds of a checklist.
var ItemKinds = []string{"yes_no", "number", "text", "photo", "reading"}

// Item is one line of a checklist: a question of a kind, required or not.
type Item struct {
	Key      string   `json:"key"` // stable within the template: answers name it
	Label    string   `json:"label"`
	Kind     string   `json:"kind"` // yes_no, number (with unit and range), text, photo, reading (an error code, a meter)
	Required bool     `json:"required"`
	Unit     string   `json:"unit,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
}

// Template is a checklist staff keep for a service type and appliance ("" = any appliance).
type Template struct {
	ID          int64
	Name        string
	ServiceType string
	Appliance   string
	Items       []Item
	Active      bool
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Checklist is a visit's: the items it got from its template, and the technician's answers by
// item key (a yes_no is a bool, a number a float64, text and reading a string, a photo the id of
// one of the visit's attachments).
type Checklist struct {
	JobID      int64
	TemplateID *int64
	Items      []Item
	Answers    map[string]any
	Version    int
	UpdatedAt  time.Time
}

// Missing are the keys of the required items without an answer.
func (c Checklist) Missing() []string {
	out := []string{}
	for _, it := range c.Items {
		if _, ok := c.Answers[it.Key]; it.Required && !ok {
			out = append(out, it.Key)
		}
	}
	return out
}

var serviceTypes = []dispatch.ServiceType{dispatch.ServiceRepair, dispatch.ServiceInstallation, dispatch.ServiceMaintenance, dispatch.ServiceReturnPickup}

var itemKey = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// checkTemplate validates a template's fields.
func checkTemplate(t Template) error {
	if strings.TrimSpace(t.Name) == "" || utf8.RuneCountInString(t.Name) > 200 {
		return dispatch.Invalid("name", "invalid_name", "name is required (at most 200 characters)")
	}
	if !slices.Contains(serviceTypes, dispatch.ServiceType(t.ServiceType)) {
		return dispatch.Invalid("service_type", "invalid_service_type", "service_type must be repair, installation, maintenance or return_pickup")
	}
	if utf8.RuneCountInString(t.Appliance) > 100 {
		return dispatch.Invalid("appliance", "too_long", "appliance is at most 100 characters")
	}
	if len(t.Items) == 0 || len(t.Items) > 100 {
		return dispatch.Invalid("items", "invalid_items", "a checklist has 1 to 100 items")
	}
	seen := map[string]bool{}
	for i, it := range t.Items {
		switch {
		case !itemKey.MatchString(it.Key):
			return dispatch.Invalid("items", "invalid_item", "items[%d].key must be 1–64 of a-z, 0-9 and _", i)
		case seen[it.Key]:
			return dispatch.Invalid("items", "duplicate_item_key", "items[%d].key %q is used twice", i, it.Key)
		case strings.TrimSpace(it.Label) == "" || utf8.RuneCountInString(it.Label) > 300:
			return dispatch.Invalid("items", "invalid_item", "items[%d].label is required (at most 300 characters)", i)
		case !slices.Contains(ItemKinds, it.Kind):
			return dispatch.Invalid("items", "invalid_item_kind", "items[%d].kind must be one of %s", i, strings.Join(ItemKinds, ", "))
		case it.Kind != "number" && (it.Unit != "" || it.Min != nil || it.Max != nil):
			return dispatch.Invalid("items", "invalid_item", "items[%d]: only a number item has a unit and a range", i)
		case it.Min != nil && it.Max != nil && *it.Min > *it.Max:
			return dispatch.Invalid("items", "invalid_item", "items[%d]: min is above max", i)
		case utf8.RuneCountInString(it.Unit) > 20:
			return dispatch.Invalid("items", "invalid_item", "items[%d].unit is at most 20 characters", i)
		}
		seen[it.Key] = true
	}
	return nil
}

// CreateTemplate adds a checklist template (admin); it replaces none: a second active template for
// the same service type and appliance is a conflict (deactivate the first with PATCH).
func (s *Service) CreateTemplate(ctx context.Context, a dispatch.Actor, t Template) (Template, error) {
	if a.Role != dispatch.RoleAdmin {
		return Template{}, dispatch.Forbidden("only admins keep checklist templates")
	}
	t.Name, t.Appliance = strings.TrimSpace(t.Name), strings.TrimSpace(t.Appliance)
	if err := checkTemplate(t); err != nil {
		return Template{}, err
	}
	var out Template
	err := s.Store.Tx(ctx, func(st Store) error {
		var err error
		if out, err = st.CreateTemplate(ctx, t, s.Now()); err != nil {
			if dispatch.HasCode(err, "duplicate") {
				return dispatch.Conflict("template_exists", "an active checklist for %s %q exists: change it, or deactivate it first", t.ServiceType, t.Appliance)
			}
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: out.CreatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "checklist_template",
			EntityID: out.ID, Action: "created", Data: map[string]any{"service_type": t.ServiceType, "appliance": t.Appliance}})
	})
	return out, err
}

// TemplatePatch changes a template: the fields given.
type TemplatePatch struct {
	Name   *string
	Items  []Item // nil: unchanged
	Active *bool
}

// UpdateTemplate changes a template (admin) at version ifVersion (0: any). Visits that have their
// checklist keep it.
func (s *Service) UpdateTemplate(ctx context.Context, a dispatch.Actor, id int64, ifVersion int, p TemplatePatch) (Template, error) {
	if a.Role != dispatch.RoleAdmin {
		return Template{}, dispatch.Forbidden("only admins keep checklist templates")
	}
	var out Template
	err := s.Store.Tx(ctx, func(st Store) error {
		t, err := st.GetTemplate(ctx, id, true)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != t.Version {
			return dispatch.Conflict("version_mismatch", "checklist %d is at version %d, not %d", id, t.Version, ifVersion)
		}
		if p.Name != nil {
			t.Name = strings.TrimSpace(*p.Name)
		}
		if p.Items != nil {
			t.Items = p.Items
		}
		if p.Active != nil {
			t.Active = *p.Active
		}
		if err := checkTemplate(t); err != nil {
			return err
		}
		t.UpdatedAt = s.Now()
		if out, err = st.SaveTemplate(ctx, t); err != nil {
			if dispatch.HasCode(err, "duplicate") {
				return dispatch.Conflict("template_exists", "another active checklist for %s %q exists", t.ServiceType, t.Appliance)
			}
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: t.UpdatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "checklist_template",
			EntityID: id, Action: "changed", Data: map[string]any{"version": out.Version, "active": out.Active}})
	})
	return out, err
}

// Templates lists the templates (staff).
func (s *Service) Templates(ctx context.Context, a dispatch.Actor) ([]Template, error) {
	if !a.Staff() {
		return nil, dispatch.Forbidden("only staff read checklist templates")
	}
	return s.Store.ListTemplates(ctx)
}

// Template reads one template (staff).
func (s *Service) Template(ctx context.Context, a dispatch.Actor, id int64) (Template, error) {
	if !a.Staff() {
		return Template{}, dispatch.Forbidden("only staff read checklist templates")
	}
	return s.Store.GetTemplate(ctx, id, false)
}

// checklistOf is visit v's checklist, given to it now from the active template when it has none
// yet (a visit with no template has an empty checklist, complete at once).
func (s *Service) checklistOf(ctx context.Context, st Store, v visit) (Checklist, error) {
	c, err := st.GetChecklist(ctx, v.Job.ID)
	if err == nil || !errors.Is(err, dispatch.ErrNotFound) {
		return c, err
	}
	c = Checklist{JobID: v.Job.ID, Items: []Item{}, Answers: map[string]any{}, UpdatedAt: s.Now()}
	t, err := st.TemplateFor(ctx, string(v.Booking.ServiceType), v.Booking.Appliance)
	switch {
	case err == nil:
		c.TemplateID, c.Items = &t.ID, t.Items
	case !errors.Is(err, dispatch.ErrNotFound):
		return Checklist{}, err
	}
	if err := st.CreateChecklist(ctx, c); err != nil {
		return Checklist{}, err
	}
	return st.GetChecklist(ctx, v.Job.ID)
}

// VisitChecklist reads a visit's checklist (its technician, staff, or the booking's customer).
func (s *Service) VisitChecklist(ctx context.Context, a dispatch.Actor, jobID int64) (Checklist, error) {
	var out Checklist
	err := s.Store.Tx(ctx, func(st Store) error {
		v, err := visitFor(ctx, st, a, jobID, false)
		if err != nil {
			return err
		}
		out, err = s.checklistOf(ctx, st, v)
		return err
	})
	return out, err
}

// FillChecklist saves the technician's answers: the keys given are set (a null clears one), the
// others kept, so partial saves add up and the same request twice changes nothing more. An
// answer that does not fit its item refuses the whole request.
func (s *Service) FillChecklist(ctx context.Context, a dispatch.Actor, jobID int64, answers map[string]any) (Checklist, error) {
	if a.Role != dispatch.RoleTechnician {
		return Checklist{}, dispatch.Forbidden("only the visit's technician fills its checklist")
	}
	if len(answers) > 200 {
		return Checklist{}, dispatch.Invalid("answers", "too_many_answers", "at most 200 answers at once")
	}
	var out Checklist
	err := s.Store.Tx(ctx, func(st Store) error {
		v, err := visitFor(ctx, st, a, jobID, true)
		if err != nil {
			return err
		}
		if err := working(v.Job); err != nil {
			return err
		}
		c, err := s.checklistOf(ctx, st, v)
		if err != nil {
			return err
		}
		for _, key := range sortedKeys(answers) {
			i := slices.IndexFunc(c.Items, func(it Item) bool { return it.Key == key })
			if i < 0 {
				return dispatch.Invalid("answers", "unknown_item", "the visit's checklist has no item %q", key)
			}
			if answers[key] == nil {
				delete(c.Answers, key)
				continue
			}
			val, err := answer(ctx, st, jobID, c.Items[i], answers[key])
			if err != nil {
				return err
			}
			c.Answers[key] = val
		}
		c.UpdatedAt = s.Now()
		if out, err = st.SaveAnswers(ctx, c); err != nil {
			return err
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: c.UpdatedAt, ActorSub: a.Subject, ActorRole: a.Role, Entity: "job", EntityID: jobID,
			Action: "checklist_saved", Data: map[string]any{"booking_id": v.Job.BookingID, "answered": len(out.Answers), "missing": out.Missing()}})
	})
	return out, err
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// answer checks v against item it and returns the value to keep.
func answer(ctx context.Context, st Store, jobID int64, it Item, v any) (any, error) {
	bad := func(format string, args ...any) error {
		e := dispatch.Invalid("answers", "invalid_answer", "%s: %s", it.Key, fmt.Sprintf(format, args...)).(*dispatch.Error)
		e.Extra = map[string]any{"item": it.Key}
		return e
	}
	switch it.Kind {
	case "yes_no":
		b, ok := v.(bool)
		if !ok {
			return nil, bad("a yes/no answer is true or false")
		}
		return b, nil
	case "number":
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad("a number is expected")
		}
		if (it.Min != nil && f < *it.Min) || (it.Max != nil && f > *it.Max) {
			e := bad("%g is out of range [%s, %s] %s", f, bound(it.Min), bound(it.Max), it.Unit).(*dispatch.Error)
			e.Code = "answer_out_of_range"
			return nil, e
		}
		return f, nil
	case "text", "reading":
		str, ok := v.(string)
		if !ok || utf8.RuneCountInString(str) > 2000 {
			return nil, bad("text of at most 2000 characters is expected")
		}
		if strings.TrimSpace(str) == "" {
			return nil, bad("an empty answer is no answer (send null to clear it)")
		}
		return str, nil
	case "photo":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || f <= 0 {
			return nil, bad("the id of one of the visit's photos is expected")
		}
		att, err := st.GetAttachment(ctx, int64(f))
		if errors.Is(err, dispatch.ErrNotFound) || (err == nil && (att.JobID != jobID || att.Kind == "signature")) {
			return nil, bad("attachment %d is not a photo of this visit", int64(f))
		}
		if err != nil {
			return nil, err
		}
		return att.ID, nil
	}
	return nil, bad("unknown item kind %q", it.Kind)
}

func bound(f *float64) string {
	if f == nil {
		return "…"
	}
	return fmt.Sprintf("%g", *f)
}
