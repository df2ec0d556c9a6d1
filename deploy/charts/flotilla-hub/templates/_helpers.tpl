{{- /* <release>-flotilla-hub; the release name alone when it holds the chart name, and the
chart name alone when the release name is its start (release `flotilla`: flotilla-hub). */}}
{{- define "flotilla-hub.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if hasPrefix .Release.Name .Chart.Name -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "flotilla-hub.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "flotilla-hub.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "flotilla-hub.secretName" -}}
{{- default (include "flotilla-hub.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- /* The Secret holding FLOTILLA_SECRET_KEY: the user's, or the one this chart keeps. */}}
{{- define "flotilla-hub.secretKeySecretName" -}}
{{- default (printf "%s-secret-key" (include "flotilla-hub.fullname" .)) .Values.secretKey.existingSecret -}}
{{- end -}}
