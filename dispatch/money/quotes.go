package money

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fieldfix/fieldfix/dispatch"
)

// LineRequest asks for quantity of a price book item (by code, or a part's sku).
type LineRequest struct {
	Code        string
	Quantity    int64
	Description string // replaces the item's name on the line, when given
}

// OptionRequest is one option of a quote being made.
type OptionRequest struct {
	Key   string // standard (one option), or good, better, best
	Label string
	Lines []LineRequest
}

var optionKeys = []string{"good", "better", "best"}

// CreateQuote prices a quote for a paid booking's visit from the price book (its technician or a
// dispatcher, before or during the visit). The customer is told; a quote made before the visit
// whose total reaches the business's threshold is marked sent ahead. One quote waits for an
// answer per booking at a time; a quote after an approval is extra work, approved on its own.
func (s *Service) CreateQuote(ctx context.Context, a dispatch.Actor, jobID int64, opts []OptionRequest) (Quote, error) {
	if a.Role != dispatch.RoleTechnician && !a.Staff() {
		return Quote{}, dispatch.Forbidden("quotes are made by the visit's technician or a dispatcher")
	}
	if err := checkOptions(opts); err != nil {
		return Quote{}, err
	}
	var out Quote
	err := s.Store.Tx(ctx, func(st Store) error {
		b, j, err := s.visitOf(ctx, st, a, jobID)
		if err != nil {
			return err
		}
		if b.Tier != dispatch.TierPaid {
			return dispatch.Unprocessable("not_paid", "booking %d is a warranty repair: free for the customer, claimed from the manufacturer; quotes are for paid repairs", b.ID)
		}
		switch j.Status {
		case dispatch.JobCompleted, dispatch.JobIncomplete, dispatch.JobCancelled:
			return dispatch.Conflict("visit_over", "job %d is %s: a quote is made before or during the visit", j.ID, j.Status)
		}
		var codes []string
		for _, o := range opts {
			for _, lr := range o.Lines {
				codes = append(codes, lr.Code)
			}
		}
		bk, err := loadBook(ctx, st, s.Business, codes...)
		if err != nil {
			return err
		}
		now := s.Now()
		when := now
		if j.OnSiteAt == nil && j.PlannedStart != nil {
			when = *j.PlannedStart
		}
		afterHours := AfterHours(when, s.Rules.Zone())
		q := Quote{Business: s.Business, BookingID: b.ID, JobID: j.ID, Status: QuoteSent, Currency: bk.set.Currency, CreatedBy: a, CreatedAt: now}
		var most int64
		for i, o := range opts {
			opt := Option{Key: o.Key, Label: strings.TrimSpace(o.Label)}
			if opt.Key == "" {
				opt.Key = "standard"
			}
			for k, lr := range o.Lines {
				it, ok := bk.item(lr.Code)
				if !ok {
					return dispatch.Unprocessable("unknown_price", "options[%d].lines[%d]: %q is not in the price book", i, k, lr.Code)
				}
				if it.Tier == dispatch.TierWarranty {
					return dispatch.Unprocessable("unknown_price", "options[%d].lines[%d]: %q is a warranty rate, not a price for customers", i, k, lr.Code)
				}
				l := bk.line(it, lr.Quantity, afterHours && (it.Kind == KindLabour || it.Kind == KindCallOut))
				if d := strings.TrimSpace(lr.Description); d != "" {
					l.Description = d
				}
				opt.Lines = append(opt.Lines, l)
			}
			opt.Totals = Total(opt.Lines)
			opt.Text = Text(opt.Label, opt.Lines, opt.Totals, q.Currency)
			most = max(most, opt.TotalMinor)
			q.Options = append(q.Options, opt)
		}
		q.SentAhead = j.OnSiteAt == nil && most >= bk.set.QuoteSendAheadMinor
		if out, err = st.InsertQuote(ctx, q); err != nil {
			return err
		}
		if err := st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "quote", EntityID: out.ID,
			Action: "quote_sent", ToStatus: QuoteSent, Data: map[string]any{"booking_id": b.ID, "job_id": j.ID, "options": len(q.Options),
				"most_minor": most, "sent_ahead": q.SentAhead}}); err != nil {
			return err
		}
		body := fmt.Sprintf("A quote for the repair of your %s: %s. Approve or decline it in the app.", b.Appliance, Format(most, q.Currency))
		if len(q.Options) > 1 {
			body = fmt.Sprintf("A quote with %d options for the repair of your %s, up to %s. Choose one in the app.", len(q.Options), b.Appliance, Format(most, q.Currency))
		}
		return s.Env.TellCustomer(ctx, st, b, j, "quote", "Your repair quote", body, map[string]any{"quote_id": out.ID, "sent_ahead": q.SentAhead})
	})
	return out, err
}

