package api_test

import (
	"net/url"
	"testing"

	"github.com/fieldfix/fieldfix/dispatch"
)

// TestDeviceTokenTakeoverRefused: a token registered by technician A used to move to customer B
// on B's PUT /v1/customers/me/devices, and A's pushes stopped. A token active for another person
// now stays theirs (409 device_token_taken) until they remove it, or FCM disables it; its owner may
// register it again.
func TestDeviceTokenTakeoverRefused(t *testing.T) {
	b := setup(t)
	b.technician("tech-a", []string{"washer"}, 45.76, 4.84)
	tech := b.token(dispatch.RoleTechnician, "tech-a")
	cust := b.token(dispatch.RoleCustomer, "bea")
	device := map[string]any{"token": "fcm-shared-1", "platform": "android", "app_version": "3.1"}
	owner := func() (kind, sub string, active bool) {
		t.Helper()
		if err := b.db.Pool.QueryRow(t.Context(), "SELECT owner_kind, owner_subject, active FROM devices WHERE token = $1", device["token"]).
			Scan(&kind, &sub, &active); err != nil {
			t.Fatal(err)
		}
		return kind, sub, active
	}
	if r := b.do("PUT", "/v1/technicians/me/devices", tech, device); r.Status != 200 {
		t.Fatalf("technician's device: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.do("PUT", "/v1/customers/me/devices", cust, device), 409, "device_token_taken")
	wantProblem(t, b.do("PUT", "/v1/dispatchers/me/devices", b.token(dispatch.RoleDispatcher, "disp"), device), 409, "device_token_taken")
	if kind, sub, active := owner(); kind != "technician" || sub != "tech-a" || !active {
		t.Fatalf("the token moved to %s %s (active %v)", kind, sub, active)
	}
	// Its owner registers it again (a new app version): still theirs.
	device["app_version"] = "3.2"
	if r := b.do("PUT", "/v1/technicians/me/devices", tech, device); r.Status != 200 {
		t.Fatalf("owner's refresh: %d %s", r.Status, r.Body)
	}
	// Signed out on the phone: the app removes its registration; then the next person may have it.
	if r := b.do("DELETE", "/v1/technicians/me/devices/"+url.PathEscape("fcm-shared-1"), tech, nil); r.Status != 204 {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	if r := b.do("PUT", "/v1/customers/me/devices", cust, device); r.Status != 200 {
		t.Fatalf("after removal: %d %s", r.Status, r.Body)
	}
	if kind, sub, _ := owner(); kind != "customer" || sub != "bea" {
		t.Fatalf("owner %s %s", kind, sub)
	}
	if r := b.do("DELETE", "/v1/customers/me/devices/fcm-shared-1", cust, nil); r.Status != 204 {
		t.Fatalf("customer removes: %d %s", r.Status, r.Body)
	}
	// A token FCM disabled (the app was uninstalled) is nobody's any more.
	if r := b.do("PUT", "/v1/customers/me/devices", cust, device); r.Status != 200 {
		t.Fatalf("again: %d %s", r.Status, r.Body)
	}
	if _, err := b.db.Pool.Exec(t.Context(), "UPDATE devices SET active = false, disabled_reason = 'unregistered' WHERE token = $1", device["token"]); err != nil {
		t.Fatal(err)
	}
	if r := b.do("PUT", "/v1/technicians/me/devices", tech, device); r.Status != 200 {
		t.Fatalf("a disabled token: %d %s", r.Status, r.Body)
	}
	if kind, sub, active := owner(); kind != "technician" || sub != "tech-a" || !active {
		t.Fatalf("owner %s %s (active %v)", kind, sub, active)
	}
}
