// Package sim is an in-process simulator of the xPilot v1 API: the test double
// every xpflow test talks to over real HTTP on loopback, and the default
// behind `xpflow apply -simulate`. It is strict where the API document is
// strict (auth, rate limit, credit ledger, parameter validation, polling by
// provider) and can inject deterministic faults. Build one with New and serve
// it yourself (it is an http.Handler), or call Start to serve it on a loopback
// port; Running.URL and Running.Key are what a client needs.
package sim
