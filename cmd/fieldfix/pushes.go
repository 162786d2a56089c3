package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fieldfix/fieldfix/dispatch"
	"github.com/fieldfix/fieldfix/dispatch/fcm"
	"github.com/fieldfix/fieldfix/dispatch/postgres"
	"github.com/fieldfix/fieldfix/dispatch/push"
)

// pushSetup chooses how notifications leave the server: FCM when FIREBASE_PROJECT_ID and
// credentials (GOOGLE_APPLICATION_CREDENTIALS) or an endpoint (FIELDFIX_FCM_ENDPOINT) are set,
// through the outbox and its worker; otherwise the log, and the in-app inbox alone. It returns
// the notifier, the worker (nil without FCM) and a line for the operator.
func pushSetup(ctx context.Context, getenv func(string) string, store *postgres.Store, m dispatch.Metrics, log *slog.Logger) (dispatch.Notifier, *push.Worker, string, error) {
	project, creds, endpoint := getenv("FIREBASE_PROJECT_ID"), getenv("GOOGLE_APPLICATION_CREDENTIALS"), getenv("FIELDFIX_FCM_ENDPOINT")
	if project == "" || (creds == "" && endpoint == "") {
		return dispatch.LogNotifier{Log: log}, nil,
			"pushes: FCM not configured (FIREBASE_PROJECT_ID + GOOGLE_APPLICATION_CREDENTIALS); notifications go to the log and the in-app inboxes", nil
	}
	client, err := fcm.NewClient(ctx, fcm.Config{ProjectID: project, CredentialsFile: creds, Endpoint: endpoint})
	if err != nil {
		return nil, nil, "", err
	}
	// FIELDFIX_PUSH_LEASE: how long a worker may go without a heartbeat before another takes its
	// leases (15 s); a worker that died loses them at once (its database session ended).
	w := &push.Worker{Store: store.Pushes(), Sender: client, Log: log, Metrics: m, Name: replicaName(),
		Lease: durationEnv(getenv, "FIELDFIX_PUSH_LEASE", 0)}
	where := "Firebase Cloud Messaging"
	if endpoint != "" {
		where = endpoint
	}
	return dispatch.Outbox{}, w, fmt.Sprintf("pushes: through the outbox to %s (project %s)", where, project), nil
}
