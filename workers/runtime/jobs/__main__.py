"""`python -m workers.runtime.jobs --table NAME list|show ID` (see status.py)."""

from workers.runtime.jobs.status import main

raise SystemExit(main())
