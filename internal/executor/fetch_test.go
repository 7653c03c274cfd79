package executor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
)

func TestDownloadRules(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch r.URL.Path {
		case "/big.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(make([]byte, 4096)) // chunked: no Content-Length to refuse early
		case "/flaky.png":
			if n == 1 {
				http.Error(w, "try again", http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte("png bytes"))
		}
	}))
	defer srv.Close()
	tests := map[string]struct {
		url       string
		wantErr   string // "" for success
		wantCalls int32
	}{
		"over the size cap":       {url: srv.URL + "/big.png", wantErr: "over the 1024-byte limit", wantCalls: 1},
		"file URLs are refused":   {url: "file:///etc/passwd", wantErr: "only http and https", wantCalls: 0},
		"other schemes refused":   {url: "ftp://example.com/a.png", wantErr: "only http and https", wantCalls: 0},
		"a transient error again": {url: srv.URL + "/flaky.png", wantCalls: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			calls.Store(0)
			out := t.TempDir()
			d := &downloader{http: srv.Client(), clock: clock.Scaled(time.Now(), 1000), maxBytes: 1024,
				attempts: 3, specDir: out, outDir: out}
			outs, err := d.fetch(context.Background(), `image.hero["a"]`, []string{tc.url}, nil)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("fetch: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("fetch error %v, want one saying %q", err, tc.wantErr)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("server saw %d requests, want %d (permanent failures are not retried)", got, tc.wantCalls)
			}
			var files []string
			filepath.Walk(out, func(p string, fi os.FileInfo, _ error) error {
				if fi != nil && !fi.IsDir() {
					files = append(files, filepath.Base(p))
				}
				return nil
			})
			if tc.wantErr != "" && len(files) != 0 {
				t.Errorf("a refused download left files: %v", files)
			}
			if tc.wantErr == "" && (len(outs) != 1 || outs[0].Bytes != int64(len("png bytes")) || len(files) != 1) {
				t.Errorf("outputs %+v, files %v; want one 9-byte file", outs, files)
			}
		})
	}
}
