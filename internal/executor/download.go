package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/state"
)

// DefaultMaxDownloadBytes caps one output file.
const DefaultMaxDownloadBytes = 1 << 30

// downloader fetches outputs from the CDN. Downloads are not API requests:
// they do not go through the rate limiter and never carry the API key.
type downloader struct {
	http     *http.Client
	clock    clock.Clock
	maxBytes int64
	attempts int
	specDir  string
	outDir   string
}

var (
	safeKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	// digestLike matches the endings that digest-suffixed names,
	// multi-output suffixes and content addresses (".<sha8>") have; keys
	// ending so are not used verbatim, so a verbatim name never equals a
	// derived one.
	digestLike = regexp.MustCompile(`-([0-9]+|[0-9a-f]{8})$|\.[0-9a-f]{8}$`)
	unsafeRun  = regexp.MustCompile(`[^A-Za-z0-9_-]+`)
)

// OutputPath derives the file of output i (of n) of an instance from its
// address alone, so reruns overwrite the same files and no for_each key can
// escape the output directory: keys that are not plain names (or that end
// like a derived name) are replaced by a digest-suffixed safe form, so
// distinct keys get distinct files. An instance without a key writes
// "output". Names differing only in case are distinct here but not on a
// case-insensitive file system.
func OutputPath(outDir, addr string, i, n int, ext string) string {
	block, key, keyed := addr, "", false
	if j := strings.IndexByte(addr, '['); j > 0 {
		block, key, keyed = addr[:j], strings.TrimSuffix(addr[j+1:], "]"), true
		if uq, err := strconv.Unquote(key); err == nil {
			key = uq
		}
	}
	name := key
	switch {
	case !keyed:
		name = "output"
	case !safeKey.MatchString(key) || digestLike.MatchString(key) || key == "output":
		sum := sha256.Sum256([]byte(key))
		cleaned := unsafeRun.ReplaceAllString(key, "_")
		if len(cleaned) > 40 {
			cleaned = cleaned[:40]
		}
		if cleaned = strings.Trim(cleaned, "_-"); cleaned == "" {
			cleaned = "key"
		}
		name = cleaned + "-" + hex.EncodeToString(sum[:4])
	}
	if n > 1 {
		name += "-" + strconv.Itoa(i+1)
	}
	return filepath.Join(outDir, block, name+ext)
}

// extFor picks a file extension from the URL path or the content type.
func extFor(rawURL, contentType string) string {
	if u, err := url.Parse(rawURL); err == nil {
		if e := strings.ToLower(path.Ext(u.Path)); len(e) > 1 && len(e) <= 5 && safeKey.MatchString("x"+e) {
			return e
		}
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		switch mt {
		case "image/png":
			return ".png"
		case "image/jpeg":
			return ".jpg"
		case "image/webp":
			return ".webp"
		case "video/mp4":
			return ".mp4"
		}
	}
	return ".bin"
}

// fetch downloads every url of addr, retrying each a few times, and returns
// the outputs with their files relative to the spec directory. want, when
// it has an entry for url i, is the sha256 the state records for it: bytes
// that hash otherwise are not accepted (a *HashMismatchError).
func (d *downloader) fetch(ctx context.Context, addr string, urls []string, want map[string]string) ([]state.Output, error) {
	outs := make([]state.Output, 0, len(urls))
	for i, u := range urls {
		var out state.Output
		var err error
		for attempt := 0; attempt < d.attempts; attempt++ {
			if attempt > 0 && !clock.Sleep(d.clock, time.Duration(attempt)*time.Second, ctx.Done()) {
				return nil, ctx.Err()
			}
			out, err = d.one(ctx, addr, i, len(urls), u, want[u])
			var perm *permanentError
			var mismatch *HashMismatchError
			if err == nil || errors.As(err, &perm) || errors.As(err, &mismatch) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("download output %d of %s: %w", i+1, addr, err)
		}
		outs = append(outs, out)
	}
	return outs, nil
}

// permanentError is a download failure that retrying will not fix.
// expired marks a CDN link that no longer serves the file.
type permanentError struct {
	msg     string
	expired bool
}

// urlExpired reports whether err is a download refused because the
// output URL has expired (403, 404 or 410 from the CDN).
func urlExpired(err error) bool {
	var perm *permanentError
	return errors.As(err, &perm) && perm.expired
}

func (e *permanentError) Error() string { return e.msg }

// HashMismatchError is a download whose bytes do not hash to the sha256
// the state records for its URL: the CDN served other bytes than those
// recorded. They are not accepted: the record keeps its hash, and the
// bytes are kept apart, in Quarantine, for the user to inspect.
type HashMismatchError struct {
	Addr       string
	URL        string
	Recorded   string // the sha256 the state holds
	Got        string // the sha256 of the bytes served
	Quarantine string // where the bytes served are, relative to the spec directory
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("%s: the bytes downloaded from %s have sha256 %s, but the state records sha256 %s for them; "+
		"not accepted: the record is unchanged, and the downloaded bytes are kept apart in %s", e.Addr, e.URL, e.Got, e.Recorded, e.Quarantine)
}

// sameSHA256 reports whether two sha256 hex digests are equal, with or
// without a "sha256:" prefix and whatever their case.
func sameSHA256(a, b string) bool {
	return strings.EqualFold(strings.TrimPrefix(a, "sha256:"), strings.TrimPrefix(b, "sha256:"))
}

