"""Worker containers: one folder per service, plus `runtime/`, the platform code they share."""
