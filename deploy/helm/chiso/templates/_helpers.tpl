{{/* The chart's name, at most 63 characters (a label value). */}}
{{- define "chiso.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Objects are named after the release, and the chart when the release's name lacks it. */}}
{{- define "chiso.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "chiso.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chiso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "chiso.labels" -}}
{{ include "chiso.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "chiso.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "chiso.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap of the agency registry: the user's, the chart's, or none. */}}
{{- define "chiso.agenciesConfigMap" -}}
{{- if .Values.agencies.existingConfigMap -}}
{{- .Values.agencies.existingConfigMap -}}
{{- else if .Values.agencies.inline -}}
{{- printf "%s-agencies" (include "chiso.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The configuration file: the values' `config` with what the chart decides set over it. */}}
{{- define "chiso.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- if not (dig "kafka" "bootstrap_servers" "" $config) -}}
{{- fail "config.kafka.bootstrap_servers is required: the Kafka brokers, host:port, comma-separated" -}}
{{- end -}}
{{- $http := dict "bind" (printf "0.0.0.0:%d" (int .Values.http.port)) -}}
{{- $_ := set $config "http" (merge $http (dig "http" dict $config)) -}}
{{- if include "chiso.agenciesConfigMap" . -}}
{{- $engine := dig "engine" dict $config -}}
{{- $_ := set $engine "agencies" (printf "/etc/chiso/agencies/%s" .Values.agencies.key) -}}
{{- $_ := set $config "engine" $engine -}}
{{- end -}}
{{- include "chiso.tomlTable" (list list $config) | trim -}}
{{- end -}}

{{/* The configuration of the topics Job: the Kafka part only (it needs no registry). */}}
{{- define "chiso.topicsConfig" -}}
{{- if not (dig "kafka" "bootstrap_servers" "" .Values.config) -}}
{{- fail "config.kafka.bootstrap_servers is required: the Kafka brokers, host:port, comma-separated" -}}
{{- end -}}
{{- $config := dict "kafka" (deepCopy .Values.config.kafka) "log" (deepCopy (dig "log" dict .Values.config)) -}}
{{- include "chiso.tomlTable" (list list $config) | trim -}}
{{- end -}}

{{/* The variables of Secrets that every chiso container gets (librdkafka secrets). */}}
{{- define "chiso.kafkaSecretEnv" -}}
{{- if .Values.kafkaSecret.existingSecret }}
{{- range $rdkafka, $key := .Values.kafkaSecret.keys }}
- name: CHISO_KAFKA__LIBRDKAFKA__{{ $rdkafka | replace "." "_" | upper }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.kafkaSecret.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
A table as TOML, its plain keys first, then its subtables: Helm's own toToml writes every number
of the values as a float (20000.0), which chiso refuses where it wants an integer.
Argument: (list PATH TABLE), PATH the keys above it.
*/}}
{{- define "chiso.tomlTable" -}}
{{- $path := index . 0 -}}
{{- $table := index . 1 -}}
{{- range $k, $v := $table }}
{{- if not (kindIs "map" $v) }}
{{ include "chiso.tomlKey" $k }} = {{ include "chiso.tomlValue" $v }}
{{- end }}
{{- end }}
{{- range $k, $v := $table }}
{{- if kindIs "map" $v }}
{{- $sub := append $path (include "chiso.tomlKey" $k) }}

[{{ join "." $sub }}]
{{- include "chiso.tomlTable" (list $sub $v) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* A TOML key, quoted unless bare (librdkafka's keys have dots). */}}
{{- define "chiso.tomlKey" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . -}}{{ . }}{{- else -}}{{ toJson . }}{{- end -}}
{{- end -}}

{{/* A TOML value: whole numbers as integers, strings and lists as JSON writes them. */}}
{{- define "chiso.tomlValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) -}}
{{- int64 . -}}
{{- else if kindIs "slice" . -}}
[{{ range $i, $e := . }}{{ if $i }}, {{ end }}{{ include "chiso.tomlValue" $e }}{{ end }}]
{{- else -}}
{{- toJson . -}}
{{- end -}}
{{- end -}}
