// Package view holds the daemon's published picture of the host (View,
// events, plans, explanations) and ErrNotFound; it imports nothing of the
// loop: readers (api, cli, metrics) depend on it, never on package enforcer.
package view

import "errors"

// ErrNotFound is returned (wrapped) by Explain and Release for an unknown
// container or one without a penalty; the API answers it with 404.
var ErrNotFound = errors.New("not found")
