{{- define "continuum.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "continuum.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "continuum.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "continuum.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "continuum.secretName" -}}
{{ .Values.existingSecret | default (printf "%s-secrets" (include "continuum.fullname" .)) }}
{{- end -}}

{{/* A password kept across upgrades: the one in the release's Secret, else the given one, else random. */}}
{{- define "continuum.password" -}}
{{- $ctx := index . 0 -}}{{- $key := index . 1 -}}{{- $given := index . 2 -}}
{{- $secret := lookup "v1" "Secret" $ctx.Release.Namespace (printf "%s-secrets" (include "continuum.fullname" $ctx)) -}}
{{- if and $secret (index $secret.data $key) -}}{{ index $secret.data $key | b64dec }}{{- else if $given -}}{{ $given }}{{- else -}}{{ randAlphaNum 32 }}{{- end -}}
{{- end -}}

{{- define "continuum.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "continuum.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "continuum.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "continuum.fullname" . }}-config
env:
  {{- range $key := list "POSTGRES_URL" "REDIS_URL" "CONTINUUM_API_KEY" }}
  - name: {{ $key }}
    valueFrom:
      secretKeyRef:
        name: {{ include "continuum.secretName" $ }}
        key: {{ $key }}
  {{- end }}
{{- end -}}
