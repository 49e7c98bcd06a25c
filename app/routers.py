"""Every domain's router, in one list. A new domain adds one line here. Part of the composition root."""

from __future__ import annotations

from fastapi import APIRouter

from app.agents.router import router as agents_router
from app.agents.skills_router import router as agent_skills_router
from app.agents.spy import router as spy_router
from app.auth.router import router as auth_router
from app.callbacks.router import router as callbacks_router
from app.callrec.router import router as callrec_router
from app.calls.router import router as calls_router
from app.cases.handovers import router as case_handovers_router
from app.cases.pages import router as case_pages_router
from app.cases.router import router as cases_router
from app.citizen.router import router as citizen_router
from app.exchange.batch import router as exchange_batch_router
from app.exchange.pulls import router as exchange_pulls_router
from app.exchange.router import router as exchange_router
from app.health.router import router as health_router
from app.kb.pages import router as kb_pages_router
from app.kb.router import router as kb_router
from app.mail.router import router as mail_router
from app.ops.metrics import router as ops_router
from app.outbox.router import router as outbox_router
from app.public.router import router as public_router
from app.reports.hot_router import router as hot_topics_router
from app.reports.router import router as reports_router
from app.sms.router import router as sms_router
from app.stats.router import router as stats_router
from app.surveys.router import router as surveys_router
from app.transfers.router import router as transfers_router
from app.units.router import router as units_router
from app.users.router import router as users_admin_router
from app.voicemail.router import router as voicemail_router
from app.web.router import router as web_router
from app.webhooks.apps import router as intake_apps_router
from app.webhooks.open311 import router as open311_router
from app.webhooks.wechat import router as wechat_router

# FastAPI tries a request's path against every route in this order (no prefix shortcut), so the routers
# of the most frequent requests come first: the case API (pages poll its reads) and the session check.
# The order decides nothing else: no two routers share a path (tests/unit/test_routes_unique.py).
ROUTERS: list[APIRouter] = [
    cases_router,
    auth_router,
    health_router,
    ops_router,
    users_admin_router,
    calls_router,
    callrec_router,
    case_handovers_router,
    exchange_router,
    exchange_pulls_router,
    exchange_batch_router,
    units_router,
    outbox_router,
    mail_router,
    public_router,
    sms_router,
    citizen_router,
    wechat_router,
    intake_apps_router,
    open311_router,
    case_pages_router,
    kb_router,
    kb_pages_router,
    agents_router,
    spy_router,
    agent_skills_router,
    stats_router,
    reports_router,
    hot_topics_router,
    transfers_router,
    callbacks_router,
    surveys_router,
    voicemail_router,
    web_router,
]
