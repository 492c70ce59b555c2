package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/api"
)

func TestRelatedOriginsDocument(t *testing.T) {
	t.Parallel()
	origins := []string{"https://login.fabrikam.com", "https://www.tailspin.co.uk"}
	with := api.New(nil, api.Options{RelatedOrigins: origins, APIKeys: []string{"0123456789abcdef"}})
	without := api.New(nil, api.Options{})
	for _, path := range []string{api.RelatedOriginsPath, api.RelatedOriginsFunctionPath} {
		t.Run(path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			with.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			var doc struct {
				Origins []string `json:"origins"`
			}
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil || !slices.Equal(doc.Origins, origins) {
				t.Fatalf("GET %s = %d %s; want 200 with the origins (and no key needed)", path, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			rec = httptest.NewRecorder()
			without.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusNotFound {
				t.Errorf("GET %s without related origins = %d, want 404", path, rec.Code)
			}
			rec = httptest.NewRecorder()
			with.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("POST %s = %d, want 405", path, rec.Code)
			}
		})
	}
}
