"""Imports every domain's models so Base.metadata is complete (Alembic, tests). One line per domain."""

from app.auth import models as auth_models  # noqa: F401
from app.calls import models as calls_models  # noqa: F401
from app.cases import registry as cases_registry  # noqa: F401
from app.realtime import models as realtime_models  # noqa: F401
from app.surveys import models as surveys_models  # noqa: F401
from recordings import models as recordings_models  # noqa: F401
