// Package cli implements the xpflow commands. Main parses the arguments,
// runs one command and maps its error to an exit code, go-task style: an
// *ExitError carries its code, diagnostics were already printed, and no
// colour ever enters an error string. cmd/xpflow only calls Main.
package cli
