"""Models of the agent desktop and wallboard domains (one import line in app/models_registry.py)."""

from app.agents import models as agents_models  # noqa: F401
from app.stats import models as stats_models  # noqa: F401
