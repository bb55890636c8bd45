{{/* Release-scoped base name, cut to leave room for suffixes within the 63-character limit. */}}
{{- define "multi-mcp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "multi-mcp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: multi-mcp
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "multi-mcp.proxy.selector" -}}
app.kubernetes.io/name: multi-mcp-proxy
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "multi-mcp.operator.selector" -}}
app.kubernetes.io/name: multi-mcp-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "multi-mcp.proxy.name" -}}{{ include "multi-mcp.fullname" . }}-proxy{{- end -}}
{{- define "multi-mcp.operator.name" -}}{{ include "multi-mcp.fullname" . }}-operator{{- end -}}
{{- define "multi-mcp.admin.service" -}}{{ include "multi-mcp.fullname" . }}-proxy-admin{{- end -}}

{{- define "multi-mcp.adminToken.secret" -}}
{{- .Values.adminToken.existingSecret | default (printf "%s-admin-token" (include "multi-mcp.fullname" .)) -}}
{{- end -}}
{{- define "multi-mcp.sessionKey.secret" -}}
{{- .Values.sessionKey.existingSecret | default (printf "%s-session-key" (include "multi-mcp.fullname" .)) -}}
{{- end -}}

{{/* registry/repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "multi-mcp.image" -}}
{{- $root := index . 0 -}}{{- $repo := index . 1 -}}
{{- $tag := $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- if $root.Values.image.registry -}}
{{- printf "%s/%s:%s" $root.Values.image.registry $repo $tag -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* Non-root, read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "multi-mcp.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "multi-mcp.podSecurityContext" -}}
runAsNonRoot: true
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}
