package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xpflow/xpflow/internal/sim"
	"github.com/xpflow/xpflow/internal/state"
)

// secretSpec is a campaign in root/spec whose prompt reads path through
// file(); root/outside.txt holds the API key, as /proc/self/environ does
// for a real apply. Tests run in root, as a user would.
func secretSpec(t *testing.T, path string) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "spec"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "outside.txt", "XPILOT_API_KEY="+testKey+"\x00HOME=/root")
	writeFile(t, root, "spec/keyed.txt", "my key: "+testKey)
	writeFile(t, root, "spec/main.xp.hcl", `text "hook" {
  model  = "openai/gpt-4o"
  prompt = "hi ${file("`+path+`")}"
}

output "hook" {
  value = text.hook.content
}

output "prompt" {
  value = "hi ${file("`+path+`")}"
}
`)
	t.Chdir(root)
	return root
}

// TestFileFunctionCannotReadTheKey is the issue's report: prompt = "hi
// ${file("/proc/self/environ")}" put XPILOT_API_KEY=... into the state,
// the report, output, output -json and show -json. Reading outside the
// spec directory is now refused with a diagnostic naming file and line.
func TestFileFunctionCannotReadTheKey(t *testing.T) {
	for _, path := range []string{"/proc/self/environ", "../outside.txt"} {
		t.Run(path, func(t *testing.T) {
			run, env := startSim(t)
			secretSpec(t, path)
			got := invocation{args: []string{"apply", "-auto-approve", "spec"}, env: env}.run(t)
			if got.code != ExitError {
				t.Fatalf("apply exited %d, want %d\n%s", got.code, ExitError, got.stderr)
			}
			for _, want := range []string{"main.xp.hcl line 3", path, "-allow-outside-files"} {
				if !strings.Contains(got.stderr, want) {
					t.Errorf("stderr does not name %q:\n%s", want, got.stderr)
				}
			}
			if n := generates(run); n != 0 {
				t.Errorf("%d generate requests sent, want none", n)
			}
		})
	}
}

// TestKeyReadByASpecIsRedactedEverywhere: when the user lifts the
// confinement, keeps the key in a file inside the spec directory, types it
// into a prompt, or a model's answer repeats it, the key is replaced by
// [REDACTED] before it can reach the request, the state, the report or any
// output; the state's record says where it was found, and a warning
// points at the attribute that held it.
func TestKeyReadByASpecIsRedactedEverywhere(t *testing.T) {
	for name, tc := range map[string]struct {
		path         string
		flags        []string
		typed        bool // the prompt holds the key itself, not a file() of it
		echo         bool // the model's answer repeats the key
		wantRedacted []string
	}{
		"outside, allowed":    {path: "../outside.txt", flags: []string{"-allow-outside-files"}, wantRedacted: []string{"prompt"}},
		"inside":              {path: "keyed.txt", wantRedacted: []string{"prompt"}},
		"typed into the spec": {path: "keyed.txt", typed: true, wantRedacted: []string{"prompt"}},
		"echoed by the model": {path: "plain.txt", echo: true, wantRedacted: []string{state.RedactedAnswer}},
	} {
		t.Run(name, func(t *testing.T) {
			var opts []sim.Option
			if tc.echo {
				opts = append(opts, sim.WithFaults(sim.Faults{EchoKeyInText: true}))
			}
			run, env := startSim(t, opts...)
			root := secretSpec(t, tc.path)
			writeFile(t, root, "spec/plain.txt", "no secret here")
			if tc.typed {
				writeFile(t, root, "spec/main.xp.hcl", "text \"hook\" {\n  model  = \"openai/gpt-4o\"\n  prompt = \"hi "+testKey+"\"\n}\n\noutput \"hook\" {\n  value = text.hook.content\n}\n")
			}
			var outputs []string
			for i, args := range [][]string{
				append(append([]string{"apply", "-auto-approve"}, tc.flags...), "spec"),
				append([]string{"output", "-dir", "spec"}, tc.flags...),
				append([]string{"output", "-json", "-dir", "spec"}, tc.flags...),
				{"show", "-json", "spec"},
				{"report", "spec"},
			} {
				got := invocation{args: args, env: env}.run(t) // run fails the test if stdout or stderr shows the key
				if got.code != 0 {
					t.Fatalf("xpflow %s exited %d\n%s\n%s", strings.Join(args, " "), got.code, got.stdout, got.stderr)
				}
				outputs = append(outputs, got.stdout)
				if i == 0 && !tc.echo {
					for _, want := range []string{"API key replaced", "main.xp.hcl line 3", "text.hook", "[REDACTED]"} {
						if !strings.Contains(got.stderr+got.stdout, want) {
							t.Errorf("apply does not warn with %q:\nstdout:\n%s\nstderr:\n%s", want, got.stdout, got.stderr)
						}
					}
				}
			}
			if !strings.Contains(strings.Join(outputs, ""), "[REDACTED]") {
				t.Errorf("no output shows [REDACTED] where the key was:\n%s", strings.Join(outputs, "\n"))
			}
			for _, r := range run.Server.Log() {
				if strings.Contains(string(r.Body), testKey) {
					t.Errorf("a request body sent the key: %s", r.Body)
				}
			}
			st, err := state.Load(filepath.Join(root, "spec", "xpflow.state.json"))
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Assets["text.hook"].Redacted; !slices.Equal(got, tc.wantRedacted) {
				t.Errorf("the state records the key found in %v, want %v", got, tc.wantRedacted)
			}
			scanTree(t, filepath.Join(root, "spec"), testKey, "keyed.txt", "main.xp.hcl")
		})
	}
}

