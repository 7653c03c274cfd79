package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
)

func TestBackendBlock(t *testing.T) {
	tests := map[string]struct {
		src         string
		want        *Backend
		wantSummary string
		wantLine    int
	}{
		"none": {src: `xpflow { output_dir = "o" }`},
		"postgres": {
			src: `variable "db" { default = "host=/tmp/s dbname=x" }
xpflow {
  backend "postgres" {
    conn_str = var.db
    campaign = "spring-${"launch"}"
  }
}`,
			want: &Backend{Type: "postgres", ConnStr: "host=/tmp/s dbname=x", Campaign: "spring-launch"},
		},
		"conn from the environment only": {
			src:  "xpflow {\n  backend \"postgres\" { campaign = \"c\" }\n}",
			want: &Backend{Type: "postgres", Campaign: "c"},
		},
		"unsupported": {
			src:         "xpflow {\n  backend \"s3\" { campaign = \"c\" }\n}",
			wantSummary: "Unsupported backend", wantLine: 2,
		},
		"two": {
			src:         "xpflow {\n  backend \"postgres\" { campaign = \"a\" }\n  backend \"postgres\" { campaign = \"b\" }\n}",
			wantSummary: "Duplicate backend block", wantLine: 3,
		},
		"no campaign": {
			src:         "xpflow {\n  backend \"postgres\" { conn_str = \"x\" }\n}",
			wantSummary: "Missing required argument", wantLine: 2,
		},
		"empty campaign": {
			src:         "xpflow {\n  backend \"postgres\" {\n    campaign = \"\"\n  }\n}",
			wantSummary: "Invalid campaign name", wantLine: 3,
		},
		"unknown argument": {
			src:         "xpflow {\n  backend \"postgres\" {\n    campaign = \"c\"\n    password = \"x\"\n  }\n}",
			wantSummary: "Unsupported argument", wantLine: 4,
		},
		"conn_str not a string": {
			src:         "xpflow {\n  backend \"postgres\" {\n    campaign = \"c\"\n    conn_str = [1]\n  }\n}",
			wantSummary: "Invalid setting value", wantLine: 4,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeSpec(t, map[string]string{"main.xp.hcl": tc.src + "\ntext \"a\" { prompt = \"p\" }\n"})
			s, diags := Load(dir, LoadOptions{})
			if tc.wantSummary != "" {
				var found bool
				for _, d := range diags {
					if d.Summary == tc.wantSummary && d.Subject != nil && d.Subject.Start.Line == tc.wantLine {
						found = true
					}
				}
				if !found {
					t.Errorf("want %q on line %d, got %v", tc.wantSummary, tc.wantLine, diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if diff := cmp.Diff(tc.want, s.Settings.Backend, cmpopts.IgnoreTypes(hcl.Range{})); diff != "" {
				t.Errorf("backend (-want +got):\n%s", diff)
			}
		})
	}
}
