package sim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRequestLog(t *testing.T) {
	h := start(t, WithLatency("video", 0, 0))
	body := `{"model":"seedance-2.0/text-to-video","prompt":"p","duration":4}`
	sub := decodeInto[genResult](t, h.sendRaw("POST", "/api/v1/video/generate", h.key, "application/json", body))
	h.clock.Advance(time.Second)
	done := decodeInto[genResult](t, h.get(sub.PollURL))
	h.send("GET", cdnPath(t, done.Outputs[0]), "", nil)
	h.send("GET", "/api/v1/models", "xp_bad", nil)
	h.send("DELETE", "/nowhere", "", nil)
	want := []Request{
		{At: t0, Method: "POST", Path: "/api/v1/video/generate", Key: h.key, Status: 200, Endpoint: "video.generate",
			TaskID: sub.TaskID, Model: "seedance-2.0/text-to-video", Body: []byte(body), Charged: 240},
		{At: t0.Add(time.Second), Method: "GET", Path: "/api/v1/video/" + sub.TaskID, RawQuery: "provider=seedance", Key: h.key,
			Status: 200, Endpoint: "video.poll", TaskID: sub.TaskID, Model: "seedance-2.0/text-to-video", Body: []byte{}},
		{At: t0.Add(time.Second), Method: "GET", Path: "/cdn/" + sub.TaskID + ".mp4", Status: 200, Endpoint: "cdn",
			TaskID: sub.TaskID, Model: "seedance-2.0/text-to-video", Body: []byte{}},
		{At: t0.Add(time.Second), Method: "GET", Path: "/api/v1/models", Key: "xp_bad", Status: 401, Code: "UNAUTHORIZED", Endpoint: "models", Body: []byte{}},
		{At: t0.Add(time.Second), Method: "DELETE", Path: "/nowhere", Status: 404, Code: "NOT_FOUND", Body: []byte{}},
	}
	if diff := cmp.Diff(want, h.run.Server.Log(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}
