//go:build tools

// Package tools pins the Traefik main package so
// `go build github.com/traefik/traefik/v3/cmd/traefik` resolves inside this module.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
