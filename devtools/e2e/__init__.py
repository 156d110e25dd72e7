"""`make e2e`: every stack applied to an AWS (locally, a patched moto_server), re-planned, run,
changed and destroyed, as a user would.

round_trip.py  the phases, in order      terraform.py  Terraform in one stack's folder
workspace.py   the scratch copy applied  schedule.py   stacks in dependency order, some at once
applied_workers.py  the workers started from what was applied
leftovers.py   what of the project an account still holds    progress.py  the live table
"""