func checkOptions(opts []OptionRequest) error {
	switch {
	case len(opts) == 0:
		return dispatch.Invalid("options", "missing_field", "a quote needs lines (one option) or two or three options good, better, best")
	case len(opts) > 3:
		return dispatch.Invalid("options", "too_many_options", "a quote has at most three options: good, better, best")
	}
	seen := map[string]bool{}
	for i, o := range opts {
		if len(opts) > 1 && !slices.Contains(optionKeys, o.Key) {
			return dispatch.Invalid("options", "invalid_option", "options[%d]: the options of a quote are good, better and best", i)
		}
		if len(opts) == 1 && o.Key != "" && o.Key != "standard" && !slices.Contains(optionKeys, o.Key) {
			return dispatch.Invalid("options", "invalid_option", "options[0]: key is standard, good, better or best")
		}
		if seen[o.Key] {
			return dispatch.Invalid("options", "invalid_option", "options[%d]: %s is given twice", i, o.Key)
		}
		seen[o.Key] = true
		if utf8.RuneCountInString(o.Label) > 200 {
			return dispatch.Invalid("options", "too_long", "options[%d]: a label is at most 200 characters", i)
		}
		if len(o.Lines) == 0 || len(o.Lines) > MaxLines {
			return dispatch.Invalid("lines", "invalid_lines", "options[%d]: an option has 1 to %d lines", i, MaxLines)
		}
		for k, l := range o.Lines {
			if l.Quantity <= 0 || l.Quantity > MaxQuantity {
				return dispatch.Invalid("quantity", "invalid_quantity", "options[%d].lines[%d]: quantity is a whole number from 1 to %d (labour: quarter hours)", i, k, MaxQuantity)
			}
			if strings.TrimSpace(l.Code) == "" || utf8.RuneCountInString(l.Code) > 100 || utf8.RuneCountInString(l.Description) > 200 {
				return dispatch.Invalid("code", "invalid_line", "options[%d].lines[%d]: a line names a price book code (or a part's sku); a description is at most 200 characters", i, k)
			}
		}
	}
	return nil
}

// visitOf is the booking and job a quote is made for, when the caller may make it: the job's
// technician or staff. Another technician's job answers as a missing one.
func (s *Service) visitOf(ctx context.Context, st Store, a dispatch.Actor, jobID int64) (dispatch.Booking, dispatch.Job, error) {
	var techID int64
	if a.Role == dispatch.RoleTechnician {
		t, err := st.TechnicianBySubject(ctx, a.Subject)
		if err != nil {
			return dispatch.Booking{}, dispatch.Job{}, dispatch.NotFound("job", jobID)
		}
		techID = t.ID
	}
	job, err := st.GetJob(ctx, jobID)
	if err != nil {
		return dispatch.Booking{}, dispatch.Job{}, err
	}
	b, err := st.GetBooking(ctx, job.BookingID)
	if err != nil {
		return dispatch.Booking{}, dispatch.Job{}, err
	}
	for _, j := range b.Jobs {
		if j.ID != jobID {
			continue
		}
		if a.Role == dispatch.RoleTechnician && (j.TechnicianID == nil || *j.TechnicianID != techID) {
			return dispatch.Booking{}, dispatch.Job{}, dispatch.NotFound("job", jobID)
		}
		return b, j, nil
	}
	return dispatch.Booking{}, dispatch.Job{}, dispatch.NotFound("job", jobID)
}

// ApproveQuote records the customer's approval of one option: who, when, which option and the
// text they were shown. The booking's customer answers, or a dispatcher records their answer (by
// phone); a second answer is a conflict (quote_decided), whoever raced.
func (s *Service) ApproveQuote(ctx context.Context, a dispatch.Actor, id int64, option string) (Quote, error) {
	return s.decide(ctx, a, id, func(q *Quote) error {
		if option == "" {
			if len(q.Options) > 1 {
				return dispatch.Invalid("option", "missing_field", "quote %d has options %s: say which is approved", q.ID, keysOf(q.Options))
			}
			option = q.Options[0].Key
		}
		i := slices.IndexFunc(q.Options, func(o Option) bool { return o.Key == option })
		if i < 0 {
			return dispatch.Invalid("option", "invalid_option", "quote %d has options %s", q.ID, keysOf(q.Options))
		}
		total := q.Options[i].TotalMinor
		q.Status, q.ApprovedOption, q.ApprovedTotalMinor, q.TextSeen = QuoteApproved, option, &total, q.Options[i].Text
		return nil
	})
}

