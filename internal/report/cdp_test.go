package report_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// browser drives one headless chromium over the DevTools protocol on a
// pipe (--remote-debugging-pipe: commands on the child's fd 3, answers on
// its fd 4, each message JSON ended by a NUL byte). It needs no websocket
// library and no port, and one process serves a whole test.
type browser struct {
	t       *testing.T
	cmd     *exec.Cmd
	in      io.WriteCloser
	session string

	// mu guards nextID, waiting and readErr, shared by call and read.
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpReply
	readErr error
	// events carries protocol events (no id) to navigate; extra ones are
	// dropped.
	events chan cdpReply
	stderr limitedBuffer
}

type cdpReply struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Params json.RawMessage `json:"params"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
	SessionID string `json:"sessionId"`
}

// startBrowser launches chromium and opens one page.
func startBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	needChromium(t)
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append(chromiumFlags(t), "--remote-debugging-pipe", fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	b := &browser{t: t, in: cmdW, waiting: map[int]chan cdpReply{}, events: make(chan cdpReply, 256)}
	b.cmd = exec.Command(chromiumPath, args...)
	b.cmd.ExtraFiles = []*os.File{cmdR, resW}
	b.cmd.Stderr = &b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	cmdR.Close()
	resW.Close()
	go b.read(resR)
	t.Cleanup(b.close)

	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	b.session = att.SessionID
	b.call(b.session, "Page.enable", nil, nil)
	return b
}

func (b *browser) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		var rep cdpReply
		if err := json.Unmarshal(msg[:len(msg)-1], &rep); err != nil {
			continue
		}
		if rep.ID == 0 {
			select {
			case b.events <- rep:
			default: // nobody listens to this many events
			}
			continue
		}
		b.mu.Lock()
		ch := b.waiting[rep.ID]
		delete(b.waiting, rep.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// call sends one command and decodes its result into out (if not nil).
func (b *browser) call(session, method string, params any, out any) {
	b.t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.in.Write(append(data, 0)); err != nil {
		b.t.Fatalf("%s: write to chromium: %v\nstderr:\n%s", method, err, b.stderr.String())
	}
	select {
	case rep, ok := <-ch:
		if !ok {
			b.t.Fatalf("%s: chromium closed the pipe: %v\nstderr:\n%s", method, b.readErr, b.stderr.String())
		}
		if rep.Error != nil {
			b.t.Fatalf("%s: %s", method, rep.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(rep.Result, out); err != nil {
				b.t.Fatalf("%s: decode %s: %v", method, rep.Result, err)
			}
		}
	case <-time.After(time.Minute):
		b.t.Fatalf("%s: no answer from chromium in a minute\nstderr:\n%s", method, b.stderr.String())
	}
}

// navigate loads url and waits for its load event. A navigation within
// the same document (only the #fragment changes) has none: it returns at
// once, and the page's hashchange handler runs.
func (b *browser) navigate(url string) {
	b.t.Helper()
	for len(b.events) > 0 {
		<-b.events
	}
	var nav struct {
		LoaderID string `json:"loaderId"`
	}
	b.call(b.session, "Page.navigate", map[string]any{"url": url}, &nav)
	if nav.LoaderID == "" {
		return
	}
	deadline := time.After(time.Minute)
	for {
		select {
		case ev := <-b.events:
			if ev.Method == "Page.loadEventFired" && ev.SessionID == b.session {
				return
			}
		case <-deadline:
			b.t.Fatalf("navigate %s: no load event in a minute", url)
		}
	}
}

// eval runs a JavaScript expression in the page, awaiting a promise, and
// decodes its value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception *struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if e := res.ExceptionDetails; e != nil {
		msg := e.Text
		if e.Exception != nil {
			msg = e.Exception.Description
		}
		b.t.Fatalf("eval %s: %s", expr, msg)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			b.t.Fatalf("eval %s: decode %s: %v", expr, res.Result.Value, err)
		}
	}
}

// screenshot captures the page as PNG bytes.
func (b *browser) screenshot() []byte {
	b.t.Helper()
	var res struct {
		Data string `json:"data"`
	}
	b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	return png
}

func (b *browser) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		_ = b.cmd.Wait()
		close(done)
	}()
	b.in.Close() // chromium exits when its command pipe closes
	select {
	case <-done:
	case <-ctx.Done():
		_ = b.cmd.Process.Kill()
		<-done
	}
}
