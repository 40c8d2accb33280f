// Package helm holds the tests of the Helm chart in deploy/helm/changeproof:
// they render it with `helm template` (bin/helm, installed by `make test`)
// and decode every manifest strictly into the Kubernetes API types.
package helm
