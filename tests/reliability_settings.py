"""Settings of the worker and beat processes that tests/test_reliability.py starts.

The test settings, except that mail really goes out over SMTP (to the test's
sink, from EMAIL_URL), and one extra periodic job with a period of seconds
(tests/reliability_jobs.py) so that two beats can be watched over many periods
in a few seconds. The real schedule is left as it is; the probe is added to it.
"""

from __future__ import annotations

from config.settings.test import *  # noqa: F403
from config.settings.test import env

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_TIMEOUT = 5

CELERY_IMPORTS = ["tests.reliability_jobs"]
RELIABILITY_PROBE_TICK_SECONDS = env.float("RELIABILITY_PROBE_TICK_SECONDS", default=0.5)
RELIABILITY_PROBE_PERIOD_SECONDS = env.int("RELIABILITY_PROBE_PERIOD_SECONDS", default=3)
# Only the probe ticks in these processes: the real jobs would otherwise sweep the
# test's ledger behind its back.
CELERY_BEAT_SCHEDULE = {
    "tick reliability_probe": {
        "task": "scheduling.run_job",
        "schedule": RELIABILITY_PROBE_TICK_SECONDS,
        "args": ("reliability_probe",),
    }
}

# Keep each pool process's database connection between tasks (the default of 0
# reconnects for every task, which here costs more than the task itself).
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
