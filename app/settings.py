"""Typed settings: environment variables (HOTLINE_*) and an optional config file.

Secrets (AMI secret, session secret) come only from here — never from code.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


class AsteriskServer(BaseModel):
    """One Asterisk server (one per platform in a multi-server deployment)."""

    name: str = "main"
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "hotline"
    ami_secret: str = ""
    # FastAGI requests from this server carry this key as their last argument (rendered into the
    # dialplan); `hotline run` generates one into var/secrets. Empty = address check only.
    agi_secret: str = ""
    platforms: list[str] = Field(default_factory=list, description="platform codes served; empty = all")
    cdr_csv: Path | None = (
        None  # Asterisk's cdr_csv Master.csv when on this host: calls are reconciled from it
    )
    # where this server's MixMonitor writes agent calls (asterisk_conf RenderParams.call_recordings_dir),
    # as the backend sees it (shared disk); None: recordings of this server are not attached or checked
    recordings_dir: Path | None = None
    # the IAX2 trunk between servers (a transfer to another server's queue or agent crosses it;
    # `hotline asterisk render` writes iax_hotline.conf): the address and port the OTHER servers reach
    # this one's IAX2 on. None: this server has no trunk. The shared secret is Settings.iax_secret.
    iax_host: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]+$")
    iax_port: int = Field(default=4569, ge=1, le=65535)


class SipAgentSetting(BaseModel):
    """An agent's softphone account on the hotline's Asterisk (a PJSIP endpoint); the password is a
    secret and comes only from configuration."""

    endpoint: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8)


class CarrierTrunkSetting(BaseModel):
    """A carrier SIP trunk for `hotline asterisk render` (production): registration (username and
    password; secrets, from configuration only) or IP-authenticated (the carrier's addresses)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    mode: Literal["registration", "ip"]
    host: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    port: int = Field(default=5060, ge=1, le=65535)
    username: str = ""
    password: str = ""
    match: list[str] = Field(default_factory=list)  # addresses/subnets the carrier calls from
    platform_trunk: str | None = None  # the platform config's trunk id (region by trunk)
    outbound: bool = False  # call-backs and surveys leave through this trunk
    codecs: str = "alaw,ulaw"


class ExchangeKey(BaseModel):
    """One shared HMAC key with a peer: ``id`` travels in every request, ``secret`` never does."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    secret: str = Field(min_length=16)


class ExchangePeer(BaseModel):
    """Another deployment (or a unit's own system) this one exchanges cases with (docs/exchange/).
    ``keys``: the first signs what we send; every one listed is accepted from the peer, so a key is
    rotated without downtime by listing old and new during the overlap. Secrets: configuration only."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    url: str = Field(pattern=r"^https?://[^\s/?#]+$")  # base URL: scheme://host:port
    platforms: list[str] = Field(default_factory=list)  # platform codes the peer serves
    units: list[str] = Field(
        default_factory=list
    )  # unit codes whose own system the peer is (签收/退回/办结 over the protocol)
    # messages per request to it: 0 = one per POST /exchange/v1/messages (every peer accepts that);
    # 2-100 = POST /exchange/v1/batch, for peers that implement it (this software does)
    batch: int = Field(default=0, ge=0, le=100)
    # pull its published knowledge into this knowledge base as read-only copies
    # (exchange_knowledge_pull_s; app.exchange.knowledge_copies)
    knowledge: bool = False
    keys: list[ExchangeKey] = Field(min_length=1)


class IntakeAppSetting(BaseModel):
    """An app allowed to post citizens' requests to /api/intake/apps/{id}/requests, signing each
    body with its secret (HMAC-SHA256); its cases carry its channel (weibo, app …)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    secret: str = Field(min_length=16)
    channel: Literal["weibo", "app", "wechat"] = "app"


class MailboxSetting(BaseModel):
    """One platform's mailbox read over IMAP (app.mail.reader): its citizens' mail becomes cases of
    ``platform``. The password is a secret: from the config file or the environment only
    (``HOTLINE_MAILBOXES='[{"platform": "KM", "host": ..., "password": ...}]'``), never logged."""

    platform: str = Field(min_length=1, max_length=32)
    host: str = Field(min_length=1)
    port: int = Field(default=993, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "ssl"  # none: only for a server on loopback (tests)
    user: str = Field(min_length=1)
    password: str = Field(default="", repr=False)
    folder: str = "INBOX"
    timeout_s: float = Field(default=30.0, gt=0)

    @property
    def name(self) -> str:
        """How the mailbox is named in logs and in the refused-mail list (no secret in it)."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # where state lives
    var_dir: Path = REPO_ROOT / "var"
    database_url: str = ""  # default: sqlite+aiosqlite under var_dir
    # PostgreSQL: a pooled connection idle this long is checked before use (a restart may have ended it)
    db_ping_idle_s: float = Field(default=10.0, ge=0, le=3600)
    # PostgreSQL connections per process: kept (at least the requests served at once) and added under a
    # burst. Budget: (workers + FastAGI processes) x (pool + overflow) < max_connections (app/db.py)
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    # the same for each FastAGI process (app.agi_main): a routing decision holds a connection briefly
    agi_db_pool_size: int = Field(default=5, ge=1, le=200)
    agi_db_max_overflow: int = Field(default=5, ge=0, le=200)
    platform_config: Path | None = None  # None = the shipped Yunnan config
    holiday_dir: Path | None = None  # administrator-supplied calendar files; default var_dir/holidays
    case_rules: Path | None = (
        None  # YAML overriding the case rules; default var_dir/case_rules.yaml if present
    )
    survey_rules: Path | None = None  # YAML overriding the survey rules; default var_dir/survey_rules.yaml
    admin_password: str = ""  # first start only: the initial admin's password (random, printed, when empty)

    # HTTP
    http_host: str = "127.0.0.1"
    http_port: int = 8012
    session_secret: str = ""  # signs login tokens; random per process when empty (dev only)
    metrics_token: str = ""  # Prometheus sends it as a bearer token to /metrics; empty: administrators only
    token_ttl_s: int = 12 * 3600
    # read requests trust a checked session this long without a query; a logout or disabling in this
    # process ends it at once, elsewhere (CLI, another process) within this time (docs/adr/session-cache.md)
    session_cache_ttl_s: float = 2.0
    new_password: str = ""  # HOTLINE_NEW_PASSWORD: `hotline user create/reset-password` in automation
    cookie_secure: bool = False  # True behind HTTPS: the session cookie is then sent over TLS only
    # other origins (scheme://host:port) whose pages may open the WebSockets; same-site always may
    allowed_origins: list[str] = Field(default_factory=list)
    # login throttling: free failures per account / per address, then a doubling lockout up to the cap
    login_account_free_failures: int = 5
    login_address_free_failures: int = 20
    login_lockout_max_s: float = 900.0

    # FastAGI server (Asterisk connects here)
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    agi_handler_timeout_s: float = 2.0  # whole handler bound
    # listen backlog of the FastAGI socket: a burst of calls queues here instead of being refused
    # (asyncio's default of 100 gave Asterisk connect timeouts at 200 calls/s); the kernel caps it at
    # net.core.somaxconn
    agi_backlog: int = Field(default=4096, ge=16)
    agi_reuse_port: bool = False  # `hotline agi` sets it: several FastAGI processes share the port
    # `hotline run --workers N`: how many `hotline agi` processes share agi_port. With two, one that
    # dies (or restarts, which takes seconds) leaves the other routing: the kernel hands new
    # connections to the listening socket that is left (tests/system/test_agi_two_processes.py)
    agi_processes: int = Field(default=2, ge=1, le=8)
    # addresses FastAGI accepts connections from; empty = the configured Asterisk servers' ami_host
    agi_allowed_addresses: list[str] = Field(default_factory=list)

    # AMI (one or more Asterisk servers)
    asterisk: list[AsteriskServer] = Field(default_factory=lambda: [AsteriskServer()])
    ami_action_timeout_s: float = 5.0
    ami_ping_interval_s: float = 5.0
    ami_enabled: bool = True
    agi_enabled: bool = True
    auto_migrate: bool = True
    # PostgreSQL: how often a follower tries to become the leader (AMI consumer per Asterisk server,
    # the schedulers) and the leader checks its lock's connection; a dead leader is replaced in about
    # this time (docs/adr/process-model.md)
    leader_interval_s: float = Field(default=1.0, gt=0, le=5)

    # sandbox Asterisk (make run / tests)
    sandbox_dir: Path | None = None  # default var_dir/asterisk
    sip_port: int = 5060
    sip_agents: list[SipAgentSetting] = Field(default_factory=list)  # rendered into pjsip.conf
    carrier_trunks: list[CarrierTrunkSetting] = Field(default_factory=list)  # production render only
    # the IAX2 trunk between the hotline's Asterisk servers (asterisk[].iax_host): one secret shared by
    # every server (md5 challenge, never sent); production render only, never printed or logged
    iax_secret: str = ""

    # recordings / speech
    recordings_dir: Path | None = None  # default var_dir/recordings
    recording_retention_days: int = 365
    # agent-call recordings (MixMonitor): kept this many days, then purged by the leader's job
    call_recording_retention_days: int = 180
    call_recording_purge_interval_s: float = 3600.0
    call_recording_settle_s: float = 15.0  # longest wait for Asterisk to close the file after the call
    # the leader's sweep: an answered call ended more than grace_s ago (and within window_h) whose
    # recording was never checked (no AgentComplete reached a backend) is checked, or flagged failed
    call_recording_sweep_interval_s: float = 60.0
    call_recording_sweep_grace_s: float = Field(default=120.0, ge=0)
    call_recording_sweep_window_h: float = Field(default=48.0, gt=0)
    voicemail_max_s: int = 120
    max_upload_bytes: int = 20 * 1024 * 1024
    # auto: the configured model, else one found in models_dir or <shared_dir>/models (Vosk first),
    # else none with a /health warning (recordings/stt/locate.py)
    # combo: both models, the more confident transcript (zh-dev CER 10.1 % vs 11.4 %; 1.5x CPU, +320 MB)
    stt_engine: Literal["auto", "vosk", "whisper", "combo", "none"] = "auto"
    whisper_model_path: Path | None = None
    vosk_model_path: Path | None = None
    shared_dir: Path | None = None  # shared data (models/, audio/); default: ../shared beside the checkout
    models_dir: Path | None = None  # where `hotline models fetch` installs; default var_dir/models
    stt_threads: int = 2
    stt_max_audio_s: float = 900.0  # longer audio is refused before decoding
    # live transcript of the caller during a call (Vosk streaming; docs/adr/2026-12-02-live-transcript.md)
    live_transcript: bool = True
    live_transcript_max_lag_s: float = 3.0  # recogniser further behind: "转写不可用", audio dropped
    live_transcript_idle_s: float = 10.0  # no audio from Asterisk this long: "转写不可用"
    live_transcript_nice: int | None = -5  # recogniser thread priority (soft real time); None: unchanged

    # case exchange with other deployments (app/exchange, docs/exchange/)
    exchange_node: str = ""  # this deployment's name as its peers know it; empty: exchange off
    exchange_peers: list[ExchangePeer] = Field(default_factory=list)
    # the platforms this deployment serves; empty: every platform of the config no peer serves
    exchange_platforms: list[str] = Field(default_factory=list)
    exchange_max_body_bytes: int = 256 * 1024
    exchange_max_batch_bytes: int = 4 * 1024 * 1024  # POST /exchange/v1/batch (up to 100 messages)
    exchange_max_skew_s: int = 300  # a request's timestamp may be this far from our clock
    exchange_retry_base_s: float = 2.0  # first retry after this, doubling up to exchange_retry_max_s
    exchange_retry_max_s: float = 300.0
    exchange_poll_s: float = 1.0  # the delivery worker looks for due messages this often
    exchange_timeout_s: float = 10.0  # one delivery attempt
    exchange_batch: int = 200  # messages one delivery pass claims
    exchange_knowledge_pull_s: float = Field(default=600.0, ge=0)  # peers with knowledge: true; 0 = by hand only
    exchange_concurrency: int = 8  # requests at once (different cases; one case's messages stay in order)

    # e-mail (outbox channel "email"); empty host: no e-mail is sent (messages wait, visible on /health)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "hotline12345@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_timeout_s: float = 15.0
    # citizens' mail: the platforms' mailboxes read over IMAP by one process (the leader of jobs:mail)
    # every mail_poll_s; a mail that fails mail_max_attempts times for a reason other than being refused
    # is kept as refused (with the error), never retried for ever nor dropped
    mailboxes: list[MailboxSetting] = Field(default_factory=list)
    mail_poll_s: float = Field(default=30.0, gt=0)
    mail_max_attempts: int = Field(default=5, ge=1)
    # scheduled reports: the daily report (yesterday) and the monthly report (last month), sent at this
    # local time to these addresses; empty: none are sent
    report_recipients: list[str] = Field(default_factory=list)
    report_send_at: str = Field(default="07:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @field_validator("report_recipients")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if len(a) > 64 or not re.fullmatch(r"[^@\s,<>]+@[^@\s,<>]+", a)]
        if bad:
            raise ValueError(f"report_recipients: not e-mail addresses (at most 64 characters): {bad}")
        return v

    # SMS gateway: Kannel's smsbox sendsms interface (docs/sms.md). Empty URL: no gateway, SMS wait in
    # the outbox (never marked sent) and /health says so. Username/password are secrets (sent as
    # X-Kannel-* headers, never in a URL).
    sms_gateway_url: str = ""  # e.g. http://127.0.0.1:13013/cgi-bin/sendsms
    sms_gateway_username: str = ""
    sms_gateway_password: str = ""
    sms_sender: str = "12345"  # the number citizens see and reply to
    sms_gateway_timeout_s: float = 10.0
    # how the gateway reaches this service for delivery reports (its dlr-url), e.g. http://127.0.0.1:8012
    sms_callback_base: str = ""
    sms_callback_secret: str = (
        ""  # signs each delivery-report URL; default: var/secrets or the session secret
    )
    # addresses the gateway posts inbound SMS and delivery reports from
    sms_gateway_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    # WeChat official account (公众号) message push: the token and EncodingAESKey set in its console
    # (secrets); empty token: the webhook answers 404
    wechat_token: str = ""
    wechat_encoding_aes_key: str = ""  # 43 characters; empty: plain mode only
    wechat_app_id: str = ""
    # other apps (Weibo, the province's app …) posting signed requests; Open311 clients' api_keys
    intake_apps: list[IntakeAppSetting] = Field(default_factory=list)
    open311_api_keys: list[str] = Field(default_factory=list)
    # the citizens' web page: requests per client address per 10 minutes (flood protection; shared by
    # every process on PostgreSQL, app.flood)
    citizen_submit_limit: int = Field(default=5, ge=1)
    citizen_track_limit: int = Field(default=30, ge=1)
    # the webhooks: messages per citizen on a channel (openid, app user) per 10 minutes (shared likewise)
    webhook_sender_limit: int = Field(default=20, ge=1)

    timezone: str = "Asia/Shanghai"
    log_format: Literal["text", "json"] = "text"  # json: one object per line with request_id / call_id
    log_level: str = "INFO"
    wrapup_s: int = 30

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        cfg = os.environ.get("HOTLINE_CONFIG_FILE")
        if cfg:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=cfg))
        return tuple(sources)

    def model_post_init(self, __context: Any) -> None:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'hotline.db'}"
        if self.holiday_dir is None:
            self.holiday_dir = self.var_dir / "holidays"
        if self.sandbox_dir is None:
            self.sandbox_dir = self.var_dir / "asterisk"
        if self.recordings_dir is None:
            self.recordings_dir = self.var_dir / "recordings"
        if self.models_dir is None:
            self.models_dir = self.var_dir / "models"
        if not self.session_secret:
            self.session_secret = read_secret(self.var_dir, "session_secret") or secrets.token_urlsafe(32)
        if not self.sms_callback_secret:
            self.sms_callback_secret = read_secret(self.var_dir, "sms_callback_secret") or self.session_secret
        for server in self.asterisk:
            if not server.ami_secret:
                server.ami_secret = read_secret(self.var_dir, f"ami_secret_{server.name}") or ""
            if not server.agi_secret:
                server.agi_secret = read_secret(self.var_dir, f"agi_secret_{server.name}") or ""


def read_secret(var_dir: Path, name: str) -> str | None:
    """Secrets generated by `hotline run` for the sandbox live in var/secrets (mode 0600)."""
    path = var_dir / "secrets" / name
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def ensure_secret(var_dir: Path, name: str) -> str:
    existing = read_secret(var_dir, name)
    if existing:
        return existing
    d = var_dir / "secrets"
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o700)
    value = secrets.token_urlsafe(24)
    path = d / name
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
