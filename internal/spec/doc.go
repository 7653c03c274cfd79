// Package spec turns a directory of *.xp.hcl files into a typed, validated
// campaign: settings, provider, variables, locals, text/image/video assets
// and outputs. Load is the entry point; Spec.Expand turns assets into
// instances (for_each and count), Spec.BlockDeps gives the asset-level
// dependency graph, and a Scope (Spec.NewScope) evaluates instance
// parameters and outputs as results become known.
package spec
