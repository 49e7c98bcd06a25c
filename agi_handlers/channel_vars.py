"""Every channel variable the backend and the dialplan share, named in one place."""

ROUTE = "HOTLINE_ROUTE"  # queue | voicemail | fallback (set by the dialplan when AGI fails)
QUEUE = "HOTLINE_QUEUE"
OVERFLOW_QUEUE = "HOTLINE_OVERFLOW_QUEUE"
OVERFLOW_AFTER = "HOTLINE_OVERFLOW_AFTER"
PLATFORM = "HOTLINE_PLATFORM"
PREFECTURE = "HOTLINE_PREFECTURE"
MAILBOX = "HOTLINE_MAILBOX"
GREETING = "HOTLINE_GREETING"
TRUNK = "HOTLINE_TRUNK"
DID = "HOTLINE_DID"  # the dialled number as the trunk delivered it (set by the dialplan)
SOURCE = "HOTLINE_SOURCE"  # the source hotline (并号/分线) the decision found for the DID
NOTICE = "HOTLINE_NOTICE"  # prompt played once before the queue or mailbox (cleared once played)
SKILL = "HOTLINE_SKILL"
SKILL_SUFFIX = "HOTLINE_SKILL_SUFFIX"  # appended to the queue names: the skill queue ("" = none)
CALLER_KIND = "HOTLINE_CALLER_KIND"
CALLER_E164 = "HOTLINE_CALLER_E164"  # the caller's number as the decision normalised it
REASON = "HOTLINE_REASON"  # why the decision routed so, percent-encoded (MSet and UserEvent drop commas)
CALLBACK_AFTER = "HOTLINE_CALLBACK_AFTER"  # seconds in queue before the one call-back offer ("0": none)
CALLBACK_KEY = "HOTLINE_CALLBACK_KEY"  # the one key that accepts it
CALLBACK_ANSWER = "HOTLINE_CALLBACK_ANSWER"  # seconds the key is awaited after the offer
QCB_OK = "HOTLINE_QCB_OK"  # "1": the backend took the caller's call-back request (route queue-callback)
AGI_MS = "HOTLINE_AGI_MS"
T0 = "HOTLINE_T0"
# voicemail / survey routes (later issues)
RECORDING = "HOTLINE_RECORDING"
CASE_ID = "HOTLINE_CASE_ID"
SURVEY_ID = "HOTLINE_SURVEY_ID"
SURVEY_RESULT = "HOTLINE_SURVEY_RESULT"

ROUTING_VARS = (ROUTE, QUEUE, OVERFLOW_QUEUE, OVERFLOW_AFTER, PLATFORM, PREFECTURE, MAILBOX, GREETING,
                CALLER_KIND, CALLER_E164, REASON, SOURCE, NOTICE, SKILL, SKILL_SUFFIX,
                CALLBACK_AFTER, CALLBACK_KEY, CALLBACK_ANSWER)
