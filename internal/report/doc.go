// Package report renders a campaign's state as one self-contained static
// HTML review page: a card per asset with its image, video player or text,
// the recorded request and cost, links between upstream and downstream
// assets, the reasons of failed and skipped assets, and the totals. The page
// needs no server and no external resource: it references the downloaded
// media by paths relative to where the page is written, so it works when
// opened from file://. The entry point is Write.
package report
