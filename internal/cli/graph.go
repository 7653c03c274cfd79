package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"

	"github.com/xpflow/xpflow/internal/planner"
)

// runGraph prints the instance graph in DOT, without calling the API.
func runGraph(env *Env, args []string) error {
	fs := newFlags(env, "graph", "[DIR]")
	var f specFlags
	f.register(fs)
	format := fs.String("format", "dot", "dot, or svg (rendered by Graphviz 'dot', which must be on PATH)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != "dot" && *format != "svg" {
		return &ExitErr{Code: ExitUsage, Err: fmt.Errorf("-format %q: want dot or svg", *format)}
	}
	p, err := offlinePlan(env, fs, &f)
	if err != nil {
		return err
	}
	if *format == "svg" {
		return renderSVG(env, p)
	}
	writeDOT(env.Stdout, p)
	return nil
}

// renderSVG pipes the DOT through Graphviz.
func renderSVG(env *Env, p *planner.Plan) error {
	dot, err := exec.LookPath("dot")
	if err != nil {
		return &ExitErr{Code: ExitError, Err: errors.New("-format svg needs Graphviz's 'dot' on PATH (e.g. apt-get install graphviz); 'xpflow graph' without -format prints DOT")}
	}
	var src bytes.Buffer
	writeDOT(&src, p)
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin, cmd.Stdout = &src, env.Stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return &ExitErr{Code: ExitError, Err: fmt.Errorf("graphviz dot failed: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))}
	}
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
