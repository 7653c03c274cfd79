package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := map[string]struct {
		state *State
	}{
		"full":      {state: fullState()},
		"new":       {state: New()},
		"nil maps":  {state: &State{Version: Version, Lineage: "l"}},
		"no models": {state: &State{Version: Version, Serial: 9, Lineage: "l", Assets: map[string]*Asset{}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data, err := Encode(tc.state)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.HasSuffix(data, []byte("}\n")) || !bytes.Contains(data, []byte("\n  \"version\": 1,")) {
				t.Errorf("Encode output is not 2-space indented with a trailing newline:\n%s", data)
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode(Encode(state)): %v\n%s", err, data)
			}
			want := tc.state.Clone()
			if want.Assets == nil {
				want.Assets = map[string]*Asset{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			again, err := Encode(got)
			if err != nil {
				t.Fatalf("Encode again: %v", err)
			}
			if diff := cmp.Diff(string(data), string(again)); diff != "" {
				t.Errorf("second encoding differs (-first +second):\n%s", diff)
			}
		})
	}
}

func TestEncodeOmitsEmpty(t *testing.T) {
	s := &State{Version: Version, Lineage: "l", Assets: map[string]*Asset{
		"a": {Address: "a", Kind: "image", RequestHash: "h", Status: StatusIntent},
	}}
	data, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	want := `{
  "version": 1,
  "serial": 0,
  "lineage": "l",
  "assets": {
    "a": {
      "address": "a",
      "kind": "image",
      "request_hash": "h",
      "status": "intent"
    }
  }
}
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
}

// corruptFiles are state files that Load and Open must refuse; wantErr is a
// fragment of the cause the error must name.
var corruptFiles = map[string]struct {
	data    string
	wantErr string
}{
	"empty":               {data: "", wantErr: "empty"},
	"whitespace":          {data: " \n\t", wantErr: "empty"},
	"truncated":           {data: `{"version": 1, "serial": 3, "lineage": "l", "assets": {"a": {"addr`, wantErr: "not valid JSON"},
	"binary junk":         {data: "\x00\xff\xfe\x89PNG\r\n\x1a\n\x00\x00", wantErr: "not valid JSON"},
	"trailing garbage":    {data: `{"version": 1, "lineage": "l", "assets": {}} x`, wantErr: "not valid JSON"},
	"two objects":         {data: `{"version": 1, "lineage": "l"} {"version": 1, "lineage": "l"}`, wantErr: "not valid JSON"},
	"array":               {data: `[1, 2]`, wantErr: "format version"},
	"no version":          {data: `{"serial": 3, "lineage": "l", "assets": {}}`, wantErr: `no "version" field`},
	"version zero":        {data: `{"version": 0, "lineage": "l", "assets": {}}`, wantErr: "unsupported format version 0"},
	"version two":         {data: `{"version": 2, "lineage": "l", "assets": {}}`, wantErr: "unsupported format version 2"},
	"version string":      {data: `{"version": "1", "lineage": "l", "assets": {}}`, wantErr: "format version"},
	"no lineage":          {data: `{"version": 1, "assets": {}}`, wantErr: "no lineage"},
	"unknown field":       {data: `{"version": 1, "lineage": "l", "assets": {}, "secrets": 1}`, wantErr: "unknown field"},
	"null asset":          {data: `{"version": 1, "lineage": "l", "assets": {"a": null}}`, wantErr: `asset "a" is null`},
	"address mismatch":    {data: `{"version": 1, "lineage": "l", "assets": {"a": {"address": "b", "status": "intent"}}}`, wantErr: `records address "b"`},
	"unknown status":      {data: `{"version": 1, "lineage": "l", "assets": {"a": {"address": "a", "status": "done"}}}`, wantErr: `unknown status "done"`},
	"wrong type":          {data: `{"version": 1, "lineage": "l", "serial": -1, "assets": {}}`, wantErr: "serial"},
	"bad time":            {data: `{"version": 1, "lineage": "l", "assets": {}, "balance": {"cents": 1, "at": "yesterday"}}`, wantErr: "yesterday"},
	"take without hash":   {data: `{"version": 1, "lineage": "l", "assets": {"a": {"address": "a", "status": "completed", "takes": [{"task_id": "t"}]}}}`, wantErr: `asset "a" take 1 has no request hash`},
	"null model stats":    {data: `{"version": 1, "lineage": "l", "assets": {}, "models": {"m": null}}`, wantErr: `model stats "m" are null`},
	"null latency sample": {data: `{"version": 1, "lineage": "l", "assets": {}, "models": {"m": {"latency": {"8": null}}}}`, wantErr: `latency "8" is null`},
}

func TestLoadRefusesCorruptFiles(t *testing.T) {
	for name, tc := range corruptFiles {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "xpflow.state")
			writeRaw(t, path, tc.data)
			got, err := Load(path)
			checkRefused(t, path, got, err, tc.wantErr)
			checkBytes(t, path, tc.data)
		})
	}
}

func TestOpenRefusesCorruptFiles(t *testing.T) {
	for name, tc := range corruptFiles {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "xpflow.state")
			writeRaw(t, path, tc.data)
			st, err := Open(path)
			if st != nil {
				st.Close()
			}
			checkRefused(t, path, st, err, tc.wantErr)
			checkBytes(t, path, tc.data)
			// The lock must be released after a refused Open.
			again, err := Open(path)
			if again != nil {
				again.Close()
			}
			if errors.As(err, new(*LockedError)) {
				t.Errorf("second Open after refused Open: %v; want the lock released", err)
			}
		})
	}
}

func TestLoadAndOpenRefuseDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xpflow.state")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := Load(path)
	checkRefused(t, path, st, err, "is a directory")
	store, err := Open(path)
	checkRefused(t, path, store, err, "is a directory")
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("after refused Open, %s: %v, %v; want the directory left in place", path, fi, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xpflow.state")
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load(missing) error = %v, want nil", err)
	}
	if got.Version != Version || got.Lineage == "" || len(got.Assets) != 0 || got.Serial != 0 {
		t.Errorf("Load(missing) = %+v, want a new empty state", got)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) created %s (stat error %v)", path, err)
	}
}

func checkRefused[T any](t *testing.T, path string, got *T, err error, wantErr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error (value %+v), want one naming %s and %q", got, path, wantErr)
	}
	if got != nil {
		t.Errorf("got value %+v alongside error, want nil", got)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, wantErr) {
		t.Errorf("got error %q, want it to name %s and %q", msg, path, wantErr)
	}
}

func writeRaw(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkBytes(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("%s changed (-want +got):\n%s", path, diff)
	}
}
