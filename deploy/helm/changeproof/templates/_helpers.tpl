{{/* Names, labels and the pieces every pod shares. */}}

{{- define "changeproof.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "changeproof.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "changeproof.selectorLabels" -}}
app.kubernetes.io/name: {{ include "changeproof.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "changeproof.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "changeproof.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "changeproof.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "changeproof.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "changeproof.image" -}}
{{- $img := .img -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (toString (default .appVersion $img.tag)) -}}
{{- end -}}
{{- end -}}

{{/* Where the keys are: the init container reads the Secrets under keysIn
and writes 0600 copies under keysOut, a directory it creates in the
in-memory emptyDir mounted at keysVolume. */}}
{{- define "changeproof.keysIn" -}}/run/secrets/changeproof{{- end -}}
{{- define "changeproof.keysVolume" -}}/run/changeproof{{- end -}}
{{- define "changeproof.keysOut" -}}{{ include "changeproof.keysVolume" . }}/keys{{- end -}}
{{- define "changeproof.configDir" -}}/etc/changeproof{{- end -}}

{{/* scheduler.claim_ttl in seconds (changeproof's default 1h when unset).
Written in h, m and s (6h, 1h30m, 90m), which is what the chart reads. */}}
{{- define "changeproof.claimTTLSeconds" -}}
{{- $ttl := (dig "scheduler" "claim_ttl" "" .Values.config) | toString | trim -}}
{{- if not $ttl -}}
3600
{{- else -}}
{{- if not (regexMatch "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" $ttl) -}}
{{- fail (printf "config.scheduler.claim_ttl %q: the chart reads durations written in h, m and s, such as 6h or 1h30m" $ttl) -}}
{{- end -}}
{{- $unit := dict "h" 3600 "m" 60 "s" 1 -}}
{{- $s := 0 -}}
{{- range (regexFindAll "[0-9]+[hms]" $ttl -1) -}}
{{- $s = add $s (mul (regexFind "^[0-9]+" . | atoi) (get $unit (regexFind "[hms]$" .))) -}}
{{- end -}}
{{- $s -}}
{{- end -}}
{{- end -}}

{{/* The config file as rendered: the values' config with the key paths the
chart mounts. Fails when the values name other paths. */}}
{{- define "changeproof.config" -}}
{{- $cfg := deepCopy (required "config is required: the changeproof.yaml content" .Values.config) -}}
{{- $key := printf "%s/signing.key" (include "changeproof.keysOut" .) -}}
{{- if and (hasKey $cfg "key") (ne (toString $cfg.key) $key) -}}
{{- fail (printf "config.key is %q, but the chart mounts the signing key (signingKey.existingSecret) at %s: leave config.key out" (toString $cfg.key) $key) -}}
{{- end -}}
{{- $_ := set $cfg "key" $key -}}
{{- if .Values.github.appKeySecret.name -}}
{{- $gh := required "github.appKeySecret.name is set, but config.github.app is missing" (dig "github" "app" nil $cfg) -}}
{{- $app := printf "%s/github-app.pem" (include "changeproof.keysOut" .) -}}
{{- if and (hasKey $gh "private_key_file") (ne (toString $gh.private_key_file) $app) -}}
{{- fail (printf "config.github.app.private_key_file is %q, but the chart mounts the App key (github.appKeySecret) at %s: leave it out" (toString $gh.private_key_file) $app) -}}
{{- end -}}
{{- $_ := set $gh "private_key_file" $app -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The environment of the changeproof container: secrets by reference
only, never by value. */}}
{{- define "changeproof.env" -}}
- name: XDG_STATE_HOME
  value: /var/lib/changeproof/state
- name: XDG_CACHE_HOME
  value: /var/cache/changeproof
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
{{- if .Values.github.tokenSecret.name }}
- name: {{ (dig "github" "token_env" "" .Values.config) | default "GITHUB_TOKEN" }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.github.tokenSecret.name }}
      key: {{ .Values.github.tokenSecret.key }}
{{- end }}
{{- if .Values.cloudflare.tokenSecret.name }}
- name: {{ (dig "cloudflare" "token_env" "" .Values.config) | default "CLOUDFLARE_API_TOKEN" }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.cloudflare.tokenSecret.name }}
      key: {{ .Values.cloudflare.tokenSecret.key }}
{{- end }}
{{- include "changeproof.storeEnv" . }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The store's credentials (both the jobs and serve read the store). */}}
{{- define "changeproof.storeEnv" -}}
{{- with .Values.aws.credentialsSecret }}
{{- if .name }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .secretAccessKeyKey }}
{{- end }}
{{- end }}
{{- with .Values.aws.region }}
- name: AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* The init container installing the keys: the changeproof image itself
(distroless, no shell) runs `changeproof key install`, which copies each
key from its Secret (mounted read-only, 0440 with the pod's fsGroup) to a
0600 file owned by the pod's user under keysOut, a directory it creates in
the in-memory emptyDir (an emptyDir itself is writable by all). */}}
{{- define "changeproof.keyInstall" -}}
- name: install-keys
  image: {{ include "changeproof.image" (dict "img" .Values.image "appVersion" .Chart.AppVersion) }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - key
    - install
    - --to
    - {{ include "changeproof.keysOut" . }}
    - {{ include "changeproof.keysIn" . }}/signing/signing.key
    {{- if .Values.github.appKeySecret.name }}
    - {{ include "changeproof.keysIn" . }}/github-app/github-app.pem
    {{- end }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.keyInstall.resources | nindent 4 }}
  volumeMounts:
    - name: signing-key-secret
      mountPath: {{ include "changeproof.keysIn" . }}/signing
      readOnly: true
    {{- if .Values.github.appKeySecret.name }}
    - name: github-app-key-secret
      mountPath: {{ include "changeproof.keysIn" . }}/github-app
      readOnly: true
    {{- end }}
    - name: keys
      mountPath: {{ include "changeproof.keysVolume" . }}
{{- end -}}

{{/* Volumes every pod has. */}}
{{- define "changeproof.volumes" -}}
- name: config
  configMap:
    name: {{ include "changeproof.fullname" . }}
- name: signing-key-secret
  secret:
    secretName: {{ required "signingKey.existingSecret is required: the Secret holding the Ed25519 signing key" .Values.signingKey.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.signingKey.key }}
        path: signing.key
{{- if .Values.github.appKeySecret.name }}
- name: github-app-key-secret
  secret:
    secretName: {{ .Values.github.appKeySecret.name }}
    defaultMode: 0440
    items:
      - key: {{ .Values.github.appKeySecret.key }}
        path: github-app.pem
{{- end }}
- name: keys
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
- name: state
{{- if .Values.state.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.state.existingClaim }}
{{- else }}
  emptyDir:
    sizeLimit: {{ .Values.state.sizeLimit }}
{{- end }}
- name: cache
  emptyDir:
    sizeLimit: {{ .Values.cache.sizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Mounts of the changeproof container. */}}
{{- define "changeproof.volumeMounts" -}}
- name: config
  mountPath: {{ include "changeproof.configDir" . }}
  readOnly: true
- name: keys
  mountPath: {{ include "changeproof.keysVolume" . }}
  readOnly: true
- name: state
  mountPath: /var/lib/changeproof/state
- name: cache
  mountPath: /var/cache/changeproof
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Scheduling and pod-level settings shared by the CronJobs and serve. */}}
{{- define "changeproof.podCommon" -}}
serviceAccountName: {{ include "changeproof.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
