"""Models of the case workflow (units, cases, outbox), imported by app.models_registry in one line."""

from app.cases import models as cases_models  # noqa: F401
from app.outbox import models as outbox_models  # noqa: F401
from app.units import models as units_models  # noqa: F401
