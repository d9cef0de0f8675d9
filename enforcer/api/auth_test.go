package api

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseStatusGroups(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []uint32
		wantErr  bool
	}{
		{"several", "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 998 \nNSpid:\t1\n", []uint32{4, 24, 27, 998}, false},
		{"none", "Name:\tx\nGroups:\t\n", []uint32{}, false},
		{"missing", "Name:\tx\n", nil, true},
		{"garbage", "Groups:\t4 x 5\n", nil, true},
		{"negative", "Groups:\t-1\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatusGroups(strings.NewReader(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// fakeAuth is an Authorizer where group quell is gid 990 and pid 4242 has
// supplementary groups 100 and 990, every other pid only 100.
func fakeAuth(groupExists bool) *Authorizer {
	return &Authorizer{
		Group:   "quell",
		GroupID: func() (uint32, bool) { return 990, groupExists },
		Groups: func(pid int32) ([]uint32, error) {
			switch pid {
			case 4242:
				return []uint32{100, 990}, nil
			case 666:
				return nil, errors.New("no such process")
			}
			return []uint32{100}, nil
		},
	}
}

func TestAuthorizerCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		creds    Creds
		acc      Access
		exists   bool
		allowed  bool
		wantText string
	}{
		{"root reads", Creds{PID: 1, UID: 0, GID: 0}, Read, true, true, ""},
		{"root writes", Creds{PID: 1, UID: 0, GID: 0}, Write, true, true, ""},
		{"root writes without group", Creds{PID: 1, UID: 0}, Write, false, true, ""},
		{"member by primary gid reads", Creds{PID: 7, UID: 1000, GID: 990}, Read, true, true, ""},
		{"member by supplementary group reads", Creds{PID: 4242, UID: 1000, GID: 1000}, Read, true, true, ""},
		{"member may not write", Creds{PID: 4242, UID: 1000, GID: 990}, Write, true, false, "use sudo"},
		{"outsider may not read", Creds{PID: 7, UID: 1000, GID: 1000}, Read, true, false, "join it (sudo usermod -aG quell $USER"},
		{"outsider may not write", Creds{PID: 7, UID: 1000, GID: 1000}, Write, true, false, "only root"},
		{"no group on host", Creds{PID: 4242, UID: 1000, GID: 990}, Read, false, false, "group quell does not exist"},
		{"unreadable groups", Creds{PID: 666, UID: 1000, GID: 1000}, Read, true, false, "cannot read the groups of pid 666"},
		// SO_PEERGROUPS wins over /proc (pid 4242 is a member there).
		{"member by socket groups reads", Creds{PID: 666, UID: 1000, GID: 1000, Groups: []uint32{990}, HaveGroups: true}, Read, true, true, ""},
		{"socket groups without quell", Creds{PID: 4242, UID: 1000, GID: 1000, Groups: []uint32{27}, HaveGroups: true}, Read, true, false, "join it"},
		{"socket says no groups", Creds{PID: 4242, UID: 1000, GID: 1000, Groups: []uint32{}, HaveGroups: true}, Read, true, false, "join it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fakeAuth(tc.exists).Check(tc.creds, tc.acc)
			if tc.allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *ForbiddenError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *ForbiddenError", err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("message %q does not say %q", err, tc.wantText)
			}
		})
	}
}
