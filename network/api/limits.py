"""The API's limits, shared by the views, the OpenAPI document and the command-line
client. Plain constants: nothing here imports Flask."""

from __future__ import annotations

from network.alerts.vocab import PAGE_SIZE

# Alerts per page of the inbox or Sent box: PAGE_SIZE unless the caller asks.
PAGE_LIMIT = 100
DEFAULT_PAGE = PAGE_SIZE
# Schools named in one request (recipients, a subscription's senders).
MAX_RECIPIENTS = 1000

__all__ = ["DEFAULT_PAGE", "MAX_RECIPIENTS", "PAGE_LIMIT"]
