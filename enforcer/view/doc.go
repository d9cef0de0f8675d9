// Package view holds the daemon's published picture of the host (View,
// events, plans, explanations) and ErrNotFound; it imports nothing of the
// loop: readers (api, cli, metrics) depend on it, never on package enforcer.
package view

import "errors"

// ErrNotFound is returned (wrapped) by the daemon's Explain and Release, an
// API Source and the API Client when the container, cgroup or penalty asked
// about does not exist. The API server answers it with 404.
var ErrNotFound = errors.New("not found")