// QuarantinePath is where downloaded bytes that do not match the recorded
// sha256 are kept: beside the output's own name, marked with the first 8
// hex digits of what they hash to (out/image.hero/output.png ->
// out/image.hero/output.mismatch-1a2b3c4d.png).
func QuarantinePath(stable, got string) string {
	ext := filepath.Ext(stable)
	return strings.TrimSuffix(stable, ext) + ".mismatch-" + got[:min(8, len(got))] + ext
}

func (d *downloader) one(ctx context.Context, addr string, i, n int, rawURL, want string) (state.Output, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return state.Output{}, &permanentError{msg: fmt.Sprintf("refusing output URL %q: only http and https URLs are downloaded", rawURL)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return state.Output{}, &permanentError{msg: err.Error()}
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return state.Output{}, err
	}
	defer resp.Body.Close()
	if err := checkResponse(resp, d.maxBytes); err != nil {
		return state.Output{}, err
	}
	stable := OutputPath(d.outDir, addr, i, n, extFor(rawURL, resp.Header.Get("Content-Type")))
	tmp, sum, size, err := writeFile(filepath.Dir(stable), resp.Body, d.maxBytes)
	if err != nil {
		return state.Output{}, err
	}
	dest := stable
	if want != "" && !sameSHA256(want, sum) {
		dest = QuarantinePath(stable, sum)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return state.Output{}, err
	}
	if dest != stable {
		return state.Output{}, &HashMismatchError{Addr: addr, URL: rawURL, Recorded: want, Got: sum, Quarantine: d.rel(dest)}
	}
	return state.Output{URL: rawURL, File: d.rel(dest), SHA256: sum, Bytes: size}, nil
}

// rel returns path relative to the spec directory, with slashes.
func (d *downloader) rel(path string) string {
	rel, err := filepath.Rel(d.specDir, path)
	if err != nil {
		rel = path
	}
	return filepath.ToSlash(rel)
}

// ContentPath is the content-addressed name of an earlier take of the
// output whose name is stable: the first 8 hex digits of its sha256
// before the extension (out/video.spot/aurora.mp4 ->
// out/video.spot/aurora.1a2b3c4d.mp4). The current take keeps the stable
// name; earlier ones move to these, so a new take never overwrites one.
func ContentPath(stable, sha256hex string) string {
	ext := filepath.Ext(stable)
	sum := strings.TrimPrefix(sha256hex, "sha256:")
	if len(sum) > 8 {
		sum = sum[:8]
	}
	return strings.TrimSuffix(stable, ext) + "." + sum + ext
}

func checkResponse(resp *http.Response, maxBytes int64) error {
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return &permanentError{msg: fmt.Sprintf("the output URL answered %s", resp.Status), expired: true}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("the output URL answered %s", resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); strings.HasPrefix(mt, "text/") || mt == "application/json" {
		return &permanentError{msg: fmt.Sprintf("the output URL answered %q instead of media (an error page from the CDN?)", mt)}
	}
	if resp.ContentLength > maxBytes {
		return &permanentError{msg: fmt.Sprintf("the output is %d bytes, over the %d-byte limit", resp.ContentLength, maxBytes)}
	}
	return nil
}

// tempPrefix starts the name of a download in progress.
const tempPrefix = ".xpflow-download-"

// removeStaleDownloads deletes temp files that a killed apply left in the
// block directories of the output directory (outDir/KIND.NAME for each
// of blocks). It runs while the output directory's lock is held, so no
// other apply can be writing them. It looks nowhere else: not into
// subdirectories, not above outDir.
func removeStaleDownloads(outDir string, blocks []string) error {
	for _, b := range blocks {
		dir := filepath.Join(outDir, b)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("remove unfinished downloads under %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && strings.HasPrefix(e.Name(), tempPrefix) {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("remove unfinished download: %w", err)
				}
			}
		}
	}
	return nil
}

// blockDirs lists the output subdirectories of addrs (KIND.NAME), once each.
func blockDirs(addrs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range addrs {
		b := a
		if j := strings.IndexByte(a, '['); j > 0 {
			b = a[:j]
		}
		if !seen[b] && safeKey.MatchString(b) {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

// writeOutput downloads r into dest through a temp file in the same
// directory and a rename, so an interrupted download never leaves a
// partial file under dest's name. An earlier take at dest that the state
// keeps was given its content-addressed name (pinTake) before this
// generation was submitted, so replacing dest loses no paid output.
func writeOutput(dest string, r io.Reader, maxBytes int64) (string, string, int64, error) {
	tmp, sum, size, err := writeFile(filepath.Dir(dest), r, maxBytes)
	if err != nil {
		return "", "", 0, err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return "", "", 0, err
	}
	return dest, sum, size, nil
}

// OutputFileMode is the mode of every downloaded output file.
const OutputFileMode os.FileMode = 0o644

// writeFile copies r into a new temp file in dir, synced, and returns its
// name, sha256 and size; on error nothing is left behind.
func writeFile(dir string, r io.Reader, maxBytes int64) (name, sum string, size int64, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", 0, err
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return "", "", 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600; an output is media to share (a web
	// server, a colleague), as a file curl -o writes would be.
	if err = tmp.Chmod(OutputFileMode); err != nil {
		return "", "", 0, err
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, maxBytes+1))
	if err != nil {
		return "", "", 0, err
	}
	if size > maxBytes {
		return "", "", 0, &permanentError{msg: fmt.Sprintf("the output is over the %d-byte limit", maxBytes)}
	}
	if err = tmp.Sync(); err != nil {
		return "", "", 0, err
	}
	if err = tmp.Close(); err != nil {
		return "", "", 0, err
	}
	return tmp.Name(), hex.EncodeToString(h.Sum(nil)), size, nil
}
