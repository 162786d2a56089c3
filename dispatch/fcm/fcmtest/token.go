package fcmtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
)

// AccessToken is what the fake's OAuth token endpoint hands out for a service account.
const AccessToken = "fcmtest-access-token"

// WriteServiceAccount writes a service-account credentials file whose token_uri is this
// fake's /token, so the credentials-file path of a client can be exercised without Google.
func (s *Server) WriteServiceAccount(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	sa := map[string]string{
		"type":           "service_account",
		"project_id":     s.ProjectID,
		"private_key_id": "fcmtest",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "fcmtest@" + s.ProjectID + ".iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      s.URL + "/token",
	}
	b, err := json.MarshalIndent(sa, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// serveToken is a minimal OAuth 2.0 token endpoint for the JWT-bearer grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("assertion") == "" ||
		r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": AccessToken, "token_type": "Bearer", "expires_in": 3600,
	})
}
