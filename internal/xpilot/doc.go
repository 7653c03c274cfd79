// Package xpilot is the client of the xPilot v1 API and the only place in
// xpflow where a request leaves the process. Every request goes through one
// Limiter per key (a sliding-window log shared by all goroutines), errors are
// typed *APIError values that never carry the key, and retries happen only
// where a second request cannot bill twice. New builds a Client from a Config;
// ConfigFromEnv reads XPILOT_BASE_URL, XPILOT_API_KEY and XPILOT_RATE_LIMIT.
package xpilot
