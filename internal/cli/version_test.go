package cli

import (
	"encoding/json"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestVersionFromBuildInfo: what 'version' prints comes from the build
// information the toolchain stamps, whatever the checkout the test runs
// in (CI builds with -buildvcs=false, so the binary carries no revision).
func TestVersionFromBuildInfo(t *testing.T) {
	const rev = "4efcaf3d0c8e2b5f6a7c1d9e0f1a2b3c4d5e6f70"
	stamp := func(settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/xpflow/xpflow", Version: "(devel)"}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	tagged := stamp("vcs.revision", rev, "vcs.time", "2026-12-01T11:00:00Z", "vcs.modified", "false")
	tagged.Main.Version = "v1.2.3"
	tests := map[string]struct {
		bi       *debug.BuildInfo
		want     string
		wantJSON string
	}{
		"clean checkout": {
			bi:       stamp("-buildmode", "exe", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-01T11:00:00Z", "vcs.modified", "false"),
			want:     "xpflow (devel), revision " + rev + ", committed 2026-12-01T11:00:00Z\nbuilt with go1.26.8\n",
			wantJSON: `{"version":"(devel)","revision":"` + rev + `","time":"2026-12-01T11:00:00Z","go_version":"go1.26.8"}`,
		},
		"modified checkout": {
			bi:       stamp("vcs.revision", rev, "vcs.time", "2026-12-01T11:00:00Z", "vcs.modified", "true"),
			want:     "xpflow (devel), revision " + rev + " (modified), committed 2026-12-01T11:00:00Z\nbuilt with go1.26.8\n",
			wantJSON: `{"version":"(devel)","revision":"` + rev + `","time":"2026-12-01T11:00:00Z","modified":true,"go_version":"go1.26.8"}`,
		},
		"revision without a time": {
			bi:       stamp("vcs.revision", rev),
			want:     "xpflow (devel), revision " + rev + "\nbuilt with go1.26.8\n",
			wantJSON: `{"version":"(devel)","revision":"` + rev + `","go_version":"go1.26.8"}`,
		},
		"go install of a tagged version": {
			bi:       tagged,
			want:     "xpflow v1.2.3, revision " + rev + ", committed 2026-12-01T11:00:00Z\nbuilt with go1.26.8\n",
			wantJSON: `{"version":"v1.2.3","revision":"` + rev + `","time":"2026-12-01T11:00:00Z","go_version":"go1.26.8"}`,
		},
		"built with -buildvcs=false": {
			bi:       stamp("-buildmode", "exe"),
			want:     "xpflow (devel)\nbuilt with go1.26.8\n",
			wantJSON: `{"version":"(devel)","go_version":"go1.26.8"}`,
		},
		"no main module version": {
			bi:       &debug.BuildInfo{GoVersion: "go1.26.8"},
			want:     "xpflow (devel)\nbuilt with go1.26.8\n",
			wantJSON: `{"version":"(devel)","go_version":"go1.26.8"}`,
		},
		"no build information": {
			want:     "xpflow (unknown)\nbuilt with an unknown Go version\n",
			wantJSON: `{"version":"(unknown)","go_version":""}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := versionFrom(tc.bi)
			if diff := cmp.Diff(tc.want, v.String()); diff != "" {
				t.Errorf("version (-want +got):\n%s", diff)
			}
			got, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantJSON, string(got)); diff != "" {
				t.Errorf("version -json (-want +got):\n%s", diff)
			}
		})
	}
}
