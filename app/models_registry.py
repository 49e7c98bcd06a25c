"""Imports every domain's models so Base.metadata is complete (Alembic, tests). One line per domain.
Part of the composition root."""

from app.agents import models as agents_models  # noqa: F401
from app.auth import models as auth_models  # noqa: F401
from app.callbacks import models as callbacks_models  # noqa: F401
from app.callrec import models as callrec_models  # noqa: F401
from app.calls import models as calls_models  # noqa: F401
from app.cases import registry as cases_registry  # noqa: F401
from app.exchange import models as exchange_models  # noqa: F401
from app.flood import FloodCounter  # noqa: F401 (the kernel's shared flood counters)
from app.intake import models as intake_models  # noqa: F401
from app.kb import models as kb_models  # noqa: F401
from app.mail import models as mail_models  # noqa: F401
from app.reports import models as reports_models  # noqa: F401
from app.surveys import models as surveys_models  # noqa: F401
from app.telephony import models as telephony_models  # noqa: F401
from app.transfers import models as transfers_models  # noqa: F401
from app.voicemail import models as voicemail_models  # noqa: F401
