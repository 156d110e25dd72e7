"""Plan only what changed: change detection from synthesized output, plan summaries, reviewed-plan
checks and the security tool bootstrap behind `make changed`, `make plan` and the CI workflows.

See pipeline/README.md. The CLI is `python -m pipeline --help`.
"""
