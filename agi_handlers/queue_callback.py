"""AGI route `queue-callback`: the caller pressed the call-back offer's key (asterisk_conf/callback.py).

Arguments: the queue, the caller's position, the server's name. The request is recorded and the
placeholder left in the queue through the QueueCallbackRequests port (in the service: the queue
call-back component, which commits the request before the placeholder is originated); only then is
HOTLINE_QCB_OK set to 1 and the caller told they will be called back. When the backend does not take
it (down, or refused), the dialplan tells the caller and puts them back in the queue at their place:
a key press is never silently lost."""

from __future__ import annotations

import logging

from agi_handlers import channel_vars as cv
from agi_handlers.ports import AgiPorts
from agi_handlers.server import AgiRequest

log = logging.getLogger(__name__)


async def handle(request: AgiRequest, ports: AgiPorts) -> None:
    env = request.env
    uniqueid = env.get("agi_uniqueid", "")
    queue, position, server = (env.get(f"agi_arg_{i}", "") for i in (1, 2, 3))
    taken = await ports.queue_callbacks.request(uniqueid, queue, position, server)
    if not taken:
        log.warning("queue call-back of %s in %s not taken: the caller keeps waiting", uniqueid, queue)
    await request.set_var(cv.QCB_OK, "1" if taken else "0")
