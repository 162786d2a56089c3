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
	h := &handlers{Deps: d}
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
	public("GET", "/console", web.Console)
	public("GET", "/console/*", web.Console)

	private("POST", "/purchases", h.createPurchase, customer, dispatcher)
	private("GET", "/purchases", h.listPurchases, customer, dispatcher)
	private("POST", "/purchases/:id/extended-warranty", h.extendWarranty, dispatcher, admin)

	private("GET", "/slots", h.slots, customer, dispatcher)
	private("POST", "/bookings", h.createBooking, customer, dispatcher)
	private("GET", "/bookings", h.listBookings, customer, dispatcher)
	private("GET", "/bookings/:id", h.getBooking, customer, technician, dispatcher)
	private("POST", "/bookings/:id/cancel", h.cancelBooking, customer, dispatcher)
	private("POST", "/bookings/:id/reschedule", h.rescheduleBooking, customer, dispatcher)
	private("POST", "/bookings/:id/feedback", h.feedback, customer)

	private("POST", "/complaints", h.createComplaint, customer, dispatcher)
	private("GET", "/complaints", h.listComplaints, customer, dispatcher)
	private("PATCH", "/complaints/:id", h.updateComplaint, dispatcher)

	private("POST", "/technicians", h.createTechnician, admin, dispatcher)
	private("GET", "/technicians", h.listTechnicians, admin, dispatcher)
	private("PATCH", "/technicians/:id", h.updateTechnician, admin, dispatcher)
	private("POST", "/technicians/:id/unavailable", h.technicianUnavailable, dispatcher)

	private("PUT", "/technicians/me/devices", h.putDevice, technician)
	private("DELETE", "/technicians/me/devices/:token", h.deleteDevice, technician)
	private("GET", "/technicians/me/jobs", h.agenda, technician)
	private("GET", "/technicians/me/inbox", h.inbox, technician)
	private("PUT", "/technicians/me/location", h.putLocation, technician)
	private("PUT", "/customers/me/devices", h.putDevice, customer)
	private("DELETE", "/customers/me/devices/:token", h.deleteDevice, customer)
	private("GET", "/customers/me/inbox", h.inbox, customer)
	private("PUT", "/dispatchers/me/devices", h.putDevice, dispatcher)
	private("DELETE", "/dispatchers/me/devices/:token", h.deleteDevice, dispatcher)
	private("GET", "/dispatchers/me/inbox", h.inbox, dispatcher)
	private("GET", "/geo/cells", h.geoCells, dispatcher)

	private("POST", "/jobs/:id/accept", h.acceptJob, technician)
	private("POST", "/jobs/:id/decline", h.declineJob, technician)
	private("POST", "/jobs/:id/status", h.jobStatus, technician)
	private("POST", "/jobs/:id/assign", h.assignJob, dispatcher)
	private("POST", "/jobs/:id/unassign", h.unassignJob, dispatcher)
	private("POST", "/jobs/:id/pin", h.pinJob(true), dispatcher)
	private("POST", "/jobs/:id/unpin", h.pinJob(false), dispatcher)

	private("GET", "/board", h.board, dispatcher)
	private("POST", "/dispatch/optimize", h.optimize, dispatcher)
	private("GET", "/audit", h.audit, dispatcher, admin)
	private("GET", "/kpis", h.kpis, dispatcher, admin)
	private("GET", "/events", h.events, dispatcher)
}

type handlers struct{ Deps }
