package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"

	"github.com/quell-dev/quell/enforcer/api"
)

// directNote is what human output says when it did not come from quelld.
const directNote = "(read from cgroupfs directly; quelld not running)"

// reader returns the Service read-only commands use: quelld when it answers,
// else Options.Local. direct is true for the latter, and the reason quelld
// was not used has been printed on stderr.
func (e *env) reader() (svc api.Service, direct bool, err error) {
	c := api.NewClient(e.g.socket)
	_, err = c.Version(e.ctx)
	if err == nil {
		return e.humanSafe(c), false, nil
	}
	if !errors.Is(err, api.ErrUnreachable) && !isForbidden(err) {
		return nil, false, err
	}
	why := daemonHint(e.g.socket, err)
	if isForbidden(err) || errors.Is(err, syscall.EACCES) {
		// quelld runs and refused this user: a cgroupfs view claiming
		// "quelld not running" would be wrong and go round the refusal.
		return nil, false, errors.New(why)
	}
	if e.opts.Local == nil {
		return nil, false, fmt.Errorf("%s; this quell cannot read cgroupfs itself, so quelld is required", why)
	}
	fmt.Fprintf(e.stderr, "quell: %s; read-only views work without it: showing cgroupfs directly\n", why)
	src, lerr := e.opts.Local(e.ctx)
	if lerr != nil {
		return nil, false, fmt.Errorf("reading cgroupfs directly failed too: %w", lerr)
	}
	return e.humanSafe(api.InProcess(src, 0)), true, nil
}

// writer returns a client for commands that need quelld (reload, release),
// having checked that quelld answers.
func (e *env) writer(what string) (api.Service, error) {
	c := api.NewClient(e.g.socket)
	if _, err := c.Version(e.ctx); err != nil {
		if errors.Is(err, api.ErrUnreachable) || isForbidden(err) {
			return nil, fmt.Errorf("%s; %s needs quelld", daemonHint(e.g.socket, err), what)
		}
		return nil, err
	}
	return e.humanSafe(c), nil
}

func isForbidden(err error) bool {
	var se *api.StatusError
	return errors.As(err, &se) && se.Code == http.StatusForbidden
}

// daemonHint turns a failure to reach quelld into a sentence saying what to do.
func daemonHint(socket string, err error) string {
	switch {
	case isForbidden(err):
		return fmt.Sprintf("quelld at %s refused: %v", socket, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, os.ErrPermission):
		return fmt.Sprintf("cannot open %s: permission denied — join group quell (sudo usermod -aG quell $USER, then log in again) or use sudo", socket)
	case errors.Is(err, syscall.ENOENT):
		return fmt.Sprintf("cannot reach quelld at %s: no such socket — is quelld running? (systemctl status quelld)", socket)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot reach quelld at %s: connection refused — is quelld running? (systemctl status quelld)", socket)
	}
	return fmt.Sprintf("cannot reach quelld at %s: %v — is quelld running? (systemctl status quelld)", socket, err)
}

// printJSON writes v indented, with a final newline.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
