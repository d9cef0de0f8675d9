package api

import (
	"fmt"
	"os/user"
	"slices"
	"strconv"
)

// Creds identify the process at the other end of a connection, as the kernel
// reported them when it connected (SO_PEERCRED, SO_PEERGROUPS).
type Creds struct {
	PID int32
	UID uint32
	GID uint32 // effective primary group
	// Groups are the supplementary groups when HaveGroups (SO_PEERGROUPS);
	// otherwise the Authorizer asks its Groups func by PID.
	Groups     []uint32
	HaveGroups bool
}

// Access is what a request needs.
type Access int

const (
	// Read is needed by every GET.
	Read Access = iota
	// Write is needed by reload and release.
	Write
)

// ForbiddenError is a refusal; its message tells the caller how to get access.
// The server answers it with 403.
type ForbiddenError struct{ Msg string }

func (e *ForbiddenError) Error() string { return e.Msg }

// Authorizer decides who may use the API. uid 0 may do everything; a process
// whose primary or supplementary groups include Group may Read; everyone else
// is refused.
type Authorizer struct {
	// Group is the name of the reading group, "quell" by default. It is only
	// used in messages and by the default GroupID.
	Group string
	// GroupID returns the numeric ID of Group; ok=false when the group does
	// not exist (then only root gets in).
	GroupID func() (gid uint32, ok bool)
	// Groups returns the supplementary groups of a process; used only for
	// Creds without HaveGroups (a kernel without SO_PEERGROUPS).
	Groups func(pid int32) ([]uint32, error)
}

// NewAuthorizer returns the Authorizer quelld uses: group looked up by name in
// the system's group database at each check (so a group created after start
// is honoured); supplementary groups are the connection's (SO_PEERGROUPS),
// read from procRoot/<pid>/status only when the kernel cannot tell them.
func NewAuthorizer(group, procRoot string) *Authorizer {
	return &Authorizer{
		Group:   group,
		GroupID: LookupGroupID(group),
		Groups:  ProcGroups(procRoot),
	}
}

// LookupGroupID returns a GroupID func that looks name up with os/user.
func LookupGroupID(name string) func() (uint32, bool) {
	return func() (uint32, bool) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, false
		}
		id, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return 0, false
		}
		return uint32(id), true
	}
}

// Check returns nil when c may have access a, else a *ForbiddenError saying
// what to do, or another error when the peer's groups could not be read
// (which also refuses).
func (a *Authorizer) Check(c Creds, acc Access) error {
	if c.UID == 0 {
		return nil
	}
	group := a.Group
	if group == "" {
		group = "quell"
	}
	if acc == Write {
		return &ForbiddenError{Msg: fmt.Sprintf(
			"permission denied: uid %d may read but only root may change quelld (reload, release): use sudo", c.UID)}
	}
	denied := &ForbiddenError{Msg: fmt.Sprintf(
		"permission denied: uid %d is not in group %s: join it (sudo usermod -aG %s $USER, then log in again) or use sudo",
		c.UID, group, group)}
	if a.GroupID == nil {
		return denied
	}
	gid, ok := a.GroupID()
	if !ok {
		return &ForbiddenError{Msg: fmt.Sprintf(
			"permission denied: group %s does not exist on this host, so only root may use quelld: use sudo", group)}
	}
	if c.GID == gid {
		return nil
	}
	if c.HaveGroups {
		if slices.Contains(c.Groups, gid) {
			return nil
		}
		return denied
	}
	if a.Groups == nil {
		return denied
	}
	groups, err := a.Groups(c.PID)
	if err != nil {
		return &ForbiddenError{Msg: fmt.Sprintf("permission denied: cannot read the groups of pid %d: %v", c.PID, err)}
	}
	if slices.Contains(groups, gid) {
		return nil
	}
	return denied
}
