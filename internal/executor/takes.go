package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/xpflow/xpflow/internal/planner"
	"github.com/xpflow/xpflow/internal/state"
)

// keepTakes returns the earlier takes that next, about to replace prev in
// the state, must carry: prev's own, plus prev itself when next starts a
// new generation (its intent is not prev's) and prev was paid for (it has
// a task or its outputs). The outputs of a kept take are pinned to their
// content-addressed names first, so the new take's download, which writes
// the stable name, cannot overwrite them. When an intact output cannot be
// pinned, it returns an error: the new generation's intent is then never
// recorded, so its request is never sent and no download can overwrite
// the paid file.
func keepTakes(specDir string, prev, next *state.Asset) ([]state.Take, error) {
	if next.Takes != nil || prev == nil {
		return next.Takes, nil
	}
	takes := prev.Takes
	newGeneration := !next.IntentAt.Equal(prev.IntentAt)
	paid := prev.Status == state.StatusCompleted || (prev.Status == state.StatusSubmitted && prev.TaskID != "")
	if !newGeneration || !paid {
		return takes, nil
	}
	cp := prev.Clone()
	t := state.Take{RequestHash: cp.RequestHash, Request: cp.Request, TaskID: cp.TaskID, Outputs: cp.Outputs,
		Content: cp.Content, CostCents: cp.CostCents, CompletedAt: cp.CompletedAt}
	for i, o := range t.Outputs {
		f, err := pinTake(specDir, o)
		if err != nil {
			return nil, fmt.Errorf("keeping the previous take of %s: %w; the new generation is not sent, so that its download cannot overwrite the paid file", prev.Address, err)
		}
		t.Outputs[i].File = f
	}
	return append(append([]state.Take(nil), takes...), t), nil
}

// pinTake gives an intact output file a second, content-addressed name
// (ContentPath) and returns that name, relative like out.File. A file that
// is missing or changed keeps its recorded name: there is nothing left of
// the take to keep. An intact file that can get no second name is an
// error.
func pinTake(specDir string, out state.Output) (string, error) {
	if out.File == "" || !planner.FileIntact(specDir, out) {
		return out.File, nil
	}
	ca := filepath.ToSlash(ContentPath(filepath.FromSlash(out.File), out.SHA256))
	if ca == out.File {
		return ca, nil
	}
	src := filepath.Join(specDir, filepath.FromSlash(out.File))
	dst := filepath.Join(specDir, filepath.FromSlash(ca))
	err := os.Link(src, dst)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist) && planner.FileIntact(specDir, state.Output{File: ca, SHA256: out.SHA256, Bytes: out.Bytes}):
		// pinned before (an earlier replace that was not sent)
	default:
		// A file system without hard links, or something else sitting at
		// the content-addressed name (a name that can only mean these
		// bytes): copy, through a temp file and a rename.
		if cerr := copyFile(src, dst); cerr != nil {
			return "", fmt.Errorf("cannot give %s the name %s (link: %v; copy: %v)", out.File, ca, err, cerr)
		}
	}
	return ca, nil
}

// copyFile copies src to dst through a temp file and a rename.
func copyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, _, _, err = writeOutput(dst, f, 1<<62)
	return err
}

// expiredMessage says the one true thing about an output whose URL has
// expired: the generation is paid and recorded, the file cannot be
// fetched again, and what generating it again costs.
func expiredMessage(addr string, rec *state.Asset, err error) string {
	cost := "its price was not reported"
	if rec.CostCents != nil {
		c := *rec.CostCents
		cost = fmt.Sprintf("about $%d.%02d, what this one cost", c/100, c%100)
	}
	return fmt.Sprintf("the generation is paid and recorded (task %s), but the file was never downloaded and cannot be: %s, "+
		"the link has expired. To get the output, generate it again with -replace '%s' (%s)",
		rec.TaskID, strings.TrimPrefix(err.Error(), "download output "), addr, cost)
}
