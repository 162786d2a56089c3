// Command fieldfix runs the FieldFix service and its tools.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "fieldfix: not wired yet")
	os.Exit(2)
}
