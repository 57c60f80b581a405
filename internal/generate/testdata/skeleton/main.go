// Command shop is a Trellis app.
package main

import "github.com/trellis-go/trellis/cli"

func main() { cli.Main(newApp, cli.Options{Migrations: migrationsFS()}) }
