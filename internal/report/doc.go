// Package report renders a campaign as one self-contained static HTML
// review page. It gets the state and, when the command could plan the
// spec, the plan (Planned, one per asset instance), so the page shows the
// whole campaign: a card per asset with its image, video player or text,
// the request, actual against estimated cost, earlier takes beside the
// current one, links between upstream and downstream assets, and why an
// asset failed, was skipped or was never generated; totals and a cost bar
// per model head the page.
//
// Every output file is checked against its recorded size and sha256
// before the page links it (verify.go); secrets are redacted from every
// string before anything is encoded. The page needs no server and no
// external resource: it references the media by paths relative to where
// it is written, so it works from file://. Its script draws the cards 48
// at a time from embedded JSON and filters them through an index, which
// keeps a 10,000-asset page fast. The entry points are Write and
// WriteJSON.
package report
