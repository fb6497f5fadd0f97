"""What happened to an alert, for other features to act on in the same
transaction (notifications write their outbox rows from these).

Receivers are called synchronously with ``session`` (the request's
transaction), ``alert`` and ``actor``; they must only add rows and flush, never
commit or do network I/O.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: (sender=None, session, alert, actor)
alert_posted = _signals.signal("alert-posted")
#: (sender=None, session, alert, actor, copy) -- copy: the AlertRecipient acknowledged
alert_acknowledged = _signals.signal("alert-acknowledged")
#: (sender=None, session, alert, actor, item) -- item: reply, action, comment or attachment
thread_item_added = _signals.signal("thread-item-added")
#: (sender=None, session, alert, actor)
alert_resolved = _signals.signal("alert-resolved")
