package api

import (
	"github.com/labstack/echo/v4"

	"github.com/fieldfix/fieldfix/api/web"

	"github.com/fieldfix/fieldfix/dispatch"
)

const (
	customer   = dispatch.RoleCustomer
	technician = dispatch.RoleTechnician
	dispatcher = dispatch.RoleDispatcher
	admin      = dispatch.RoleAdmin
)

// Route is one entry of the surface: the roles it allows (none: public).
type Route struct {
	Method, Path string
	Roles        []dispatch.Role
}

// Routes is the whole HTTP surface with who may call what; tests walk it.
func Routes() []Route {
	var rs []Route
	addRoutes(nil, Deps{}, func(r Route) { rs = append(rs, r) })
	return rs
}

// addRoutes registers every route on e (nil: only report them to the optional visitor).
func addRoutes(e *echo.Echo, d Deps, visit ...func(Route)) {
	var v1 *echo.Group
	if e != nil {
		v1 = e.Group("/v1", authenticate(JWT{Secret: d.JWTSecret, Issuer: d.JWTIssuer, Audience: d.JWTAudience}, d.Now, d.Log))
	}
	in, lc, con, as, tr, pw, mon := intakeHandlers{d}, lifecycleHandlers{d}, consoleHandlers{d}, aftersalesHandlers{d}, trackingHandlers{d}, proofHandlers{d}, moneyHandlers{d}
	ts := techSyncHandlers{d}
	pt := partsHandlers{d}
	public := func(method, path string, fn echo.HandlerFunc) {
		for _, f := range visit {
			f(Route{Method: method, Path: path})
		}
		if e != nil {
			e.Add(method, path, fn)
		}
	}
	var extra map[string]echo.MiddlewareFunc // per "METHOD path", after the role check
	if e != nil {
		extra = map[string]echo.MiddlewareFunc{
			"POST /bookings":   subjectLimit(d.BookingsPerMinute, 30, 10, "bookings"),
			"POST /complaints": subjectLimit(d.ComplaintsPerMinute, 6, 5, "complaints"),
		}
	}
	private := func(method, path string, fn echo.HandlerFunc, roles ...dispatch.Role) {
		for _, f := range visit {
			f(Route{Method: method, Path: "/v1" + path, Roles: roles})
		}
		if e != nil {
			mws := []echo.MiddlewareFunc{allow(roles...)}
			if m, ok := extra[method+" "+path]; ok {
				mws = append(mws, m)
			}
			v1.Add(method, path, fn, mws...)
		}
	}

	public("GET", "/healthz", healthz)
	public("GET", "/readyz", readyz(d))
	public("GET", "/openapi.json", serveOpenAPI)
	public("GET", "/metrics", serveMetrics(d))
	console := web.Console(web.ConsoleConfig{MapTiles: d.MapTiles, MapAttribution: d.MapAttribution})
	public("GET", "/console", console)
	public("GET", "/console/*", console)
	// The technician's app: installable, works offline, syncs through /v1/technicians/me/sync.
	public("GET", "/tech", web.Tech)
	public("GET", "/tech/*", web.Tech)
	// The customer's tracking link: the token is the key, no login.
	public("GET", "/t/:token", web.Tracking)
	public("GET", "/t/:token/visit", tr.visit)
	public("GET", "/t/:token/slots", tr.slots)
	public("POST", "/t/:token/reschedule", tr.reschedule)
	public("POST", "/t/:token/cancel", tr.cancel)
	public("GET", "/track/*", web.TrackingAsset)
	public("GET", "/t/:token/quotes", mon.trackedQuotes)
	public("POST", "/t/:token/quotes/:id/approve", mon.trackedDecision(true))
	public("POST", "/t/:token/quotes/:id/decline", mon.trackedDecision(false))
	public("POST", "/v1/payments/webhook", mon.paymentsWebhook)  // signed by the provider (HMAC), not a bearer token
	public("PUT", "/v1/uploads/:token", pw.receiveUpload)        // a two-step upload's bytes: the URL's token is the credential
	public("POST", "/v1/technician-signin", ts.redeemSigninLink) // a one-time sign-in link's code is the credential

	private("POST", "/purchases", in.createPurchase, customer, dispatcher)
	private("GET", "/purchases", in.listPurchases, customer, dispatcher)
	private("POST", "/purchases/:id/extended-warranty", in.extendWarranty, dispatcher, admin)

	private("GET", "/slots", in.slots, customer, dispatcher)
	private("GET", "/coverage", in.coverage, customer, dispatcher, admin)
	private("POST", "/bookings", in.createBooking, customer, dispatcher)
	private("GET", "/bookings", in.listBookings, customer, dispatcher)
	private("GET", "/bookings/:id", in.getBooking, customer, technician, dispatcher)
	private("POST", "/bookings/:id/cancel", in.cancelBooking, customer, dispatcher)
	private("POST", "/bookings/:id/reschedule", in.rescheduleBooking, customer, dispatcher)
	private("POST", "/bookings/:id/feedback", as.feedback, customer)
	private("GET", "/bookings/:id/messages", con.bookingMessages, dispatcher, admin)

	private("POST", "/complaints", as.createComplaint, customer, dispatcher)
	private("GET", "/complaints", as.listComplaints, customer, dispatcher)
	private("PATCH", "/complaints/:id", as.updateComplaint, dispatcher)

	private("POST", "/technicians", con.createTechnician, admin, dispatcher)
	private("GET", "/technicians", con.listTechnicians, admin, dispatcher)
	private("PATCH", "/technicians/:id", con.updateTechnician, admin, dispatcher)
	private("POST", "/technicians/:id/unavailable", con.technicianUnavailable, dispatcher)
	private("GET", "/technicians/:id/time-off", con.listTimeOff, dispatcher, admin)
	private("DELETE", "/technicians/:id/time-off/:time_off_id", con.withdrawTimeOff, dispatcher)
	private("POST", "/technicians/:id/signin-links", ts.issueSigninLink, dispatcher, admin)

	private("PUT", "/technicians/me/devices", lc.putDevice, technician)
	private("DELETE", "/technicians/me/devices/:token", lc.deleteDevice, technician)
	private("GET", "/technicians/me/jobs", lc.agenda, technician)
	private("GET", "/technicians/me/inbox", lc.inbox, technician)
	private("PUT", "/technicians/me/location", lc.putLocation, technician)
	private("GET", "/technicians/me/sync", ts.pull, technician)
	private("POST", "/technicians/me/sync", ts.push, technician)
	private("PUT", "/customers/me/devices", lc.putDevice, customer)
	private("DELETE", "/customers/me/devices/:token", lc.deleteDevice, customer)
	private("GET", "/customers/me/inbox", lc.inbox, customer)
	private("PUT", "/dispatchers/me/devices", lc.putDevice, dispatcher)
	private("DELETE", "/dispatchers/me/devices/:token", lc.deleteDevice, dispatcher)
	private("GET", "/dispatchers/me/inbox", lc.inbox, dispatcher)
	private("GET", "/geo/cells", con.geoCells, dispatcher)
	private("GET", "/geo/areas", con.geoAreas, dispatcher, admin)
	private("GET", "/capacity", con.capacity, dispatcher, admin)

	private("GET", "/jobs/:id", lc.getJob, customer, technician, dispatcher, admin)
	private("POST", "/jobs/:id/accept", lc.acceptJob, technician)
	private("POST", "/jobs/:id/decline", lc.declineJob, technician)
	private("POST", "/jobs/:id/status", lc.jobStatus, technician)
	private("POST", "/jobs/:id/assign", con.assignJob, dispatcher)
	private("POST", "/jobs/:id/unassign", con.unassignJob, dispatcher)
	private("POST", "/jobs/:id/pin", con.pinJob(true), dispatcher)
	private("POST", "/jobs/:id/unpin", con.pinJob(false), dispatcher)

	private("POST", "/checklists", pw.createTemplate, admin)
	private("GET", "/checklists", pw.listTemplates, admin, dispatcher)
	private("GET", "/checklists/:id", pw.getTemplate, admin, dispatcher)
	private("PATCH", "/checklists/:id", pw.updateTemplate, admin)
	private("GET", "/jobs/:id/checklist", pw.getChecklist, technician, customer, dispatcher, admin)
	private("PUT", "/jobs/:id/checklist", pw.putChecklist, technician)
	private("POST", "/jobs/:id/attachments", pw.upload, technician)
	private("POST", "/jobs/:id/attachments/uploads", pw.startUpload, technician)
	private("POST", "/jobs/:id/attachments/uploads/:uid/confirm", pw.confirmUpload, technician)
	private("GET", "/jobs/:id/attachments", pw.listAttachments, technician, customer, dispatcher, admin)
	private("GET", "/jobs/:id/attachments/:aid/content", pw.content(false), technician, customer, dispatcher, admin)
	private("GET", "/jobs/:id/attachments/:aid/thumbnail", pw.content(true), technician, customer, dispatcher, admin)
	private("POST", "/jobs/:id/signoff", pw.signOff, technician)
	private("GET", "/jobs/:id/signoff", pw.getSignOff, technician, customer, dispatcher, admin)
	private("POST", "/jobs/:id/signoff/code", pw.resendCode, technician)
	private("GET", "/jobs/:id/report", pw.report, technician, customer, dispatcher, admin)
	private("GET", "/jobs/:id/report.pdf", pw.reportPDF, technician, customer, dispatcher, admin)
	private("GET", "/reports/signoffs", pw.signOffs, dispatcher, admin)

	private("GET", "/board", con.board, dispatcher)
	private("POST", "/dispatch/optimize", con.optimize, dispatcher)
	private("GET", "/audit", con.audit, dispatcher, admin)
	private("GET", "/kpis", as.kpis, dispatcher, admin)
	private("GET", "/events", con.events, dispatcher)

	private("GET", "/pricebook", mon.priceBook, technician, dispatcher, admin)
	private("POST", "/pricebook", mon.updatePriceBook, admin)
	private("POST", "/jobs/:id/quotes", mon.createQuote, technician, dispatcher)
	private("GET", "/bookings/:id/quotes", mon.bookingQuotes, customer, technician, dispatcher)
	private("GET", "/quotes/:id", mon.getQuote, customer, technician, dispatcher)
	private("POST", "/quotes/:id/approve", mon.decideQuote(true), customer, dispatcher)
	private("POST", "/quotes/:id/decline", mon.decideQuote(false), customer, dispatcher)
	private("GET", "/invoices", mon.listInvoices, customer, dispatcher, admin)
	private("GET", "/invoices/:id", mon.getInvoice, customer, dispatcher, admin) // :id may end in .pdf
	private("POST", "/invoices/:id/payments", mon.recordPayment, technician, dispatcher, admin)
	private("POST", "/invoices/:id/credit-notes", mon.creditNote, dispatcher, admin)
	private("GET", "/kpis/money", mon.kpis, dispatcher, admin)
	private("GET", "/settlements", mon.settlements, dispatcher, admin)
	private("POST", "/settlements/:period/close", mon.closePeriod, dispatcher, admin)
	private("POST", "/settlements/claims/:id/reject", mon.changeClaim(true), dispatcher, admin)
	private("POST", "/settlements/claims/:id/resubmit", mon.changeClaim(false), dispatcher, admin)

	private("POST", "/parts", pt.savePart, admin)
	private("GET", "/parts", pt.listParts, technician, dispatcher, admin)
	private("POST", "/parts/import", pt.importParts, admin)
	private("POST", "/parts/faults", pt.addFault, admin)
	private("GET", "/parts/faults", pt.listFaults, technician, dispatcher, admin)
	private("DELETE", "/parts/faults/:id", pt.deleteFault, admin)
	private("POST", "/stock/locations", pt.addWarehouse, admin)
	private("GET", "/stock/locations", pt.listLocations, technician, dispatcher, admin)
	private("GET", "/stock", pt.stock, technician, dispatcher, admin)
	private("POST", "/stock/moves", pt.recordMove, technician, dispatcher, admin)
	private("PUT", "/stock/thresholds", pt.setThreshold, dispatcher, admin)
	private("PUT", "/jobs/:id/parts", pt.putJobParts, technician, dispatcher)
	private("GET", "/jobs/:id/parts", pt.getJobParts, technician, dispatcher, admin)
	private("POST", "/jobs/:id/pickup", pt.pickUp, technician, dispatcher)
	private("POST", "/part-requests", pt.createPartRequest, technician, dispatcher)
	private("GET", "/part-requests", pt.listPartRequests, technician, dispatcher, admin)
	private("PATCH", "/part-requests/:id", pt.updatePartRequest, dispatcher, admin)
}

// The handlers of each area's routes, over the server's dependencies.
type (
	intakeHandlers     struct{ Deps } // purchases, slots, bookings
	lifecycleHandlers  struct{ Deps } // the technician's jobs; devices and inboxes
	consoleHandlers    struct{ Deps } // the dispatcher's console: board, map, overrides, technicians, events
	aftersalesHandlers struct{ Deps } // feedback, complaints, KPIs
	proofHandlers      struct{ Deps } // proof of work: checklists, attachments, sign-off, service reports
	moneyHandlers      struct{ Deps } // price book, quotes, invoices, payments, warranty settlement
)
