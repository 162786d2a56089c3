package api_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/fieldfix/fieldfix/api"
)

// TestOpenAPICoversEveryRoute fails when a registered route is missing from /openapi.json.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	b := setup(t)
	r := b.do("GET", "/openapi.json", "", nil)
	if r.Status != 200 {
		t.Fatalf("openapi.json: %d", r.Status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	param := regexp.MustCompile(`:(\w+)`)
	seen := map[string]bool{}
	for _, rt := range api.Routes() {
		path := strings.ReplaceAll(param.ReplaceAllString(rt.Path, "{$1}"), "*", "{file}")
		seen[path+" "+strings.ToLower(rt.Method)] = true
		if _, ok := doc.Paths[path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", rt.Method, path)
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" && !seen[path+" "+m] {
				t.Errorf("openapi.json documents %s %s, which the server does not serve", m, path)
			}
		}
	}
	// Every $ref must resolve.
	refs := regexp.MustCompile(`"\$ref":\s*"#/components/(\w+)/(\w+)"`).FindAllStringSubmatch(string(r.Body), -1)
	var comps map[string]map[string]json.RawMessage
	var whole struct {
		Components map[string]map[string]json.RawMessage `json:"components"`
	}
	_ = json.Unmarshal(r.Body, &whole)
	comps = whole.Components
	for _, m := range refs {
		if _, ok := comps[m[1]][m[2]]; !ok {
			t.Errorf("dangling $ref #/components/%s/%s", m[1], m[2])
		}
	}
}
