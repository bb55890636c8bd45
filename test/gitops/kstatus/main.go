// kstatus judges objects the way Flux does (its health checks use kstatus): a JSON array of
// objects on stdin, a JSON array of {"status", "message"} out (Current, InProgress, Failed, …).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	var objects []json.RawMessage
	if err := json.NewDecoder(os.Stdin).Decode(&objects); err != nil {
		fmt.Fprintln(os.Stderr, "stdin:", err)
		os.Exit(1)
	}
	out := []result{}
	for _, obj := range objects {
		// Kubernetes' own JSON decoding: integers stay int64, as kstatus expects.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(obj); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r, err := status.Compute(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out = append(out, result{Status: r.Status.String(), Message: r.Message})
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