// scanTree fails the test for every file under dir (except those named
// skip, which the user wrote) whose bytes contain secret.
func scanTree(t *testing.T, dir, secret string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || slices.Contains(skip, d.Name()) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the API key", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutputDirRootIsRefused is the report: output_dir = "/" made
// apply walk the whole file system looking for leftover downloads, and
// fail on /proc. It is refused before anything is sent, even with
// -allow-outside-files; a directory outside the spec needs that flag.
func TestOutputDirRootIsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		dir   string
		flags []string
		want  string
		code  int
	}{
		"root":                  {dir: "/", want: "the root of the file system", code: ExitError},
		"root, allowed outside": {dir: "/", flags: []string{"-allow-outside-files"}, want: "the root of the file system", code: ExitError},
		"outside":               {dir: "../elsewhere", want: "-allow-outside-files", code: ExitError},
		"outside, allowed":      {dir: "../elsewhere", flags: []string{"-allow-outside-files"}, code: 0},
	} {
		t.Run(name, func(t *testing.T) {
			run, env := startSim(t)
			root, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(root, "spec"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, root, "spec/main.xp.hcl", "xpflow {\n  output_dir = \""+tc.dir+"\"\n}\n\nimage \"hero\" {\n  model  = \"bytedance/seedream-4.5\"\n  prompt = \"p\"\n}\n")
			t.Chdir(root)
			args := append(append([]string{"apply", "-auto-approve"}, tc.flags...), "spec")
			got := invocation{args: args, env: env}.run(t)
			if got.code != tc.code || !strings.Contains(got.stderr, tc.want) {
				t.Fatalf("exit %d, want %d; stderr does not say %q:\n%s", got.code, tc.code, tc.want, got.stderr)
			}
			if tc.code != 0 {
				if !strings.Contains(got.stderr, "main.xp.hcl line 2") {
					t.Errorf("the diagnostic does not point at main.xp.hcl line 2:\n%s", got.stderr)
				}
				if n := generates(run); n != 0 {
					t.Errorf("%d generate requests sent, want none", n)
				}
				return
			}
			if files, _ := filepath.Glob(filepath.Join(root, "elsewhere", "image.hero", "*")); len(files) != 1 {
				t.Errorf("files under ../elsewhere/image.hero: %v, want the one image", files)
			}
		})
	}
}
