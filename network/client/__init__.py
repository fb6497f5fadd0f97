"""The command-line client of the hub's JSON API: ``alertnet-client``, also
``alertnet client``. It talks to a hub over HTTP only (see commands.py)."""
