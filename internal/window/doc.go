// Package window keeps the request window of one API key where every xpflow
// process on the machine sees it, so that processes sharing a key share its
// requests-per-minute budget instead of each believing it has the whole.
//
// A Ledger is the shared record: when each recent request was sent, by which
// process (a random token per process, never a pid or a key), and until when
// the server said the key is closed (from a 429's Retry-After). A Store keeps
// a Ledger and lets a caller read and change it under a lock shared by every
// process: FileStore is the file implementation, under the user's cache
// directory; a database implementation only needs Store's one method.
// The limiter of internal/xpilot is the entry point that uses it.
//
// # File format
//
// One JSON object, written whole to a temporary file and renamed over the
// ledger while the lock file beside it is held:
//
//	{
//	  "version": 1,
//	  "closed_until": 1764581234000000000,     // unix ns; 0 when open
//	  "entries": [
//	    {"owner": "9f2c…", "seq": 7, "at": 1764581170000000000},
//	    {"owner": "9f2c…", "seq": 8, "at": 1764581171000000000, "open": true}
//	  ]
//	}
//
// The file name is the SHA-256 of the base URL and the key, so the ledger
// never holds the key nor anything it could be recovered from. An open entry
// is a request in flight, dated from its grant; it occupies the window until
// its owner closes it when the answer comes back (then it is dated from the
// answer and leaves Window plus Grace later), or at most OpenMax, so that a
// process killed mid-request frees its slots. The file is not fsynced: it
// only matters for one window, which is shorter than any reboot.
package window
