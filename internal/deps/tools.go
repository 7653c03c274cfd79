//go:build tools

// Package deps pins modules that packages under construction will import,
// so that go.mod stays stable while they are written in parallel.
package deps

import (
	_ "github.com/agext/levenshtein"
	_ "github.com/fatih/color"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/hashicorp/hcl/v2/ext/typeexpr"
	_ "github.com/hashicorp/hcl/v2/hclwrite"
	_ "github.com/zclconf/go-cty/cty/function/stdlib"
	_ "golang.org/x/image/font/basicfont"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
)
