package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/xpflow/xpflow/internal/planner"
)

// runGraph prints the instance graph in DOT, without calling the API.
func runGraph(env *Env, args []string) error {
	fs := newFlags(env, "graph", "[DIR]")
	var f specFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := oneArg(fs)
	if err != nil {
		return err
	}
	sp, err := loadSpec(env, dir, &f)
	if err != nil {
		return err
	}
	p, diags := planner.Build(sp, planner.Options{})
	if err := printDiags(env, sp, diags); err != nil {
		return err
	}
	writeDOT(env.Stdout, p)
	return nil
}

var kindShape = map[string]string{"text": "note", "image": "box", "video": "box3d"}

func writeDOT(w io.Writer, p *planner.Plan) {
	fmt.Fprintln(w, "digraph xpflow {")
	fmt.Fprintln(w, "  rankdir = LR;")
	fmt.Fprintln(w, "  node [fontname = \"Helvetica\"];")
	for _, n := range p.Nodes {
		fmt.Fprintf(w, "  %s [shape = %s, label = %s];\n", strconv.Quote(n.Addr), kindShape[string(n.Kind)],
			strconv.Quote(n.Addr+"\n"+n.Model))
	}
	for _, n := range p.Nodes {
		for _, d := range n.Deps {
			fmt.Fprintf(w, "  %s -> %s;\n", strconv.Quote(d), strconv.Quote(n.Addr))
		}
	}
	fmt.Fprintln(w, "}")
}
