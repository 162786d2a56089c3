package lifecycle

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fieldfix/fieldfix/dispatch"
)

// RegisterDevice records the caller's FCM token. A token registered before is refreshed for its
// owner; a token active for another person is refused (conflict device_token_taken), since an FCM
// token is one app install: pushes for its owner must not silently go to someone else (nor
// theirs stop). It moves only once its owner removed it or FCM disabled it.
func (s *Service) RegisterDevice(ctx context.Context, a dispatch.Actor, token, platform, appVersion string) (dispatch.Device, error) {
	kind := string(a.Role)
	if a.Role != dispatch.RoleTechnician && a.Role != dispatch.RoleCustomer && a.Role != dispatch.RoleDispatcher {
		return dispatch.Device{}, dispatch.Forbidden("a %s has no devices", a.Role)
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > 4096 {
		return dispatch.Device{}, dispatch.Invalid("token", "invalid_token", "token must be the FCM registration token (1 to 4096 characters)")
	}
	if !slices.Contains([]string{"android", "ios", "web"}, platform) {
		return dispatch.Device{}, dispatch.Invalid("platform", "invalid_platform", "platform must be android, ios or web; got %q", platform)
	}
	if len(appVersion) > 100 {
		return dispatch.Device{}, dispatch.Invalid("app_version", "too_long", "app_version is longer than 100 characters")
	}
	if a.Role == dispatch.RoleTechnician {
		if _, err := s.technicianFor(ctx, s.Store, a); err != nil {
			return dispatch.Device{}, err
		}
	}
	now := s.Now()
	return s.Store.UpsertDevice(ctx, dispatch.Device{OwnerKind: kind, OwnerSubject: a.Subject, Token: token, Platform: platform,
		AppVersion: appVersion, Active: true, CreatedAt: now, LastSeenAt: now})
}

// RemoveDevice forgets one of the caller's tokens.
func (s *Service) RemoveDevice(ctx context.Context, a dispatch.Actor, token string) error {
	return s.Store.DeleteDevice(ctx, string(a.Role), a.Subject, token)
}

// Inbox lists the caller's notifications, newest first.
func (s *Service) Inbox(ctx context.Context, a dispatch.Actor, page dispatch.Page) ([]dispatch.Notification, error) {
	if a.Role == dispatch.RoleTechnician {
		if _, err := s.technicianFor(ctx, s.Store, a); err != nil {
			return nil, err
		}
	}
	return s.Store.ListNotifications(ctx, string(a.Role), a.Subject, page.Norm())
}

// DisableStaleDevices turns off tokens not seen for maxAge (FCM drops them after ~270 days; 30 is ours).
func (s *Service) DisableStaleDevices(ctx context.Context, maxAge time.Duration) (int64, error) {
	return s.Store.DisableStaleDevices(ctx, s.Now().Add(-maxAge))
}