// DeclineQuote records the customer's refusal, with their reason.
func (s *Service) DeclineQuote(ctx context.Context, a dispatch.Actor, id int64, reason string) (Quote, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 1000 {
		return Quote{}, dispatch.Invalid("reason", "too_long", "a reason is at most 1000 characters")
	}
	return s.decide(ctx, a, id, func(q *Quote) error {
		q.Status, q.DeclineReason = QuoteDeclined, reason
		texts := make([]string, len(q.Options))
		for i, o := range q.Options {
			texts[i] = o.Text
		}
		q.TextSeen = strings.Join(texts, "\n\n")
		return nil
	})
}

func (s *Service) decide(ctx context.Context, a dispatch.Actor, id int64, apply func(*Quote) error) (Quote, error) {
	if a.Role != dispatch.RoleCustomer && a.Role != dispatch.RoleDispatcher {
		return Quote{}, dispatch.Forbidden("the customer answers a quote (or a dispatcher records their answer)")
	}
	var out Quote
	err := s.Store.Tx(ctx, func(st Store) error {
		q, err := st.GetQuote(ctx, id, true)
		if err != nil {
			return err
		}
		b, err := st.GetBooking(ctx, q.BookingID)
		if err != nil {
			return err
		}
		if a.Role == dispatch.RoleCustomer && b.CustomerSubject != a.Subject {
			return dispatch.NotFound("quote", id)
		}
		if q.Status != QuoteSent {
			return dispatch.Conflict("quote_decided", "quote %d was %s already", id, q.Status)
		}
		if err := apply(&q); err != nil {
			return err
		}
		now := s.Now()
		q.DecidedAt, q.DecidedBy = &now, &a
		if out, err = st.DecideQuote(ctx, q); err != nil {
			return err
		}
		data := map[string]any{"booking_id": q.BookingID, "job_id": q.JobID}
		if q.ApprovedTotalMinor != nil {
			data["option"], data["total_minor"] = q.ApprovedOption, *q.ApprovedTotalMinor
		}
		return st.AddAudit(ctx, dispatch.AuditEvent{At: now, ActorSub: a.Subject, ActorRole: a.Role, Entity: "quote", EntityID: id,
			Action: "quote_" + q.Status, FromStatus: QuoteSent, ToStatus: q.Status, Reason: q.DeclineReason, Data: data})
	})
	return out, err
}

func keysOf(opts []Option) string {
	ks := make([]string, len(opts))
	for i, o := range opts {
		ks[i] = o.Key
	}
	return strings.Join(ks, ", ")
}

// Quote reads a quote: its booking's customer, the visit's technician, or staff.
func (s *Service) Quote(ctx context.Context, a dispatch.Actor, id int64) (Quote, error) {
	q, err := s.Store.GetQuote(ctx, id, false)
	if err != nil {
		return Quote{}, err
	}
	if err := mayRead(ctx, s.Store, a, q.BookingID); err != nil {
		return Quote{}, dispatch.NotFound("quote", id)
	}
	return q, nil
}

// BookingQuotes lists a booking's quotes, oldest first, to whoever may read the booking.
func (s *Service) BookingQuotes(ctx context.Context, a dispatch.Actor, bookingID int64) ([]Quote, error) {
	if err := mayRead(ctx, s.Store, a, bookingID); err != nil {
		return nil, err
	}
	return s.Store.BookingQuotes(ctx, bookingID)
}

// mayRead answers not found unless a is the booking's customer, a technician of one of its
// visits, or staff.
func mayRead(ctx context.Context, st Store, a dispatch.Actor, bookingID int64) error {
	if a.Staff() {
		return nil
	}
	b, err := st.GetBooking(ctx, bookingID)
	if err != nil {
		return err
	}
	switch a.Role {
	case dispatch.RoleCustomer:
		if b.CustomerSubject == a.Subject {
			return nil
		}
	case dispatch.RoleTechnician:
		t, err := st.TechnicianBySubject(ctx, a.Subject)
		if err == nil {
			for _, j := range b.Jobs {
				if j.TechnicianID != nil && *j.TechnicianID == t.ID {
					return nil
				}
			}
		}
	}
	return dispatch.NotFound("booking", bookingID)
}
