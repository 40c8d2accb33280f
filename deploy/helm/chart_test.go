package helm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/cli"
	"github.com/changeproof/changeproof/internal/config"
	"github.com/changeproof/changeproof/internal/githubapi"
)

const chartDir = "changeproof"

// kubeVersion is the cluster version renders assume (a `go install`ed helm
// defaults to v1.20, older than the chart's kubeVersion: CronJob timeZone
// is GA since 1.27).
const kubeVersion = "1.33.0"

// helmBin finds helm: $CHANGEPROOF_HELM, else the repository's bin/helm
// (`make test` installs it there at a pinned version). Missing helm fails
// the test in CI and skips it elsewhere.
func helmBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHANGEPROOF_HELM")
	if p == "" {
		abs, err := filepath.Abs(filepath.Join("..", "..", "bin", "helm"))
		if err != nil {
			t.Fatal(err)
		}
		p = abs
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("helm is required in CI (make test installs it into bin/): %v", err)
		}
		t.Skipf("helm not installed at %s; run `make test` (or set CHANGEPROOF_HELM); in CI this test fails instead", p)
	}
	return p
}

// helm runs helm with a private home, so the user's repositories and
// plugins play no part.
func helm(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func render(t *testing.T, values string, set ...string) (string, error) {
	t.Helper()
	args := []string{"template", "acme", chartDir, "--namespace", "compliance", "--kube-version", kubeVersion, "-f", filepath.Join("testdata", values)}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, errs, err := helm(t, args...)
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, errs)
	}
	return out, nil
}

