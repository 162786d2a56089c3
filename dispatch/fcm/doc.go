// Package fcm pushes FieldFix notifications to phones through Firebase Cloud Messaging, using
// the Firebase Admin Go SDK (firebase.google.com/go/v4/messaging).
//
// It is a transport, not a queue. The dispatch core describes a notification as a Push (kind,
// job and booking ids, title, body, deep link, offer expiry); Build turns it into the SDK's
// message, and Client.Send sends it to a person's device tokens — Send for one token, SendEach
// (concurrent messages:send calls) for several — and answers one DeviceResult per token. Keeping
// the outbox, the retry schedule and the device registry elsewhere (the delivery worker and
// the Store) keeps this package free of the database and lets its tests run against the fake
// in fcmtest with the real SDK.
//
// The message. Data for the app: kind, job_id, booking_id, offer_expires_at (RFC 3339) and
// deep_link; a visible notification (title, body). Android: priority high, collapse key and
// notification tag "job-<id>" (or "booking-<id>"), so an offline phone gets only the latest
// news about a job; TTL the offer's remaining lifetime (an offer that arrives after it lapsed
// is worse than none), else Push.TTL, else DefaultTTL. APNs: apns-priority 10, apns-push-type
// alert, apns-expiration from the same TTL, apns-collapse-id, sound, and the kind as category.
// The marshalled message without its token must fit in 4096 bytes; a long body is cut with an
// ellipsis, anything else too big is ErrPayloadTooLarge.
//
// Outcomes. Every result is Delivered (with FCM's message name), Retryable (UNAVAILABLE,
// INTERNAL, QUOTA_EXCEEDED, timeouts and network errors, with the server's Retry-After read from
// errorutils.HTTPResponse), TokenInvalid (UNREGISTERED, or INVALID_ARGUMENT that names the
// registration token: disable the device, never retry), or Failed (anything else: a message FCM
// refuses, bad credentials, SENDER_ID_MISMATCH — retrying will not help, and disabling tokens on
// a project-wide misconfiguration would lose every device). A Push that cannot be built fails
// for every token without a request.
//
// Retries. The SDK itself retries a 503 or a network error up to 4 times within one call
// (at once, then 1 s, 2 s, 4 s, or Retry-After when that is at most 2 minutes), so a blip is
// absorbed inside Send; Send adds no loop of its own. What is still Retryable goes back to the
// caller's queue, which waits Backoff.Delay: exponential with jitter, capped, never shorter
// than Retry-After. Pass Send a context with a deadline so a slow FCM cannot hold a worker.
//
// Configuration. NewClient takes the project id, an optional credentials file
// (GOOGLE_APPLICATION_CREDENTIALS; service_account or authorized_user only) and an optional
// endpoint (FIELDFIX_FCM_ENDPOINT) given to option.WithEndpoint with "/v1" added when missing;
// an endpoint without credentials sends unauthenticated requests, for staging fakes and tests.
package fcm
