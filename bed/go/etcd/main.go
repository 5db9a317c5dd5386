// Command etcd is the test bed's etcd: upstream etcd 3.6 built from its Go
// module (Debian's etcd 3.4 is too old for current kube-apiservers).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
