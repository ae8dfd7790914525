//go:build tools

// Package tools pins the Nomad main package so `go build github.com/hashicorp/nomad`
// resolves inside this module.
package tools

import _ "github.com/hashicorp/nomad"
