// Command vigil is Vigil's one binary: the server, the migrator and the one-command demo. It is the
// only place that reads the environment; everything else is handed what it needs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // every IANA zone, whatever the machine has installed (VIGIL_TIME_ZONE)
)

const usage = `Vigil — remote patient monitoring.

Usage:
  vigil <command> [flags]

Commands:
  serve     run the production server (configured by environment variables)
  migrate   apply pending database migrations and exit
  demo      run everything for a first look: database, demo hospital, server
  simulate  simulated devices posting readings to a running Vigil
  audit     verify the audit trail's hash chain ("vigil audit verify")
  bench     measure intake, live dashboards and charts against this machine's limits

Run "vigil <command> --help" for a command's flags and settings.
`

// command is one subcommand: its flags are parsed from args; getenv reads the environment.
type command func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"serve":    serveCommand,
	"migrate":  migrateCommand,
	"demo":     demoCommand,
	"audit":    auditCommand,
	"simulate": simulateCommand,
	"bench":    benchCommand,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run executes the command named by args[0] and returns the process's exit code: 0 on success, 1
// when the command failed, 2 when it was called wrongly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "vigil: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], getenv, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "vigil %s: %v\n", args[0], err)
		return 1
	}
}

// errUsage means the command line was wrong; the flag package has already said how.
var errUsage = errors.New("usage")

// parseFlags parses a subcommand's flags, printing help text on -h.
func parseFlags(fs *flag.FlagSet, args []string, help string, stdout, stderr io.Writer) error {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), help)
		if hasFlags(fs) {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			fs.PrintDefaults()
		}
	}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return flag.ErrHelp
	}
	if err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}
