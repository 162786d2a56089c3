package fcm_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/dispatch/fcm"
	"github.com/fieldfix/fieldfix/dispatch/fcm/fcmtest"
)

func TestNewClientConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := fcm.NewClient(ctx, fcm.Config{Endpoint: "http://127.0.0.1:1"}); err == nil {
		t.Error("no project id: want an error")
	}
	if _, err := fcm.NewClient(ctx, fcm.Config{ProjectID: project, CredentialsFile: t.TempDir() + "/missing.json"}); err == nil {
		t.Error("missing credentials file: want an error")
	}
	for in, want := range map[string]string{
		"http://127.0.0.1:9000":           "http://127.0.0.1:9000/v1",
		"http://127.0.0.1:9000/":          "http://127.0.0.1:9000/v1",
		"http://127.0.0.1:9000/v1":        "http://127.0.0.1:9000/v1",
		"https://staging.example/fcm/v1/": "https://staging.example/fcm/v1",
	} {
		if got := fcm.EndpointURL(in); got != want {
			t.Errorf("EndpointURL(%q) = %q, want %q", in, got, want)
		}
	}

	// Endpoint given with "/v1" works the same.
	fake := fcmtest.NewServer(project)
	defer fake.Close()
	c, err := fcm.NewClient(ctx, fcm.Config{ProjectID: project, Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	p := offer()
	p.OfferExpiresAt = time.Now().Add(time.Minute)
	if r := c.Send(ctx, []string{"tok"}, p)[0]; r.Outcome != fcm.Delivered {
		t.Fatalf("%+v", r)
	}
	if c.Send(ctx, nil, p) != nil {
		t.Fatal("no tokens: want no results")
	}
}

func TestNewClientWithCredentialsFileAuthenticates(t *testing.T) {
	fake := fcmtest.NewServer(project)
	defer fake.Close()
	creds := t.TempDir() + "/service-account.json"
	if err := fake.WriteServiceAccount(creds); err != nil {
		t.Fatal(err)
	}
	c, err := fcm.NewClient(context.Background(), fcm.Config{ProjectID: project, CredentialsFile: creds, Endpoint: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := offer()
	p.OfferExpiresAt = time.Now().Add(time.Minute)
	if r := c.Send(context.Background(), []string{"tok"}, p)[0]; r.Outcome != fcm.Delivered {
		t.Fatalf("%+v", r)
	}
	if a := fake.Messages()[0].Header.Get("Authorization"); a != "Bearer "+fcmtest.AccessToken {
		t.Fatalf("Authorization %q, want the fake's access token", a)
	}

	// Credentials of another kind are refused before any request.
	other := t.TempDir() + "/external.json"
	if err := os.WriteFile(other, []byte(`{"type":"external_account"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fcm.NewClient(context.Background(), fcm.Config{ProjectID: project, CredentialsFile: other}); err == nil {
		t.Fatal("external_account credentials: want an error")
	}
}
