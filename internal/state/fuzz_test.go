package state

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzLoad writes arbitrary bytes to a state file and loads it: Load must
// not panic, and a state it accepts must encode, decode and encode again to
// the same state and the same bytes.
func FuzzLoad(f *testing.F) {
	full, err := Encode(fullState())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	for _, tc := range corruptFiles {
		f.Add([]byte(tc.data))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "xpflow.state")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := Load(path)
		if err != nil {
			if st != nil {
				t.Fatalf("Load returned a state and an error %v", err)
			}
			return
		}
		enc, err := Encode(st)
		if err != nil {
			t.Fatalf("accepted state does not encode: %v", err)
		}
		if err := os.WriteFile(path, enc, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := Load(path)
		if err != nil {
			t.Fatalf("re-encoded state does not load: %v\n%s", err, enc)
		}
		if diff := cmp.Diff(st, again); diff != "" {
			t.Fatalf("state changed over encode and load (-first +second):\n%s", diff)
		}
		enc2, err := Encode(again)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(enc), string(enc2)); diff != "" {
			t.Fatalf("encoding is not stable (-first +second):\n%s", diff)
		}
	})
}