// serviceMonitor is the part of prometheus-operator's
// monitoring.coreos.com/v1 ServiceMonitor the chart renders (a CRD, not in
// k8s.io/api): decoding it strictly catches a misspelt or misplaced field
// among these, not a field the CRD lacks.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
			Authorization struct {
				Type        string                   `json:"type"`
				Credentials corev1.SecretKeySelector `json:"credentials"`
			} `json:"authorization"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type manifests struct {
	cronJobs        []batchv1.CronJob
	configMaps      []corev1.ConfigMap
	deployments     []appsv1.Deployment
	services        []corev1.Service
	serviceAccounts []corev1.ServiceAccount
	serviceMonitors []serviceMonitor
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// decodeAll splits helm's output into documents and decodes each strictly
// into its API type by apiVersion and kind; an unknown kind or field fails.
func decodeAll(t *testing.T, rendered string) manifests {
	t.Helper()
	var m manifests
	for i, doc := range docSep.Split(rendered, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("document %d is not YAML: %v\n%s", i, err, doc)
		}
		var tm struct{ APIVersion, Kind string }
		if err := json.Unmarshal(js, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		strict := func(dst any) {
			t.Helper()
			dec := json.NewDecoder(bytes.NewReader(js))
			dec.DisallowUnknownFields()
			if err := dec.Decode(dst); err != nil {
				t.Fatalf("document %d (%s %s) does not decode strictly: %v\n%s", i, tm.APIVersion, tm.Kind, err, doc)
			}
		}
		switch tm.APIVersion + " " + tm.Kind {
		case "batch/v1 CronJob":
			var o batchv1.CronJob
			strict(&o)
			m.cronJobs = append(m.cronJobs, o)
		case "v1 ConfigMap":
			var o corev1.ConfigMap
			strict(&o)
			m.configMaps = append(m.configMaps, o)
		case "apps/v1 Deployment":
			var o appsv1.Deployment
			strict(&o)
			m.deployments = append(m.deployments, o)
		case "v1 Service":
			var o corev1.Service
			strict(&o)
			m.services = append(m.services, o)
		case "v1 ServiceAccount":
			var o corev1.ServiceAccount
			strict(&o)
			m.serviceAccounts = append(m.serviceAccounts, o)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			var o serviceMonitor
			strict(&o)
			m.serviceMonitors = append(m.serviceMonitors, o)
		default:
			t.Fatalf("document %d: unexpected kind %q %q\n%s", i, tm.APIVersion, tm.Kind, doc)
		}
	}
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// valuesConfig is the config a values file gives the chart, parsed by
// changeproof's own strict loader.
func valuesConfig(t *testing.T, values string) *config.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", values))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config json.RawMessage `json:"config"`
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(values+"#config", v.Config)
	if err != nil {
		t.Fatalf("the sample's config is not a valid changeproof config: %v", err)
	}
	return cfg
}

func TestChartRendersAndDecodesStrictly(t *testing.T) {
	out, err := render(t, "values-sample.yaml")
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	m := decodeAll(t, out)
	want := valuesConfig(t, "values-sample.yaml")

	if len(m.configMaps) != 1 || len(m.deployments) != 1 || len(m.services) != 1 || len(m.serviceAccounts) != 1 || len(m.serviceMonitors) != 1 {
		t.Fatalf("rendered %d ConfigMaps, %d Deployments, %d Services, %d ServiceAccounts, %d ServiceMonitors; want one of each",
			len(m.configMaps), len(m.deployments), len(m.services), len(m.serviceAccounts), len(m.serviceMonitors))
	}

	t.Run("config map holds the config", func(t *testing.T) {
		cm := m.configMaps[0]
		got, err := config.Parse("configmap/changeproof.yaml", []byte(cm.Data["changeproof.yaml"]))
		if err != nil {
			t.Fatalf("the ConfigMap's changeproof.yaml is not a valid config: %v\n%s", err, cm.Data["changeproof.yaml"])
		}
		if got.Key != "/run/changeproof/keys/signing.key" {
			t.Errorf("config key = %q, want the chart's mount /run/changeproof/keys/signing.key", got.Key)
		}
		if got.Store != want.Store || got.Cloudflare.AccountID != want.Cloudflare.AccountID || len(got.Jobs) != len(want.Jobs) {
			t.Errorf("ConfigMap config differs from the values' config:\n%s", cm.Data["changeproof.yaml"])
		}
		for i := range want.Jobs {
			if got.Jobs[i].Name != want.Jobs[i].Name || got.Jobs[i].Schedule != want.Jobs[i].Schedule || got.Jobs[i].TimeZone != want.Jobs[i].TimeZone {
				t.Errorf("ConfigMap job %d = %+v, want %+v", i, got.Jobs[i], want.Jobs[i])
			}
		}
		if _, err := evidence.ParsePublicKey([]byte(cm.Data["signing.key.pub"])); err != nil {
			t.Errorf("ConfigMap signing.key.pub: %v", err)
		}
	})

	t.Run("one cron job per config job", func(t *testing.T) {
		if len(m.cronJobs) != len(want.Jobs) {
			t.Fatalf("%d CronJobs for %d jobs", len(m.cronJobs), len(want.Jobs))
		}
		byJob := map[string]batchv1.CronJob{}
		for _, cj := range m.cronJobs {
			if n := len(cj.Name); n > 52 {
				t.Errorf("CronJob name %q is %d characters; Kubernetes allows 52", cj.Name, n)
			}
			byJob[cj.Annotations["changeproof.dev/job"]] = cj
		}
		for _, j := range want.Jobs {
			cj, ok := byJob[j.Name]
			if !ok {
				t.Errorf("no CronJob for job %q", j.Name)
				continue
			}
			zone := j.TimeZone
			if zone == "" {
				zone = want.Scheduler.TimeZone
			}
			if cj.Spec.Schedule != j.Schedule {
				t.Errorf("%s: schedule %q, want the job's %q", cj.Name, cj.Spec.Schedule, j.Schedule)
			}
			if cj.Spec.TimeZone == nil || *cj.Spec.TimeZone != zone {
				t.Errorf("%s: timeZone %v, want %q", cj.Name, cj.Spec.TimeZone, zone)
			}
			checkCronJob(t, cj, j.Name)
			wantMem := "1Gi" // values.yaml's default
			if j.Name == "ci-status_hourly" {
				wantMem = "256Mi" // the sample's jobResources
			}
			if got := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(); got != wantMem {
				t.Errorf("%s: memory limit %s, want %s", cj.Name, got, wantMem)
			}
		}
	})

	t.Run("serve", func(t *testing.T) {
		d := m.deployments[0]
		ps := d.Spec.Template.Spec
		checkPodSecurity(t, d.Name, ps)
		if len(ps.Containers) != 1 {
			t.Fatalf("serve has %d containers", len(ps.Containers))
		}
		c := ps.Containers[0]
		args := strings.Join(c.Args, " ")
		for _, w := range []string{"serve --config /etc/changeproof/changeproof.yaml", "--pubkey /etc/changeproof/signing.key.pub", "--listen 0.0.0.0:9465", "--token-env CHANGEPROOF_SERVE_TOKEN"} {
			if !strings.Contains(args, w) {
				t.Errorf("serve args %q lack %q", args, w)
			}
		}
		for _, v := range ps.Volumes {
			if v.Secret != nil {
				t.Errorf("serve mounts Secret %s; it reads the store and needs no private key", v.Secret.SecretName)
			}
		}
		svc := m.services[0]
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("Service selector %s=%s does not select the serve pods (%v)", k, v, d.Spec.Template.Labels)
			}
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" || c.Ports[0].Name != "http" {
			t.Errorf("Service ports %+v do not reach the container's http port %+v", svc.Spec.Ports, c.Ports)
		}
		sm := m.serviceMonitors[0]
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
		} else if cred := sm.Spec.Endpoints[0].Authorization.Credentials; cred.Name != "changeproof-serve-token" || cred.Key != "token" {
			t.Errorf("ServiceMonitor scrapes without the serve token: %+v", cred)
		}
		for k, v := range sm.Spec.Selector.MatchLabels {
			if svc.Labels[k] != v {
				t.Errorf("ServiceMonitor selector %s=%s does not select the Service (%v)", k, v, svc.Labels)
			}
		}
	})

	t.Run("service account", func(t *testing.T) {
		sa := m.serviceAccounts[0]
		if sa.Annotations["eks.amazonaws.com/role-arn"] == "" {
			t.Errorf("ServiceAccount lacks the IRSA annotation: %v", sa.Annotations)
		}
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount mounts its API token; changeproof never calls the Kubernetes API")
		}
	})

	t.Run("no secret values", func(t *testing.T) {
		for _, w := range []string{"PRIVATE KEY", "kind: Secret\n"} {
			if strings.Contains(out, w) {
				t.Errorf("the rendered chart contains %q", w)
			}
		}
		secretEnv := map[string]bool{"GITHUB_TOKEN": true, "CLOUDFLARE_API_TOKEN": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "CHANGEPROOF_SERVE_TOKEN": true}
		pods := []corev1.PodSpec{d0(m).Spec.Template.Spec}
		for _, cj := range m.cronJobs {
			pods = append(pods, cj.Spec.JobTemplate.Spec.Template.Spec)
		}
		seen := map[string]bool{}
		for _, ps := range pods {
			for _, c := range append(ps.InitContainers, ps.Containers...) {
				for _, e := range c.Env {
					if !secretEnv[e.Name] {
						continue
					}
					seen[e.Name] = true
					if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name == "" {
						t.Errorf("%s: %s is not taken from a Secret by reference: %+v", c.Name, e.Name, e)
					}
				}
			}
		}
		for n := range secretEnv {
			if !seen[n] {
				t.Errorf("no container takes %s from its Secret", n)
			}
		}
	})
}

func d0(m manifests) appsv1.Deployment { return m.deployments[0] }

func checkPodSecurity(t *testing.T, name string, ps corev1.PodSpec) {
	t.Helper()
	sc := ps.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: the pod may run as root: %+v", name, sc)
	} else if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile %+v, want RuntimeDefault", name, sc.SeccompProfile)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("%s: the pod mounts a Kubernetes API token", name)
	}
	for _, c := range append(append([]corev1.Container{}, ps.InitContainers...), ps.Containers...) {
		cs := c.SecurityContext
		switch {
		case cs == nil:
			t.Errorf("%s/%s: no securityContext", name, c.Name)
		case cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem:
			t.Errorf("%s/%s: root filesystem is writable", name, c.Name)
		case cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation:
			t.Errorf("%s/%s: allows privilege escalation", name, c.Name)
		case cs.Privileged != nil && *cs.Privileged:
			t.Errorf("%s/%s: privileged", name, c.Name)
		case cs.Capabilities == nil || len(cs.Capabilities.Drop) != 1 || cs.Capabilities.Drop[0] != "ALL" || len(cs.Capabilities.Add) != 0:
			t.Errorf("%s/%s: capabilities %+v, want drop [ALL]", name, c.Name, cs.Capabilities)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: no memory request or limit: %+v", name, c.Name, c.Resources)
		}
		mounts := map[string]bool{}
		for _, vm := range c.VolumeMounts {
			mounts[vm.MountPath] = true
		}
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "XDG_") && !mounts[e.Value] {
				t.Errorf("%s/%s: %s=%s is not a mounted volume (the root filesystem is read-only)", name, c.Name, e.Name, e.Value)
			}
		}
	}
}

func checkCronJob(t *testing.T, cj batchv1.CronJob, job string) {
	t.Helper()
	s := cj.Spec
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("%s: concurrencyPolicy %q, want Forbid", cj.Name, s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
		t.Errorf("%s: no startingDeadlineSeconds", cj.Name)
	}
	if s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil {
		t.Errorf("%s: no history limits", cj.Name)
	}
	js := s.JobTemplate.Spec
	ps := js.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyOnFailure && ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s: restartPolicy %q", cj.Name, ps.RestartPolicy)
	}
	if js.BackoffLimit == nil || js.ActiveDeadlineSeconds == nil {
		t.Errorf("%s: no backoffLimit or activeDeadlineSeconds", cj.Name)
	}
	checkPodSecurity(t, cj.Name, ps)
	if len(ps.Containers) != 1 || len(ps.InitContainers) != 1 {
		t.Fatalf("%s: %d containers and %d init containers, want 1 and 1", cj.Name, len(ps.Containers), len(ps.InitContainers))
	}
	c := ps.Containers[0]
	wantArgs := []string{"run", "--config", "/etc/changeproof/changeproof.yaml", "--once", "--job", job}
	if strings.Join(c.Args, "\x00") != strings.Join(wantArgs, "\x00") {
		t.Errorf("%s: args %q, want %q", cj.Name, c.Args, wantArgs)
	}

	// The signing key: the Secret is mounted read-only into the init
	// container only; changeproof reads the copy, read-only too.
	var secretVol *corev1.Volume
	vols := map[string]corev1.Volume{}
	for _, v := range ps.Volumes {
		vols[v.Name] = v
		if v.Secret != nil && v.Secret.SecretName == "changeproof-signing-key" {
			secretVol = &v
		}
	}
	if secretVol == nil {
		t.Fatalf("%s: no volume of the signing key Secret", cj.Name)
	}
	if m := secretVol.Secret.DefaultMode; m == nil {
		t.Errorf("%s: signing key Secret has no defaultMode, want 0440", cj.Name)
	} else if *m != 0o440 {
		t.Errorf("%s: signing key Secret defaultMode %04o, want 0440 (what fsGroup makes of it anyway)", cj.Name, *m)
	}
	if sc := ps.SecurityContext; sc == nil || sc.FSGroup == nil || sc.RunAsGroup == nil || *sc.FSGroup != *sc.RunAsGroup {
		t.Errorf("%s: fsGroup is not the pod's group, so the init container cannot read the 0440 Secret: %+v", cj.Name, sc)
	}

	// The keys are installed by the changeproof image itself: no second
	// image reads them.
	init := ps.InitContainers[0]
	if init.Image != c.Image || init.ImagePullPolicy != c.ImagePullPolicy {
		t.Errorf("%s/%s: image %q (%s), want the job's own %q (%s)", cj.Name, init.Name, init.Image, init.ImagePullPolicy, c.Image, c.ImagePullPolicy)
	}
	if len(init.Command) != 0 || len(init.Args) < 5 || strings.Join(init.Args[:4], " ") != "key install --to /run/changeproof/keys" {
		t.Errorf("%s/%s: command %q args %q, want the image's entrypoint with key install --to /run/changeproof/keys FILE...", cj.Name, init.Name, init.Command, init.Args)
	}
	for _, ctr := range append(append([]corev1.Container{}, ps.InitContainers...), ps.Containers...) {
		for _, vm := range ctr.VolumeMounts {
			v := vols[vm.Name]
			if (v.Secret != nil || vm.Name == "keys" && ctr.Name == c.Name || vm.Name == "config") && !vm.ReadOnly {
				t.Errorf("%s/%s: %s is mounted writable", cj.Name, ctr.Name, vm.Name)
			}
			if v.Secret != nil && ctr.Name == c.Name {
				t.Errorf("%s: the changeproof container mounts Secret %s itself", cj.Name, v.Secret.SecretName)
			}
		}
	}
	if k := vols["keys"]; k.EmptyDir == nil || k.EmptyDir.Medium != corev1.StorageMediumMemory {
		t.Errorf("%s: the keys' copies are not in memory: %+v", cj.Name, k)
	}
}

// TestKeyInstallMakesKeysChangeproofAccepts runs the init container's
// command in-process against directories laid out as the kubelet lays out
// the pod's volumes: each Secret as 0440 files behind ..data symlinks
// (defaultMode with fsGroup), the emptyDir as drwxrwxrwx. The keys must
// then be ones changeproof loads at the paths its config names, through
// the changeproof container's mounts.
func TestKeyInstallMakesKeysChangeproofAccepts(t *testing.T) {
	out, err := render(t, "values-app.yaml")
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	m := decodeAll(t, out)
	if len(m.cronJobs) != 1 || len(m.deployments) != 0 || len(m.serviceMonitors) != 0 {
		t.Fatalf("values-app: %d CronJobs, %d Deployments, %d ServiceMonitors; want 1, 0, 0", len(m.cronJobs), len(m.deployments), len(m.serviceMonitors))
	}
	cfg, err := config.Parse("configmap/changeproof.yaml", []byte(m.configMaps[0].Data["changeproof.yaml"]))
	if err != nil {
		t.Fatalf("the ConfigMap's config: %v", err)
	}
	if cfg.GitHub.App == nil || cfg.GitHub.App.PrivateKeyFile != "/run/changeproof/keys/github-app.pem" {
		t.Fatalf("github.app = %+v, want private_key_file at the chart's mount", cfg.GitHub.App)
	}
	ps := m.cronJobs[0].Spec.JobTemplate.Spec.Template.Spec
	init, job := ps.InitContainers[0], ps.Containers[0]

	keyDir := t.TempDir()
	if _, err := evidence.GenerateKeyFiles(filepath.Join(keyDir, "k"), filepath.Join(keyDir, "k.pub")); err != nil {
		t.Fatal(err)
	}
	signing, err := os.ReadFile(filepath.Join(keyDir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	app := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	// The Secrets' data by name and key, as values-app.yaml names them.
	secrets := map[string][]byte{"changeproof-signing-key/signing.key": signing, "changeproof-github-app/app.pem": app}

	root := t.TempDir()
	volDir := map[string]string{}
	for _, v := range ps.Volumes {
		dir := filepath.Join(root, v.Name)
		volDir[v.Name] = dir
		switch {
		case v.Secret != nil:
			files := map[string][]byte{}
			for _, it := range v.Secret.Items {
				b, ok := secrets[v.Secret.SecretName+"/"+it.Key]
				if !ok {
					t.Fatalf("volume %s: Secret %s key %s is not one values-app.yaml names", v.Name, v.Secret.SecretName, it.Key)
				}
				files[it.Path] = b
			}
			kubeletSecret(t, dir, files, os.FileMode(*v.Secret.DefaultMode))
		case v.EmptyDir != nil:
			if err := os.Mkdir(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o777); err != nil { // as the kubelet makes an emptyDir
				t.Fatal(err)
			}
		}
	}
	// local maps a path in a container to the test's directory of the
	// volume mounted there.
	local := func(c corev1.Container, p string) string {
		t.Helper()
		for _, vm := range c.VolumeMounts {
			if p == vm.MountPath || strings.HasPrefix(p, vm.MountPath+"/") {
				return volDir[vm.Name] + strings.TrimPrefix(p, vm.MountPath)
			}
		}
		t.Fatalf("%s: %s is on none of the container's volumes", c.Name, p)
		return ""
	}
	args := append([]string{}, init.Args...)
	for i, a := range args {
		if strings.HasPrefix(a, "/") {
			args[i] = local(init, a)
		}
	}
	signingPath, appPath := local(job, cfg.Key), local(job, cfg.GitHub.App.PrivateKeyFile)
	if _, err := evidence.LoadPrivateKey(local(init, "/run/secrets/changeproof/signing/signing.key")); err == nil {
		t.Fatal("changeproof accepts the 0440 Secret file itself; this test no longer shows why the copy is needed")
	}

	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), args, &cli.App{
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(string) string { return "" },
		Now:    func() time.Time { return time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) },
	})
	if code != 0 {
		t.Fatalf("changeproof %s: exit %d\n%s%s", strings.Join(init.Args, " "), code, stdout.String(), stderr.String())
	}
	if o := stdout.String() + stderr.String(); strings.Contains(o, "PRIVATE KEY") || strings.Contains(o, strings.Split(string(signing), "\n")[1]) || strings.Contains(o, strings.Split(string(app), "\n")[1]) {
		t.Errorf("key install printed key material:\n%s", o)
	}
	ents, err := os.ReadDir(filepath.Dir(signingPath))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "github-app.pem signing.key" {
		t.Fatalf("installed %v, want github-app.pem and signing.key only", names)
	}
	if _, err := evidence.LoadPrivateKey(signingPath); err != nil {
		t.Errorf("changeproof refuses the installed signing key: %v", err)
	}
	if _, err := githubapi.LoadAppKey(appPath); err != nil {
		t.Errorf("changeproof refuses the installed GitHub App key: %v", err)
	}
}

// kubeletSecret lays out files as the kubelet lays out a Secret volume:
// each a symlink into ..data, a symlink to a timestamped directory holding
// the files with the volume's mode.
func kubeletSecret(t *testing.T, dir string, files map[string][]byte, mode os.FileMode) {
	t.Helper()
	data := filepath.Join(dir, "..2026_11_23_00_00_00.000000001")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		p := filepath.Join(data, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// A run is stopped when its window claim expires, so no pod may be given
// longer: the deadline is the claim_ttl unless set shorter.
func TestCronJobDeadlineIsTheClaimTTL(t *testing.T) {
	cases := []struct {
		values string
		set    []string
		want   time.Duration
	}{
		{"values-sample.yaml", nil, 6 * time.Hour},       // its claim_ttl
		{"values-app.yaml", nil, config.DefaultClaimTTL}, // none: changeproof's default
		{"values-app.yaml", []string{"config.scheduler.claim_ttl=1h30m"}, 90 * time.Minute},
		{"values-app.yaml", []string{"cronJob.activeDeadlineSeconds=1800"}, 30 * time.Minute},
	}
	for _, c := range cases {
		out, err := render(t, c.values, c.set...)
		if err != nil {
			t.Fatalf("helm template -f %s %v: %v", c.values, c.set, err)
		}
		m := decodeAll(t, out)
		cfg, err := config.Parse("configmap/changeproof.yaml", []byte(m.configMaps[0].Data["changeproof.yaml"]))
		if err != nil {
			t.Fatal(err)
		}
		for _, cj := range m.cronJobs {
			d := cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds
			if d == nil || time.Duration(*d)*time.Second != c.want {
				t.Errorf("%s %v (%s): activeDeadlineSeconds %v, want %s", c.values, c.set, cj.Name, d, c.want)
			} else if time.Duration(*d)*time.Second > cfg.ClaimTTL() {
				t.Errorf("%s %v (%s): activeDeadlineSeconds %ds outlives the claim_ttl %s", c.values, c.set, cj.Name, *d, cfg.ClaimTTL())
			}
		}
	}
}

func TestChartRefusesWhatCronJobsCannotRun(t *testing.T) {
	cases := []struct {
		name, values string
		set          []string
		want         string
	}{
		{"@every", "values-every.yaml", nil, `job "quick-check": schedule "@every 1h": Kubernetes CronJobs do not support @every`},
		{"seconds", "values-every.yaml", []string{"config.jobs[1].schedule=0 0 * * * *"}, `job "quick-check": schedule "0 0 * * * *": Kubernetes CronJobs take five fields`},
		{"no signing key", "values-every.yaml", []string{"config.jobs[1].schedule=@hourly", "signingKey.existingSecret="}, "signingKey.existingSecret is required"},
		{"other key path", "values-every.yaml", []string{"config.jobs[1].schedule=@hourly", "config.key=/keys/signing.key"}, `config.key is "/keys/signing.key"`},
		{"resources of no job", "values-every.yaml", []string{"config.jobs[1].schedule=@hourly", "jobResources.merge-activty-daily.limits.memory=1Gi"}, `jobResources.merge-activty-daily: there is no job "merge-activty-daily" in config.jobs`},
		{"serve without token", "values-sample.yaml", []string{"serve.tokenSecret.name="}, "serve.tokenSecret.name is required when serve.enabled"},
		{"deadline past claim_ttl", "values-sample.yaml", []string{"config.scheduler.claim_ttl=10m", "cronJob.activeDeadlineSeconds=21600"}, "cronJob.activeDeadlineSeconds 21600 is longer than config.scheduler.claim_ttl (600s): changeproof stops a run when its window claim expires"},
		{"deadline past the default claim_ttl", "values-app.yaml", []string{"cronJob.activeDeadlineSeconds=7200"}, "cronJob.activeDeadlineSeconds 7200 is longer than config.scheduler.claim_ttl (3600s, the default 1h)"},
		{"claim_ttl the chart cannot read", "values-app.yaml", []string{"config.scheduler.claim_ttl=1.5h"}, `config.scheduler.claim_ttl "1.5h": the chart reads durations written in h, m and s`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := render(t, c.values, c.set...)
			if err == nil {
				t.Fatalf("rendered; want the error %q\n%s", c.want, out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to say %q", err, c.want)
			}
		})
	}
	// The same file with a schedule CronJobs take renders: the failures
	// above come from the schedules, not from the rest of the file.
	if _, err := render(t, "values-every.yaml", "config.jobs[1].schedule=@hourly"); err != nil {
		t.Fatalf("values-every.yaml with @hourly: %v", err)
	}
}

func TestChartLints(t *testing.T) {
	for _, values := range []string{"values-sample.yaml", "values-app.yaml"} {
		out, errs, err := helm(t, "lint", "--strict", "--kube-version", kubeVersion, chartDir, "-f", filepath.Join("testdata", values))
		if err != nil {
			t.Errorf("helm lint --strict -f %s: %v\n%s%s", values, err, out, errs)
		}
	}
}
