//go:build tools

// Package tools pins the Consul main package so `go build github.com/hashicorp/consul`
// resolves inside this module.
package tools

import _ "github.com/hashicorp/consul"
