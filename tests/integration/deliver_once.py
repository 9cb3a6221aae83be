"""One delivery attempt in its own process, for the crash tests (which
SIGKILL it in the middle of the send).

    python tests/integration/deliver_once.py mail NOTIFICATION_ID
    python tests/integration/deliver_once.py webhook DELIVERY_ID

Settings come from the environment (helpdesk.settings.base: EMAIL_URL,
DATABASE_URL), as in a production worker.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

if sys.argv[1] == "mail":
    from mail.services import notification_deliver

    print(notification_deliver(notification_id=int(sys.argv[2])))
else:
    from webhooks.services import webhook_deliver

    print(webhook_deliver(delivery_id=int(sys.argv[2])))
