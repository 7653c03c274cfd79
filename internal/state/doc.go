// Package state is xpflow's state store: the record of every generation a
// campaign has asked for, so that a rerun skips finished work and a crash
// never makes anyone pay twice. Open locks a state file and returns a Store
// whose Update writes each change durably (temporary file in the same
// directory, fsync, rename, fsync of the directory) before returning; Load
// reads a state file without locking for read-only commands.
//
// # Format
//
// A state file is one JSON object, indented by two spaces with map keys
// sorted and a trailing newline, mode 0600. It never holds an API key.
//
//	{
//	  "version": 1,              // format version; any other is refused
//	  "serial": 7,               // +1 on every durable write
//	  "lineage": "3f6c…-…",      // random id set at creation, never changes
//	  "assets": {                // by instance address
//	    "video.spot[\"aurora\"]": {
//	      "address": "video.spot[\"aurora\"]",  // equals its key
//	      "kind": "video",
//	      "model": "seedance-2.0/text-to-video",
//	      "request_hash": "…",
//	      "request": {"prompt": "…", "duration": 8},  // resolved parameters
//	      "depends_on": ["text.script"],
//	      "status": "submitted",  // intent | submitted | completed | failed
//	      "task_id": "abc123",
//	      "poll_url": "/api/v1/video/abc123?provider=seedance",
//	      "provider": "seedance",
//	      "outputs": [{"url": "https://cdn…", "file": "out/aurora.mp4",
//	                   "sha256": "…", "bytes": 123}],
//	      "content": "…",         // text generations
//	      "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
//	      "cost_cents": 300,
//	      "error": "…",           // failed generations
//	      "intent_at": "2025-01-02T03:04:05Z",
//	      "submitted_at": "…", "completed_at": "…"
//	    }
//	  },
//	  "models": {                 // observations by model id; keys of latency
//	    "seedance-2.0/text-to-video": {   // and prices are the video duration
//	      "latency": {"8": {"seconds": [61.5, 70.2]}},  // in seconds, or ""
//	      "prices": {"8": {"cents": 480, "count": 3, "at": "…"}}
//	    }
//	  },
//	  "balance": {"cents": 4700, "at": "…"}
//	}
//
// Status intent means a generate request is about to be, or may have been,
// sent and its outcome is unknown; submitted means a task id and poll URL
// are recorded. Optional fields are omitted when empty. Reading is strict:
// an empty, truncated or trailing-garbage file, an unknown field, a missing
// lineage, a null asset, an asset whose address differs from its key or an
// unknown status is an error, and the file is left as it is for the user to
// inspect. Unknown fields are refused rather than dropped because the next
// write would otherwise lose them.
package state
