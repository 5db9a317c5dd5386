// Command kaniko-untar unpacks a gzip build context exactly as kaniko's
// executor does for --context=tar://ARCHIVE: it calls the same function of
// kaniko's own source (pkg/util.UnpackCompressedTar), built from the
// vendored kaniko source the bed builds the executor from.
//
// dropbuild's trigger judges every context with node-tar before a build
// runs; the tests unpack the archives it accepts with this, and check that
// what lands on disk is what was judged.
//
// Usage: kaniko-untar ARCHIVE DEST
package main

import (
	"fmt"
	"os"

	"github.com/osscontainertools/kaniko/pkg/util"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: kaniko-untar ARCHIVE DEST")
		os.Exit(2)
	}
	if err := util.UnpackCompressedTar(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
